/*
 * profiles.c - a set of card profiles: loading a directory or one document,
 * resolving `extends:`, the identification order, lookups.
 *
 * A directory is loaded all or nothing: the profiles of a batch must all be
 * right before a card is touched, and a half-loaded set would identify
 * cards differently from the set the operator reviewed. `extends:` is
 * resolved by name inside the directory whatever the file order; a chain is
 * followed at most CF_EXTENDS_MAX deep, which also ends any cycle.
 *
 * The set owns the file names the YAML nodes point to (for diagnostics
 * after merges), the profiles, and two orders: by name (cf_profiles_at) and
 * for identification (most specific first).
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profile/profile_int.h"

#define CF_PROFILES_MAX 256
#define CF_EXTENDS_MAX 8

struct cf_profiles {
    cf_profile_t **byname; /* sorted by name */
    cf_profile_t **ident;  /* identification order */
    size_t n;
    char **files; /* names the nodes point to */
    size_t n_files;
};

/* One document of a directory while it is being loaded. */
struct doc {
    char name[CF_PROF_NAME_MAX + 1];
    char *file;
    cf_ynode_t *raw;
    int state; /* 0 not built, 1 building, 2 built, 3 failed */
    cf_profile_t *prof;
};

static int valid_name(const char *name, size_t n)
{
    if (n == 0 || n > CF_PROF_NAME_MAX || name[0] == '.' || name[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

void cf_profiles_free(cf_profiles_t *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->n; i++)
        cf_prof_free(set->byname[i]);
    free(set->byname);
    free(set->ident);
    for (size_t i = 0; i < set->n_files; i++)
        free(set->files[i]);
    free(set->files);
    free(set);
}

size_t cf_profiles_count(const cf_profiles_t *set)
{
    return set ? set->n : 0;
}

const cf_profile_t *cf_profiles_at(const cf_profiles_t *set, size_t i)
{
    return set && i < set->n ? set->byname[i] : NULL;
}

size_t cf_profiles_ident_count(const cf_profiles_t *set)
{
    return cf_profiles_count(set);
}

const cf_profile_t *cf_profiles_ident_at(const cf_profiles_t *set, size_t i)
{
    return set && i < set->n ? set->ident[i] : NULL;
}

const cf_profile_t *cf_profiles_find(const cf_profiles_t *set, const char *name)
{
    if (set == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->byname[i]->name, name) == 0)
            return set->byname[i];
    return NULL;
}

const char *cf_profile_name(const cf_profile_t *p)
{
    return p ? p->name : "";
}

const char *cf_profile_family(const cf_profile_t *p)
{
    return p ? p->family : "";
}

int cf_profile_has(const cf_profile_t *p, cf_cred_t c)
{
    return p != NULL && c < CF_CRED_COUNT && cf_prof_has_cred(p, c);
}

const char *cf_profile_serial_source(const cf_profile_t *p)
{
    return p ? p->serial_source : "";
}

const char *cf_profile_description(const cf_profile_t *p)
{
    return p && p->description ? p->description : "";
}

/*
 * Where the profiles are when nobody says (cf_profiles_default_dir). No path
 * of the source tree is compiled in: a build tree says where its sources are
 * in a marker file CMake writes at its top (CF_BUILD_MARKER), so only a
 * program that runs from inside a build tree can reach them, and an
 * installed program, or a prefix copied elsewhere, finds its own files
 * relative to itself. The answer is computed once (the executable and the
 * library do not move while running); CARDFORGE_PROFILES is read on every
 * call.
 */
#define CF_BUILD_TREE_DEPTH 3 /* the executable's directory and two parents */

static char default_dir[PATH_MAX];
static pthread_once_t default_dir_once = PTHREAD_ONCE_INIT;

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* dir/rel, resolved (no "..", so messages name the real place), into
 * default_dir when that is a directory. */
static int try_relative(const char *dir, const char *rel)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/%s", dir, rel);
    if (n < 0 || (size_t)n >= sizeof(path) || !is_dir(path))
        return 0;
    return realpath(path, default_dir) != NULL;
}

/* The source tree's profiles when dir or one of its parents is a build tree:
 * its marker holds the source directory on one line. */
static int try_build_tree(char *dir)
{
    for (int up = 0; up < CF_BUILD_TREE_DEPTH && dir[0] == '/' && dir[1] != '\0'; up++) {
        char marker[PATH_MAX];
        int n = snprintf(marker, sizeof(marker), "%s/%s", dir, CF_BUILD_MARKER);
        if (n > 0 && (size_t)n < sizeof(marker)) {
            FILE *f = fopen(marker, "r");
            if (f != NULL) {
                char src[PATH_MAX];
                int ok = fgets(src, sizeof(src), f) != NULL;
                fclose(f);
                if (ok) {
                    src[strcspn(src, "\r\n")] = '\0';
                    return src[0] == '/' && try_relative(src, "profiles");
                }
            }
        }
        char *slash = strrchr(dir, '/');
        if (slash == dir)
            dir[1] = '\0';
        else
            *slash = '\0';
    }
    return 0;
}

/* The directory part of an absolute file name, in place; 0 when not absolute. */
static int dir_of(char *file)
{
    char *slash = strrchr(file, '/');
    if (file[0] != '/' || slash == NULL)
        return 0;
    if (slash == file)
        slash[1] = '\0';
    else
        *slash = '\0';
    return 1;
}

static void find_default_dir(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        if (dir_of(exe)) {
            /* An installed program: PREFIX/bin/../share/cardforge/profiles. */
            if (try_relative(exe, CF_BIN_TO_PROFILES))
                return;
            if (try_build_tree(exe))
                return;
        }
    }
    /* A program elsewhere linked to the installed shared library:
     * PREFIX/lib/../share/cardforge/profiles. When the library is linked
     * in statically this names the executable again (or only its name). */
    Dl_info info;
    if (dladdr((void *)(uintptr_t)cf_profiles_default_dir, &info) != 0 && info.dli_fname != NULL) {
        char lib[PATH_MAX];
        int k = snprintf(lib, sizeof(lib), "%s", info.dli_fname);
        if (k > 0 && (size_t)k < sizeof(lib) && dir_of(lib) &&
            try_relative(lib, CF_LIB_TO_PROFILES))
            return;
    }
    /* The prefix configured at build time, named even when missing so that
     * the error says where the profiles were expected. */
    snprintf(default_dir, sizeof(default_dir), "%s", CF_DATADIR "/profiles");
}

const char *cf_profiles_default_dir(void)
{
    const char *env = getenv("CARDFORGE_PROFILES");
    if (env != NULL && env[0] != '\0')
        return env;
    pthread_once(&default_dir_once, find_default_dir);
    return default_dir;
}

static int by_name(const void *a, const void *b)
{
    const cf_profile_t *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

/* Put p's descendants (profiles that extend it, directly or not) before p.
 * Every profile is emitted exactly once (done), so the recursion is at most
 * as deep as the set is large, and a cycle (impossible after loading)
 * would end too. */
static void emit(cf_profiles_t *set, cf_profile_t *p, unsigned char *done, size_t *k)
{
    size_t idx = 0;
    while (set->byname[idx] != p)
        idx++;
    if (done[idx])
        return;
    done[idx] = 1;
    for (size_t i = 0; i < set->n; i++) {
        cf_profile_t *c = set->byname[i];
        if (!done[i] && c->base != NULL && strcmp(c->base, p->name) == 0)
            emit(set, c, done, k);
    }
    set->ident[(*k)++] = p;
}

static void reorder(cf_profiles_t *set)
{
    qsort(set->byname, set->n, sizeof(*set->byname), by_name);
    unsigned char done[CF_PROFILES_MAX] = {0};
    size_t k = 0;
    for (size_t i = 0; i < set->n; i++)
        emit(set, set->byname[i], done, &k);
}

/* Add p to set (arrays grown by one); on failure p is not in set. */
static int set_add(cf_profiles_t *set, cf_profile_t *p)
{
    if (set->n >= CF_PROFILES_MAX)
        return -1;
    cf_profile_t **a = realloc(set->byname, (set->n + 1) * sizeof(*a));
    if (a == NULL)
        return -1;
    set->byname = a;
    cf_profile_t **b = realloc(set->ident, (set->n + 1) * sizeof(*b));
    if (b == NULL)
        return -1;
    set->ident = b;
    set->byname[set->n] = p;
    set->ident[set->n] = p;
    set->n++;
    reorder(set);
    return 0;
}

static int keep_file(cf_profiles_t *set, char *file)
{
    char **f = realloc(set->files, (set->n_files + 1) * sizeof(*f));
    if (f == NULL)
        return -1;
    set->files = f;
    set->files[set->n_files++] = file;
    return 0;
}

/* The base name raw extends, NULL when none; -1 for a malformed value. */
static int extends_of(const cf_ynode_t *raw, const char **base, unsigned long *line,
                      cf_diag_list_t *diags)
{
    *base = NULL;
    const cf_ypair_t *pr = cf_ymap_pair(raw, "extends");
    if (pr == NULL || cf_ynode_is_null(pr->val))
        return 0;
    *line = pr->line;
    const cf_ynode_t *v = pr->val;
    if (v->kind != CF_Y_SCALAR || !valid_name(v->text, v->len)) {
        cf_diag_add(diags, CF_SEV_ERROR, v->file, v->line,
                    "extends: expected the name of another profile (its file name without "
                    ".yaml)");
        return -1;
    }
    *base = v->text;
    return 0;
}

/* A profile from raw laid over base_tree (may be NULL). Takes nothing;
 * *out NULL on error (reported). */
static cf_err_t make_profile(const char *name, const cf_ynode_t *raw, const char *base,
                             const cf_ynode_t *base_tree, cf_diag_list_t *diags, cf_profile_t **out)
{
    *out = NULL;
    cf_profile_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return CF_ERR_NOMEM;
    snprintf(p->name, sizeof(p->name), "%s", name);
    cf_err_t err = CF_OK;
    if (base_tree != NULL) {
        p->base = strdup(base);
        err = p->base ? cf_ytree_merge(base_tree, raw, "extends", &p->tree) : CF_ERR_NOMEM;
    } else {
        p->tree = cf_ynode_copy(raw);
        if (p->tree == NULL)
            err = CF_ERR_NOMEM;
    }
    if (err != CF_OK) {
        cf_diag_add(diags, CF_SEV_ERROR, raw->file, 0, "out of memory");
        cf_prof_free(p);
        return err;
    }
    if (cf_prof_build(p, p->tree, diags) != 0) {
        cf_prof_free(p);
        return CF_ERR_INVALID;
    }
    *out = p;
    return CF_OK;
}

/* ---- one document from memory ------------------------------------------ */

/* How many profiles p's extends chain holds, p included. */
static int chain_depth(const cf_profiles_t *set, const cf_profile_t *p)
{
    int d = 0;
    while (p != NULL && d <= CF_EXTENDS_MAX) {
        d++;
        p = p->base ? cf_profiles_find(set, p->base) : NULL;
    }
    return d;
}

cf_err_t cf_profiles_add_mem(cf_profiles_t **set, const char *name, const char *yaml, size_t len,
                             cf_diag_list_t *diags)
{
    if (set == NULL || name == NULL || (yaml == NULL && len > 0))
        return CF_ERR_ARG;
    size_t nl = strlen(name);
    if (!valid_name(name, nl)) {
        cf_diag_add(diags, CF_SEV_ERROR, name, 0,
                    "a profile name is 1-64 letters, digits, '-', '_' or '.' (not first)");
        return CF_ERR_INVALID;
    }
    char *file = malloc(nl + 6);
    if (file == NULL)
        return CF_ERR_NOMEM;
    snprintf(file, nl + 6, "%s.yaml", name);
    if (cf_profiles_find(*set, name) != NULL) {
        cf_diag_add(diags, CF_SEV_ERROR, file, 0, "a profile named '%s' is already loaded", name);
        free(file);
        return CF_ERR_INVALID;
    }
    cf_ynode_t *raw = NULL;
    cf_err_t err = cf_ytree_parse(file, yaml ? yaml : "", len, diags, &raw);
    if (err != CF_OK) {
        free(file);
        return err == CF_ERR_NOMEM ? err : CF_ERR_INVALID;
    }
    const char *base = NULL;
    unsigned long line = 0;
    const cf_profile_t *bp = NULL;
    cf_profile_t *p = NULL;
    if (extends_of(raw, &base, &line, diags) < 0) {
        err = CF_ERR_INVALID;
    } else if (base != NULL && (bp = cf_profiles_find(*set, base)) == NULL) {
        cf_diag_add(diags, CF_SEV_ERROR, file, line, "extends: no profile named '%s' is loaded",
                    base);
        err = CF_ERR_INVALID;
    } else if (bp != NULL && chain_depth(*set, bp) >= CF_EXTENDS_MAX) {
        cf_diag_add(diags, CF_SEV_ERROR, file, line,
                    "extends: '%s' is already %d levels deep (the most a chain may be)", base,
                    CF_EXTENDS_MAX);
        err = CF_ERR_INVALID;
    } else {
        err = make_profile(name, raw, base, bp ? bp->tree : NULL, diags, &p);
    }
    cf_ynode_free(raw);
    if (err != CF_OK) {
        free(file);
        return err;
    }
    cf_profiles_t *s = *set;
    int fresh = s == NULL;
    if (fresh && (s = calloc(1, sizeof(*s))) == NULL) {
        cf_prof_free(p);
        free(file);
        return CF_ERR_NOMEM;
    }
    if (s->n >= CF_PROFILES_MAX) {
        cf_diag_add(diags, CF_SEV_ERROR, file, 0, "more than %d profiles", CF_PROFILES_MAX);
        cf_prof_free(p);
        free(file);
        return CF_ERR_INVALID;
    }
    if (keep_file(s, file) < 0) { /* file stays ours */
        cf_prof_free(p);
        free(file);
        if (fresh)
            cf_profiles_free(s);
        return CF_ERR_NOMEM;
    }
    if (set_add(s, p) < 0) { /* file now belongs to s */
        cf_prof_free(p);
        if (fresh)
            cf_profiles_free(s);
        return CF_ERR_NOMEM;
    }
    *set = s;
    return CF_OK;
}

/* ---- a directory -------------------------------------------------------- */

/* Read path into a new buffer (at most CF_Y_MAX_INPUT bytes). */
static cf_err_t read_file(const char *path, char **buf, size_t *len, cf_diag_list_t *diags)
{
    *buf = NULL;
    /* O_NONBLOCK: a FIFO named *.yaml must be refused, not waited on (the
     * regular-file check comes right after the open). */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        cf_diag_add(diags, CF_SEV_ERROR, path, 0, "cannot open: %s", strerror(errno));
        return CF_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        cf_diag_add(diags, CF_SEV_ERROR, path, 0, "refused: not a regular file");
        close(fd);
        return CF_ERR_IO;
    }
    if (st.st_size > (off_t)CF_Y_MAX_INPUT) {
        cf_diag_add(diags, CF_SEV_ERROR, path, 0, "file too large (at most %u bytes)",
                    CF_Y_MAX_INPUT);
        close(fd);
        return CF_ERR_INVALID;
    }
    char *b = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    cf_err_t err = b ? CF_OK : CF_ERR_NOMEM;
    while (err == CF_OK && got < (size_t)st.st_size) {
        ssize_t r = read(fd, b + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            cf_diag_add(diags, CF_SEV_ERROR, path, 0, "cannot read: %s",
                        r < 0 ? strerror(errno) : "file shrank while reading");
            err = CF_ERR_IO;
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    if (err != CF_OK) {
        free(b);
        return err;
    }
    *buf = b;
    *len = got;
    return CF_OK;
}

static struct doc *doc_named(struct doc *docs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(docs[i].name, name) == 0)
            return &docs[i];
    return NULL;
}

/* Build docs[i] after its base; 0 ok, -1 failed (reported). */
static int build_doc(struct doc *docs, size_t n, struct doc *d, const char *dir, unsigned depth,
                     cf_diag_list_t *diags)
{
    if (d->state == 2)
        return 0;
    if (d->state == 3 || d->raw == NULL)
        return -1;
    const char *base = NULL;
    unsigned long line = 0;
    if (extends_of(d->raw, &base, &line, diags) < 0) {
        d->state = 3;
        return -1;
    }
    const cf_ynode_t *base_tree = NULL;
    if (base != NULL) {
        struct doc *b = doc_named(docs, n, base);
        if (b == NULL) {
            cf_diag_add(diags, CF_SEV_ERROR, d->file, line,
                        "extends: no profile named '%s' in %s (no file %s.yaml)", base, dir, base);
            d->state = 3;
            return -1;
        }
        if (b->state == 1 || depth >= CF_EXTENDS_MAX) {
            cf_diag_add(diags, CF_SEV_ERROR, d->file, line,
                        "extends: '%s' leads back to '%s' (an extends cycle) or is more than %d "
                        "levels deep",
                        base, d->name, CF_EXTENDS_MAX);
            d->state = 3;
            return -1;
        }
        d->state = 1;
        if (build_doc(docs, n, b, dir, depth + 1, diags) < 0) {
            if (d->state == 1)
                cf_diag_add(diags, CF_SEV_ERROR, d->file, line,
                            "extends: the profile '%s' has errors", base);
            d->state = 3;
            return -1;
        }
        base_tree = b->prof->tree;
    }
    if (make_profile(d->name, d->raw, base, base_tree, diags, &d->prof) != CF_OK) {
        d->state = 3;
        return -1;
    }
    d->state = 2;
    return 0;
}

static int by_doc_name(const void *a, const void *b)
{
    return strcmp(((const struct doc *)a)->name, ((const struct doc *)b)->name);
}

/* The *.yaml entries of dir as docs (names only). */
static cf_err_t list_dir(const char *dir, struct doc **out, size_t *count, cf_diag_list_t *diags)
{
    *out = NULL;
    *count = 0;
    DIR *dp = opendir(dir);
    if (dp == NULL) {
        cf_diag_add(diags, CF_SEV_ERROR, dir, 0, "cannot read the profile directory: %s",
                    strerror(errno));
        return CF_ERR_IO;
    }
    struct doc *docs = NULL;
    size_t n = 0;
    cf_err_t err = CF_OK;
    struct dirent *de;
    while ((de = readdir(dp)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l <= 5 || strcmp(de->d_name + l - 5, ".yaml") != 0 || de->d_name[0] == '.')
            continue;
        if (!valid_name(de->d_name, l - 5)) {
            cf_diag_add(diags, CF_SEV_ERROR, de->d_name, 0,
                        "profile file names are 1-64 letters, digits, '-', '_' or '.' + .yaml");
            err = CF_ERR_INVALID;
            continue;
        }
        if (n >= CF_PROFILES_MAX) {
            cf_diag_add(diags, CF_SEV_ERROR, dir, 0, "more than %d profiles", CF_PROFILES_MAX);
            err = CF_ERR_INVALID;
            break;
        }
        struct doc *nd = realloc(docs, (n + 1) * sizeof(*nd));
        if (nd == NULL) {
            err = CF_ERR_NOMEM;
            break;
        }
        docs = nd;
        memset(&docs[n], 0, sizeof(docs[n]));
        memcpy(docs[n].name, de->d_name, l - 5);
        docs[n].name[l - 5] = 0;
        n++;
    }
    closedir(dp);
    if (n > 1)
        qsort(docs, n, sizeof(*docs), by_doc_name);
    *out = docs;
    *count = n;
    return err;
}

cf_err_t cf_profiles_load(const char *dir, cf_diag_list_t *diags, cf_profiles_t **out)
{
    if (out == NULL)
        return CF_ERR_ARG;
    *out = NULL;
    if (dir == NULL)
        return CF_ERR_ARG;
    struct doc *docs = NULL;
    size_t n = 0;
    cf_err_t err = list_dir(dir, &docs, &n, diags);
    if (err == CF_ERR_IO)
        return err;
    cf_profiles_t *set = calloc(1, sizeof(*set));
    if (set == NULL)
        err = CF_ERR_NOMEM;
    if (err == CF_OK && n == 0) {
        cf_diag_add(diags, CF_SEV_ERROR, dir, 0, "no *.yaml profiles in the directory");
        err = CF_ERR_INVALID;
    }
    for (size_t i = 0; err != CF_ERR_NOMEM && set != NULL && i < n; i++) {
        size_t pl = strlen(dir) + strlen(docs[i].name) + 7;
        char *path = malloc(pl);
        if (path == NULL || keep_file(set, path) < 0) {
            free(path);
            err = CF_ERR_NOMEM;
            break;
        }
        snprintf(path, pl, "%s/%s.yaml", dir, docs[i].name);
        docs[i].file = path;
        char *buf = NULL;
        size_t len = 0;
        cf_err_t e = read_file(path, &buf, &len, diags);
        if (e == CF_OK)
            e = cf_ytree_parse(path, buf, len, diags, &docs[i].raw);
        free(buf);
        if (e != CF_OK)
            err = e == CF_ERR_NOMEM ? e : CF_ERR_INVALID;
    }
    for (size_t i = 0; err != CF_ERR_NOMEM && set != NULL && i < n; i++)
        if (docs[i].raw != NULL && build_doc(docs, n, &docs[i], dir, 0, diags) < 0)
            err = CF_ERR_INVALID;
    for (size_t i = 0; err == CF_OK && i < n; i++) {
        if (set_add(set, docs[i].prof) < 0)
            err = CF_ERR_NOMEM;
        else
            docs[i].prof = NULL;
    }
    for (size_t i = 0; i < n; i++) {
        cf_ynode_free(docs[i].raw);
        cf_prof_free(docs[i].prof);
    }
    free(docs);
    if (err != CF_OK) {
        cf_profiles_free(set);
        if (diags != NULL)
            cf_diag_sort(diags);
        return err == CF_ERR_NOMEM ? err : CF_ERR_INVALID;
    }
    *out = set;
    return CF_OK;
}
