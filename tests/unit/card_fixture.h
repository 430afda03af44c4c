/*
 * card_fixture.h - test fixture for the card operations: a virtual card in
 * an in-process reader, the real profiles, an opened cf_card_t, secrets
 * that are freed with the fixture, and an independent view of the card's
 * state (its state file, written by the card itself), so a test checks
 * what the card holds rather than what the card layer believes.
 * Header-only (static inline) so each test program takes what it uses.
 */
#ifndef CF_TEST_CARD_FIXTURE_H
#define CF_TEST_CARD_FIXTURE_H

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cardforge/card.h>
#include <cardforge/simcard.h>
#include <cardforge/transport.h>

struct fx {
    cf_simcard_t *sim;
    cf_transport_t *t;
    cf_profiles_t *set;
    cf_card_t *card;
    cf_secret_t *secrets[64];
    size_t n_secrets;
    char errbuf[512];
};

static inline cf_profiles_t *fx_profiles(void)
{
    cf_diag_list_t *d = cf_diag_list_new();
    cf_profiles_t *set = NULL;
    if (cf_profiles_load(CF_SOURCE_DIR "/profiles", d, &set) != CF_OK) {
        cf_diag_print(d, stderr);
        abort();
    }
    cf_diag_list_free(d);
    return set;
}

/* A card of type/factory with serial in a simulated reader; opened with
 * profile (NULL: identified). Returns cf_card_open's result. */
static inline cf_err_t fx_open(struct fx *f, const char *type, const char *factory,
                               uint32_t serial, const char *profile)
{
    memset(f, 0, sizeof(*f));
    f->set = fx_profiles();
    if (cf_simcard_new(type, factory, serial, &f->sim) != CF_OK ||
        cf_transport_open_sim(f->sim, "Sim Reader 00", &f->t) != CF_OK)
        abort();
    return cf_card_open(f->t, f->set, profile, &f->card, f->errbuf, sizeof(f->errbuf));
}

static inline void fx_close(struct fx *f)
{
    cf_card_free(f->card);
    cf_transport_close(f->t, CF_DISPOSE_LEAVE);
    cf_simcard_free(f->sim);
    cf_profiles_free(f->set);
    for (size_t i = 0; i < f->n_secrets; i++)
        cf_secret_free(f->secrets[i]);
    memset(f, 0, sizeof(*f));
}

static inline cf_secret_t *fx_keep(struct fx *f, cf_secret_t *s)
{
    if (s == NULL || f->n_secrets >= sizeof(f->secrets) / sizeof(f->secrets[0]))
        abort();
    f->secrets[f->n_secrets++] = s;
    return s;
}

/* A text secret ("123456"), freed with the fixture. */
static inline cf_secret_t *fx_s(struct fx *f, const char *text)
{
    return fx_keep(f, cf_secret_new(text, strlen(text)));
}

/* A secret from hex, freed with the fixture. */
static inline cf_secret_t *fx_h(struct fx *f, const char *hex)
{
    cf_secret_t *s = NULL;
    if (cf_secret_from_hex(hex, strlen(hex), &s) != CF_OK)
        abort();
    return fx_keep(f, s);
}

/* The value of key in the card's own state file (the card writes it), or
 * NULL. Borrowed until the next call. */
static inline const char *fx_state(struct fx *f, const char *key)
{
    char path[] = "/tmp/cf-card-state-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        abort();
    close(fd);
    if (cf_simcard_save(f->sim, path) != CF_OK)
        abort();
    FILE *in = fopen(path, "r");
    static char line[4096], value[4096];
    const char *found = NULL;
    size_t kl = strlen(key);
    while (in != NULL && fgets(line, sizeof(line), in) != NULL) {
        line[strcspn(line, "\n")] = 0;
        if (strncmp(line, key, kl) == 0 && line[kl] == '=') {
            snprintf(value, sizeof(value), "%s", line + kl + 1);
            found = value;
        }
    }
    if (in != NULL)
        fclose(in);
    unlink(path);
    return found;
}

/* 1 when the state file's key holds hex (either case). */
static inline int fx_state_is(struct fx *f, const char *key, const char *hex)
{
    const char *v = fx_state(f, key);
    return v != NULL && strcasecmp(v, hex) == 0;
}

static inline unsigned fx_state_uint(struct fx *f, const char *key)
{
    const char *v = fx_state(f, key);
    if (v == NULL)
        abort();
    return (unsigned)strtoul(v, NULL, 10);
}

/* The tries of c as the card layer reads them; aborts on error. */
static inline cf_tries_t fx_tries(struct fx *f, cf_cred_t c)
{
    cf_tries_t t;
    if (cf_card_tries(f->card, c, &t) != CF_OK)
        abort();
    return t;
}

#endif
