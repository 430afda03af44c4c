/*
 * variant.c - the card bases and quirks: the one table that names them,
 * says which bases take which quirk and what each does, and the parsing of
 * a card type name BASE[+QUIRK...].
 *
 * The rule behind it: a base implements its standard (SP 800-73-4 for
 * "piv", GIDS v2 as GidsApplet and OpenSC define it for "gids") or one named
 * product ("yubikey"); whatever a real card does beyond or against that is
 * a quirk, opt-in and documented (docs/cards/vcard.md, "Variants"), so no
 * test or profile can lean on a habit of our own cards by accident. A card
 * carries its quirks as bits (card->quirks); the card type code tests them
 * with cf_simcard_has. The quirks every base shares (ATR, the status word
 * for a wrong admin cryptogram, for an absent data object) are answered
 * here so the card types only say where they apply.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "simcard/simcard_int.h"

#define B_PIV (1u << CF_SIM_PIV)
#define B_YUBIKEY (1u << CF_SIM_YUBIKEY)
#define B_GIDS (1u << CF_SIM_GIDS)
#define B_ANY (B_PIV | B_YUBIKEY | B_GIDS)

/* In enum cf_sim_base order: indexed by it. */
/* clang-format off */
static const struct base {
    enum cf_sim_base base;
    const struct cf_simcard_ops *ops;
    cf_simcard_base_info_t info;
} bases[] = {
    {CF_SIM_PIV, &cf_simcard_piv_ops,
     {"piv", "default",
      "NIST SP 800-73-4 PIV card: no vendor instructions, CHUID with a per-card GUID"}},
    {CF_SIM_YUBIKEY, &cf_simcard_piv_ops,
     {"yubikey", "default",
      "PIV application of a YubiKey 5.4.3: YubiKey ATR, GET VERSION/SERIAL/METADATA, "
      "SET MGM KEY, SET RETRIES, RESET"}},
    {CF_SIM_GIDS, &cf_simcard_gids_ops,
     {"gids", "blank, gemalto",
      "GIDS v2 card (GidsApplet, OpenSC): no readable admin-key counter, wrong "
      "cryptogram 6982"}},
};
/* clang-format on */
#define N_BASES (sizeof(bases) / sizeof(bases[0]))

/* Quirks of one group contradict each other: a card has at most one. */
enum group { G_NONE, G_ATR, G_WRONG, G_ABSENT };

/* clang-format off */
static const struct quirk {
    unsigned bit;
    unsigned applies; /* B_* */
    enum group group;
    cf_simcard_quirk_info_t info;
} quirks[] = {
    {CF_Q_ADMIN_COUNTER, B_GIDS, G_NONE,
     {"admin-counter", "gids",
      "admin-key tries readable in DO 7F7A (97 left, 93 limit); wrong cryptogram 63Cx, "
      "blocked 6983"}},
    {CF_Q_AID_FULL, B_PIV | B_YUBIKEY, G_NONE,
     {"aid-full", "piv, yubikey",
      "SELECT answers the whole PIV AID in 4F instead of the PIX"}},
    {CF_Q_ATR_OTHER, B_ANY, G_ATR,
     {"atr-other", "any", "ATR 3B 80 80 01 01 (GidsApplet's), which no shipped profile lists"}},
    {CF_Q_ATR_YUBIKEY, B_PIV | B_GIDS, G_ATR,
     {"atr-yubikey", "piv, gids", "the YubiKey 5 USB ATR on a card that is not a YubiKey"}},
    {CF_Q_WRONG_6A80, B_ANY, G_WRONG,
     {"wrong-6a80", "any", "a well-formed but wrong admin-key cryptogram answers 6A80"}},
    {CF_Q_WRONG_63CX, B_GIDS, G_WRONG,
     {"wrong-63cx", "gids",
      "a wrong admin-key cryptogram answers 63Cx, x = tries left; only on a card that "
      "counts them (gemalto, or with admin-counter)"}},
    {CF_Q_WRONG_6982, B_ANY, G_WRONG,
     {"wrong-6982", "any", "a well-formed but wrong admin-key cryptogram answers 6982"}},
    {CF_Q_ABSENT_6A82, B_ANY, G_ABSENT,
     {"absent-6a82", "any", "GET DATA of a data object the card does not have answers 6A82"}},
    {CF_Q_ABSENT_6984, B_ANY, G_ABSENT,
     {"absent-6984", "any", "GET DATA of a data object the card does not have answers 6984"}},
    {CF_Q_NO_VERIFY_STATUS, B_PIV | B_YUBIKEY, G_NONE,
     {"no-verify-status", "piv, yubikey",
      "VERIFY without data answers 6A80: the PIN counter cannot be read"}},
};
/* clang-format on */
#define N_QUIRKS (sizeof(quirks) / sizeof(quirks[0]))

const cf_simcard_base_info_t *cf_simcard_base_at(size_t i)
{
    return i < N_BASES ? &bases[i].info : NULL;
}

const cf_simcard_quirk_info_t *cf_simcard_quirk_at(size_t i)
{
    return i < N_QUIRKS ? &quirks[i].info : NULL;
}

const struct cf_simcard_ops *cf_simcard_base_ops(enum cf_sim_base base)
{
    return bases[base].ops;
}

const char *cf_simcard_base_name(enum cf_sim_base base)
{
    return bases[base].info.name;
}

static int failed(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int failed(char *err, size_t errlen, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* The table entry named by the n bytes at s, or NULL. */
static const struct base *find_base(const char *s, size_t n)
{
    for (size_t i = 0; i < N_BASES; i++)
        if (strlen(bases[i].info.name) == n && memcmp(bases[i].info.name, s, n) == 0)
            return &bases[i];
    return NULL;
}

static const struct quirk *find_quirk(const char *s, size_t n)
{
    for (size_t i = 0; i < N_QUIRKS; i++)
        if (strlen(quirks[i].info.name) == n && memcmp(quirks[i].info.name, s, n) == 0)
            return &quirks[i];
    return NULL;
}

int cf_simcard_variant_parse(const char *type, struct cf_simcard_variant *v, char *err,
                             size_t errlen)
{
    char name[CF_SIMCARD_TYPE_MAX];
    if (type == NULL || type[0] == '\0')
        return failed(err, errlen, "no card type");
    if (strlen(type) >= sizeof(name))
        return failed(err, errlen, "card type '%.32s...' is too long", type);
    size_t n = strcspn(type, "+");
    const struct base *b = find_base(type, n);
    if (b == NULL) {
        snprintf(name, sizeof(name), "%.*s", (int)n, type);
        return failed(err, errlen, "unknown card type '%s' (expected piv, yubikey or gids)", name);
    }
    v->base = b->base;
    v->quirks = 0;
    for (const char *p = type + n; *p == '+';) {
        p++;
        size_t qn = strcspn(p, "+");
        snprintf(name, sizeof(name), "%.*s", (int)qn, p);
        const struct quirk *q = find_quirk(p, qn);
        if (q == NULL)
            return failed(err, errlen, "unknown quirk '%s' (see cardforge-vcard --list-types)",
                          name);
        if (!(q->applies & (1u << b->base)))
            return failed(err, errlen, "quirk '%s' does not apply to %s cards", name, b->info.name);
        if (v->quirks & q->bit)
            return failed(err, errlen, "quirk '%s' given twice", name);
        for (size_t i = 0; q->group != G_NONE && i < N_QUIRKS; i++)
            if (quirks[i].group == q->group && (v->quirks & quirks[i].bit))
                return failed(err, errlen, "quirks '%s' and '%s' contradict each other",
                              quirks[i].info.name, name);
        v->quirks |= q->bit;
        p += qn;
    }
    return 0;
}

void cf_simcard_variant_name(const struct cf_simcard_variant *v, int quirks_only, char *out,
                             size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    if (!quirks_only)
        len = (size_t)snprintf(out, cap, "%s", bases[v->base].info.name);
    for (size_t i = 0; i < N_QUIRKS && len < cap; i++) {
        if (!(v->quirks & quirks[i].bit))
            continue;
        len +=
            (size_t)snprintf(out + len, cap - len, "%s%s", len > 0 ? "+" : "", quirks[i].info.name);
    }
}

cf_err_t cf_simcard_type_check(const char *type, char *canon, size_t canon_cap, char *err,
                               size_t errlen)
{
    struct cf_simcard_variant v;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (cf_simcard_variant_parse(type, &v, err, errlen) < 0)
        return CF_ERR_NOT_FOUND;
    if (canon != NULL && canon_cap > 0)
        cf_simcard_variant_name(&v, 0, canon, canon_cap);
    return CF_OK;
}

/* ---- the quirks every base answers alike ---- */

const uint8_t cf_simcard_yubikey_atr[] = {0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE,
                                          0x15, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59,
                                          0x75, 0x62, 0x69, 0x4B, 0x65, 0x79, 0x40};
const size_t cf_simcard_yubikey_atr_len = sizeof(cf_simcard_yubikey_atr);

/* GidsApplet's ATR as OpenSC's CI runs it: T=0 and T=1, no historical
 * bytes, so it names nothing any profile could list. */
static const uint8_t other_atr[] = {0x3B, 0x80, 0x80, 0x01, 0x01};

size_t cf_simcard_quirk_atr(const cf_simcard_t *card, uint8_t *atr, size_t cap)
{
    const uint8_t *p = NULL;
    size_t n = 0;
    if (cf_simcard_has(card, CF_Q_ATR_OTHER)) {
        p = other_atr;
        n = sizeof(other_atr);
    } else if (cf_simcard_has(card, CF_Q_ATR_YUBIKEY)) {
        p = cf_simcard_yubikey_atr;
        n = cf_simcard_yubikey_atr_len;
    }
    if (p == NULL || cap < n)
        return 0;
    memcpy(atr, p, n);
    return n;
}

uint16_t cf_simcard_wrong_sw(const cf_simcard_t *card, uint16_t dflt, unsigned tries)
{
    if (cf_simcard_has(card, CF_Q_WRONG_6A80))
        return SW_WRONG_DATA;
    if (cf_simcard_has(card, CF_Q_WRONG_6982))
        return SW_SECURITY_STATUS;
    if (cf_simcard_has(card, CF_Q_WRONG_63CX))
        return (uint16_t)(0x63C0 | (tries > 15 ? 15 : tries));
    return dflt;
}

uint16_t cf_simcard_absent_sw(const cf_simcard_t *card, uint16_t dflt)
{
    if (cf_simcard_has(card, CF_Q_ABSENT_6A82))
        return SW_FILE_NOT_FOUND;
    if (cf_simcard_has(card, CF_Q_ABSENT_6984))
        return SW_INVALID_DATA;
    return dflt;
}
