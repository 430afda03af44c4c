/*
 * batch_src.c - the batch file as one run reads it (see batch_src.h).
 *
 * Reads use pread at the cursor's own offset, so the scheduler's stream and
 * a re-read for one record share the descriptor without disturbing each
 * other.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "batch/csv_internal.h"
#include "runner/batch_src.h"
#include "util/file.h"

cf_err_t cf_batch_src_open(const char *path, cf_batch_src_t *src, cf_diag_list_t *diags)
{
    src->fd = -1;
    src->path = path;
    src->size = 0;
    src->sha256 = NULL;
    struct stat st;
    char why[128];
    int fd = cf_open_regular(path, &st, why, sizeof(why));
    if (fd < 0) {
        int e = errno;
        cf_diag_add(diags, CF_SEV_ERROR, path, 0, "cannot read the batch file: %s%s", why,
                    e == EINVAL ? "; the batch must be a file, read whole and fingerprinted "
                                  "before any card"
                                : "");
        return e == ENOENT ? CF_ERR_NOT_FOUND : CF_ERR_IO;
    }
    src->fd = fd;
    src->size = (uint64_t)st.st_size;
    return CF_OK;
}

void cf_batch_src_close(cf_batch_src_t *src)
{
    if (src->fd >= 0)
        close(src->fd);
    src->fd = -1;
}

static ssize_t cursor_read(void *ctx, uint8_t *buf, size_t cap)
{
    cf_batch_cursor_t *c = ctx;
    if (c->cancel != NULL && __atomic_load_n(c->cancel, __ATOMIC_ACQUIRE) != 0) {
        errno = EINTR;
        return -1;
    }
    uint64_t left = c->src->size - c->off;
    if (cap > left)
        cap = (size_t)left;
    if (cap == 0)
        return 0;
    ssize_t n;
    do
        n = pread(c->src->fd, buf, cap, (off_t)c->off);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        c->off += (uint64_t)n;
        if (c->md != NULL && EVP_DigestUpdate(c->md, buf, (size_t)n) != 1)
            c->md_failed = 1;
    }
    return n;
}

cf_err_t cf_batch_src_csv(const cf_batch_src_t *src, cf_batch_cursor_t *cur, EVP_MD_CTX *md,
                          const int *cancel, cf_diag_list_t *diags, cf_csv_t **out)
{
    memset(cur, 0, sizeof(*cur));
    cur->src = src;
    cur->md = md;
    cur->cancel = cancel;
    return cf_csv_open_reader(src->path, cursor_read, cur, CF_CSV_IOBUF_SIZE, diags, out);
}
