/*
 * spec.c - the --readers value: "all", name substrings, or "sim:N[:TYPE[:FACTORY]]"
 * (TYPE a virtual card type BASE[+QUIRK...], simcard.h).
 *
 * Parsed once, before any reader is opened, with a message that names the
 * part that is wrong. A simulated factory state is checked by creating one
 * card of it, so a typo fails here and not on the first insertion.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cardforge/runner.h>
#include <cardforge/simcard.h>

static cf_err_t bad(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static cf_err_t bad(char *err, size_t errlen, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return CF_ERR_ARG;
}

void cf_reader_spec_free(cf_reader_spec_t *spec)
{
    if (spec == NULL)
        return;
    for (size_t i = 0; i < spec->n_match; i++)
        free(spec->match[i]);
    memset(spec, 0, sizeof(*spec));
}

static cf_err_t parse_sim(const char *rest, cf_reader_spec_t *out, char *err, size_t errlen)
{
    char buf[160];
    if (strlen(rest) >= sizeof(buf))
        return bad(err, errlen, "readers 'sim:%.20s...': too long", rest);
    snprintf(buf, sizeof(buf), "%s", rest);
    char *fields[4] = {NULL, NULL, NULL, NULL};
    size_t nf = 0;
    char *p = buf;
    for (;;) {
        if (nf == 3)
            return bad(err, errlen, "readers 'sim:%s': expected sim:N[:TYPE[:FACTORY]]", rest);
        fields[nf++] = p;
        char *colon = strchr(p, ':');
        if (colon == NULL)
            break;
        *colon = '\0';
        p = colon + 1;
    }
    const char *n = fields[0];
    if (n[0] < '1' || n[0] > '9' || strspn(n, "0123456789") != strlen(n) || strlen(n) > 5)
        return bad(err, errlen, "readers 'sim:%s': the number of readers must be 1 to %u, not '%s'",
                   rest, CF_RUNNER_MAX_SIM, n);
    unsigned long count = strtoul(n, NULL, 10);
    if (count > CF_RUNNER_MAX_SIM)
        return bad(err, errlen, "readers 'sim:%s': at most %u simulated readers", rest,
                   CF_RUNNER_MAX_SIM);
    /* The default is the standard card; extensions and quirks are asked for. */
    const char *type = (nf >= 2 && fields[1][0]) ? fields[1] : "piv";
    char canon[CF_SIMCARD_TYPE_MAX], why[160];
    if (cf_simcard_type_check(type, canon, sizeof(canon), why, sizeof(why)) != CF_OK)
        return bad(err, errlen, "readers 'sim:%s': %s", rest, why);
    type = canon;
    const char *factory = nf == 3 ? fields[2] : "";
    if (nf == 3 && factory[0] == '\0')
        return bad(err, errlen, "readers 'sim:%s': empty factory state", rest);
    if (strlen(factory) >= sizeof(out->sim_factory))
        return bad(err, errlen, "readers 'sim:%s': factory state name too long", rest);
    cf_simcard_t *probe = NULL;
    if (cf_simcard_new(type, factory[0] ? factory : NULL, 1, &probe) != CF_OK)
        return bad(err, errlen, "readers 'sim:%s': %s cards have no factory state '%s'", rest, type,
                   factory[0] ? factory : "(default)");
    cf_simcard_free(probe);
    out->source = CF_READERS_SIM;
    out->sim_count = (unsigned)count;
    snprintf(out->sim_type, sizeof(out->sim_type), "%s", type);
    snprintf(out->sim_factory, sizeof(out->sim_factory), "%s", factory);
    return CF_OK;
}

cf_err_t cf_reader_spec_parse(const char *text, cf_reader_spec_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (text == NULL || strcmp(text, "all") == 0) {
        out->source = CF_READERS_ALL;
        return CF_OK;
    }
    if (strncmp(text, "sim:", 4) == 0)
        return parse_sim(text + 4, out, err, errlen);
    if (text[0] == '\0')
        return bad(err, errlen, "readers: empty (use all, NAME[,NAME...] or sim:N)");
    out->source = CF_READERS_MATCH;
    const char *p = text;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0) {
            cf_reader_spec_free(out);
            return bad(err, errlen, "readers '%.60s': an empty name between commas", text);
        }
        if (out->n_match == CF_RUNNER_MAX_MATCH) {
            cf_reader_spec_free(out);
            return bad(err, errlen, "readers: at most %u names", CF_RUNNER_MAX_MATCH);
        }
        char *m = strndup(p, len);
        if (m == NULL) {
            cf_reader_spec_free(out);
            return CF_ERR_NOMEM;
        }
        out->match[out->n_match++] = m;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    out->source = CF_READERS_MATCH;
    return CF_OK;
}

int cf_reader_spec_matches(const cf_reader_spec_t *spec, const char *reader_name)
{
    switch (spec->source) {
    case CF_READERS_ALL:
        return 1;
    case CF_READERS_MATCH:
        for (size_t i = 0; i < spec->n_match; i++)
            if (strstr(reader_name, spec->match[i]) != NULL)
                return 1;
        return 0;
    case CF_READERS_SIM:
        return 0;
    }
    return 0;
}
