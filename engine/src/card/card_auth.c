/*
 * card_auth.c - the admin key: mutual authentication by the profile's
 * scheme, replacing the key, and the one-way (external) challenge-response.
 *
 * The schemes are the generic part (what is encrypted, in which order, what
 * is checked); the profile gives the APDUs and where the values sit in the
 * answers:
 *  - piv-9b (SP 800-73, as yubico-piv-tool does it): ask for a witness, the
 *    card answers E_K(W); decrypt, send W and our challenge C; the card
 *    answers E_K(C), which we check. ECB, one block of the key's cipher.
 *  - gids-mutual (as OpenSC's gids-tool does it): send R1 (16 random
 *    bytes), get R2 (16); send CBC_K(R2 | R1 | Z1[7] | 80), IV 0; the card
 *    answers CBC_K(R1 | R2 | Z2[7] | 80), which we decrypt and check (R1,
 *    R2 and the final 80; OpenSC checks its own padding byte by mistake).
 *  - gids-external: get the card's challenge; the caller computes the
 *    response elsewhere (the helpdesk, cf_keys_unblock_response) and it is
 *    sent in the same session.
 * Every intermediate value is wiped; the commands carrying witnesses and
 * cryptograms mark them secret, and the answers of the mutual schemes are
 * marked secret responses, so the trace shows neither.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "card/card_int.h"

#define GIDS_RND 16
#define GIDS_CRYPTOGRAM 40

/* The value at cmd's response path in r, exactly want bytes (any size
 * 1..cap when want is 0). */
static cf_err_t response_value(cf_card_t *card, const char *what, const cf_prof_cmd_t *cmd,
                               const cf_rapdu_t *r, size_t want, size_t cap, uint8_t *out,
                               size_t *len)
{
    const uint8_t *val;
    size_t vl;
    if (cf_tlv_path_find(&cmd->response, r->data, r->len, &val, &vl) < 0 || (want && vl != want) ||
        vl == 0 || vl > cap)
        return cf_card_fail(card, CF_ERR_BAD_RESPONSE,
                            "%s: the card's answer does not hold the value %s:%lu describes", what,
                            cmd->file, cmd->line);
    memcpy(out, val, vl);
    *len = vl;
    return CF_OK;
}

static cf_err_t run_prepare(cf_card_t *card, const char *what, const cf_prof_auth_t *a,
                            const cf_tmpl_vals_t *v)
{
    if (!a->prepare.present)
        return CF_OK;
    cf_rapdu_t r;
    return cf_card_cmd(card, what, &a->prepare, v, CF_CMD_PLAIN, CF_CRED_ADMIN, &r, NULL);
}

static cf_err_t auth_piv9b(cf_card_t *card, const char *what, const cf_secret_t *key,
                           const cf_prof_alg_t *alg, int *sent)
{
    const cf_prof_auth_t *a = &card->p->admin.auth;
    size_t bs = cf_card_block_size(alg->type), n;
    uint8_t enc_w[16], w[16], c[16], enc_c[16], card_c[16];
    cf_tmpl_vals_t v;
    cf_rapdu_t r;
    cf_card_base_vals(card, alg, &v);
    cf_err_t err = run_prepare(card, what, a, &v);
    if (err == CF_OK)
        err = cf_card_cmd(card, what, &a->challenge, &v, CF_CMD_SECRET_RESPONSE, CF_CRED_ADMIN, &r,
                          NULL);
    if (err == CF_OK)
        err = response_value(card, what, &a->challenge, &r, bs, sizeof(enc_w), enc_w, &n);
    cf_transport_wipe_response(card->t);
    if (err == CF_OK && (err = cf_card_cipher(alg->type, key, 0, 0, enc_w, bs, w)) != CF_OK)
        cf_card_fail(card, err, "%s: decrypting the witness failed", what);
    if (err == CF_OK && RAND_bytes(c, (int)bs) != 1)
        err = cf_card_fail(card, CF_ERR_CRYPTO, "%s: no random challenge", what);
    if (err == CF_OK && (err = cf_card_cipher(alg->type, key, 0, 1, c, bs, enc_c)) != CF_OK)
        cf_card_fail(card, err, "%s: encrypting the challenge failed", what);
    if (err == CF_OK) {
        v.p[CF_PH_WITNESS] = w;
        v.len[CF_PH_WITNESS] = bs;
        v.p[CF_PH_CHALLENGE] = c;
        v.len[CF_PH_CHALLENGE] = bs;
        err = cf_card_cmd(card, what, &a->answer, &v, CF_CMD_SECRET_RESPONSE | CF_CMD_CRYPTOGRAM,
                          CF_CRED_ADMIN, &r, sent);
        if (err == CF_OK)
            err = response_value(card, what, &a->answer, &r, bs, sizeof(card_c), card_c, &n);
        cf_transport_wipe_response(card->t);
        if (err == CF_OK && CRYPTO_memcmp(card_c, enc_c, bs) != 0)
            err = cf_card_fail(card, CF_ERR_BAD_RESPONSE,
                               "%s: the card's answer to our challenge is wrong: the card does "
                               "not hold this key (not authenticated)",
                               what);
    }
    OPENSSL_cleanse(enc_w, sizeof(enc_w));
    OPENSSL_cleanse(w, sizeof(w));
    OPENSSL_cleanse(c, sizeof(c));
    OPENSSL_cleanse(enc_c, sizeof(enc_c));
    OPENSSL_cleanse(card_c, sizeof(card_c));
    return err;
}

static cf_err_t auth_gids_mutual(cf_card_t *card, const char *what, const cf_secret_t *key,
                                 const cf_prof_alg_t *alg, int *sent)
{
    const cf_prof_auth_t *a = &card->p->admin.auth;
    uint8_t r1[GIDS_RND], r2[GIDS_RND], plain[GIDS_CRYPTOGRAM], c1[GIDS_CRYPTOGRAM],
        c2[GIDS_CRYPTOGRAM];
    size_t n;
    cf_tmpl_vals_t v;
    cf_rapdu_t r;
    cf_card_base_vals(card, alg, &v);
    cf_err_t err = run_prepare(card, what, a, &v);
    if (err == CF_OK && RAND_bytes(r1, sizeof(r1)) != 1)
        err = cf_card_fail(card, CF_ERR_CRYPTO, "%s: no random bytes", what);
    if (err == CF_OK) {
        v.p[CF_PH_HOST_RANDOM] = r1;
        v.len[CF_PH_HOST_RANDOM] = sizeof(r1);
        err = cf_card_cmd(card, what, &a->challenge, &v, CF_CMD_SECRET_RESPONSE, CF_CRED_ADMIN, &r,
                          NULL);
    }
    if (err == CF_OK)
        err = response_value(card, what, &a->challenge, &r, GIDS_RND, sizeof(r2), r2, &n);
    cf_transport_wipe_response(card->t);
    /* C1 = CBC_K(R2 | R1 | Z1[7] | 80): the card's random first */
    if (err == CF_OK) {
        memcpy(plain, r2, GIDS_RND);
        memcpy(plain + GIDS_RND, r1, GIDS_RND);
        if (RAND_bytes(plain + 2 * GIDS_RND, 7) != 1)
            err = cf_card_fail(card, CF_ERR_CRYPTO, "%s: no random bytes", what);
        plain[GIDS_CRYPTOGRAM - 1] = 0x80;
    }
    if (err == CF_OK &&
        (err = cf_card_cipher(alg->type, key, 1, 1, plain, GIDS_CRYPTOGRAM, c1)) != CF_OK)
        cf_card_fail(card, err, "%s: encrypting the cryptogram failed", what);
    if (err == CF_OK) {
        v.p[CF_PH_CRYPTOGRAM] = c1;
        v.len[CF_PH_CRYPTOGRAM] = sizeof(c1);
        err = cf_card_cmd(card, what, &a->answer, &v, CF_CMD_SECRET_RESPONSE | CF_CMD_CRYPTOGRAM,
                          CF_CRED_ADMIN, &r, sent);
        if (err == CF_OK)
            err = response_value(card, what, &a->answer, &r, GIDS_CRYPTOGRAM, sizeof(c2), c2, &n);
        cf_transport_wipe_response(card->t);
    }
    /* The card's cryptogram must be CBC_K(R1 | R2 | Z2[7] | 80). */
    if (err == CF_OK &&
        (err = cf_card_cipher(alg->type, key, 1, 0, c2, GIDS_CRYPTOGRAM, plain)) != CF_OK)
        cf_card_fail(card, err, "%s: decrypting the card's cryptogram failed", what);
    if (err == CF_OK &&
        (CRYPTO_memcmp(plain, r1, GIDS_RND) != 0 ||
         CRYPTO_memcmp(plain + GIDS_RND, r2, GIDS_RND) != 0 || plain[GIDS_CRYPTOGRAM - 1] != 0x80))
        err = cf_card_fail(card, CF_ERR_BAD_RESPONSE,
                           "%s: the card's cryptogram is wrong: the card does not hold this key "
                           "(not authenticated)",
                           what);
    OPENSSL_cleanse(r1, sizeof(r1));
    OPENSSL_cleanse(r2, sizeof(r2));
    OPENSSL_cleanse(plain, sizeof(plain));
    OPENSSL_cleanse(c1, sizeof(c1));
    OPENSSL_cleanse(c2, sizeof(c2));
    return err;
}

/* The algorithm of key on this card: what the card says it holds when the
 * profile can ask, else the profile's default for the key's length. */
static cf_err_t key_alg(cf_card_t *card, const char *what, const cf_secret_t *key,
                        const cf_prof_alg_t **out)
{
    const cf_prof_admin_t *ad = &card->p->admin;
    size_t len = cf_secret_len(key);
    if (card->admin_alg != NULL) {
        if (cf_card_key_len(card->admin_alg->type) != len)
            return cf_card_fail(card, CF_ERR_POLICY,
                                "%s: the card's admin key is %s (%zu bytes), the key given "
                                "has %zu bytes (nothing sent)",
                                what, cf_card_key_type_name(card->admin_alg->type),
                                cf_card_key_len(card->admin_alg->type), len);
        *out = card->admin_alg;
        return CF_OK;
    }
    if (ad->alg_read.cmd.present) {
        cf_tmpl_vals_t v;
        cf_rapdu_t r;
        cf_card_base_vals(card, NULL, &v);
        cf_err_t err =
            cf_card_cmd(card, what, &ad->alg_read.cmd, &v, CF_CMD_PLAIN, CF_CRED_ADMIN, &r, NULL);
        if (err == CF_OK) {
            const uint8_t *val;
            size_t vl;
            const cf_prof_alg_t *alg = NULL;
            if (cf_field_get(&ad->alg_read.value, r.data, r.len, &val, &vl) == 0)
                alg = cf_prof_alg_by_id(card->p, val[0]);
            if (alg == NULL)
                return cf_card_fail(card, CF_ERR_BAD_RESPONSE,
                                    "%s: the card names an admin key algorithm %s does not know",
                                    what, card->p->name);
            if (cf_card_key_len(alg->type) != len)
                return cf_card_fail(card, CF_ERR_POLICY,
                                    "%s: the card's admin key is %s (%zu bytes), the key given "
                                    "has %zu bytes (nothing sent)",
                                    what, cf_card_key_type_name(alg->type),
                                    cf_card_key_len(alg->type), len);
            *out = card->admin_alg = alg;
            return CF_OK;
        }
        if (err != CF_ERR_CARD_STATUS)
            return err; /* any refusal: the card cannot say; the key's length decides */
    }
    cf_card_key_type_t t;
    if (cf_profile_admin_key_type(card->p, len, &t) != CF_OK)
        return cf_card_fail(card, CF_ERR_POLICY,
                            "%s: card type %s takes no admin key of %zu bytes (nothing sent)", what,
                            card->p->name, len);
    *out = cf_prof_alg_by_type(card->p, t);
    return CF_OK;
}

cf_err_t cf_card_admin_auth(cf_card_t *card, const cf_secret_t *key, unsigned flags)
{
    if (card == NULL || key == NULL)
        return CF_ERR_ARG;
    const char *what = "admin key authentication";
    card->last_write = CF_WRITE_NONE;
    const cf_prof_admin_t *ad = &card->p->admin;
    if (!ad->present || !ad->auth.present)
        return cf_card_fail(card, CF_ERR_UNSUPPORTED, "%s: card type %s has no admin key", what,
                            card->p->name);
    cf_card_session_ended(card); /* a new attempt ends any earlier authentication */
    const cf_prof_alg_t *alg = NULL;
    cf_err_t err = cf_card_guard(card, what, CF_CRED_ADMIN, key, flags);
    if (err == CF_OK)
        err = key_alg(card, what, key, &alg);
    if (err != CF_OK)
        return err;
    int sent = 0;
    if (ad->auth.scheme == CF_SCHEME_PIV_9B)
        err = auth_piv9b(card, what, key, alg, &sent);
    else
        err = auth_gids_mutual(card, what, key, alg, &sent);
    cf_card_after(card, CF_CRED_ADMIN, key, err, sent);
    if (err != CF_OK)
        return err;
    card->admin_auth = 1;
    card->cred[CF_CRED_ADMIN].failed = 0;
    cf_card_ok(card);
    return CF_OK;
}

cf_err_t cf_card_set_admin_key(cf_card_t *card, const cf_secret_t *new_key)
{
    if (card == NULL || new_key == NULL)
        return CF_ERR_ARG;
    const char *what = "set admin key";
    card->last_write = CF_WRITE_NONE;
    const cf_prof_cmd_t *cmd = &card->p->ops[CF_OP_SET_ADMIN_KEY];
    if (!cmd->present)
        return cf_card_fail(card, CF_ERR_UNSUPPORTED, "%s: card type %s cannot do this", what,
                            card->p->name);
    cf_card_key_type_t t;
    if (cf_profile_admin_key_type(card->p, cf_secret_len(new_key), &t) != CF_OK)
        return cf_card_fail(card, CF_ERR_POLICY,
                            "%s: card type %s takes no admin key of %zu bytes (nothing sent)", what,
                            card->p->name, cf_secret_len(new_key));
    if (!card->admin_auth)
        return cf_card_fail(card, CF_ERR_REFUSED,
                            "%s: authenticate with the admin key first (nothing sent)", what);
    const cf_prof_alg_t *alg = cf_prof_alg_by_type(card->p, t);
    uint8_t kcv[3];
    cf_err_t err = cf_card_kcv(t, new_key, kcv);
    if (err != CF_OK)
        return cf_card_fail(card, err, "%s: computing the key check value failed", what);
    cf_tmpl_vals_t v;
    cf_rapdu_t r;
    cf_card_base_vals(card, alg, &v);
    v.p[CF_PH_NEW_KEY] = cf_secret_data(new_key);
    v.len[CF_PH_NEW_KEY] = cf_secret_len(new_key);
    v.p[CF_PH_KCV] = kcv;
    v.len[CF_PH_KCV] = sizeof(kcv);
    err = cf_card_cmd(card, what, cmd, &v, CF_CMD_PLAIN | CF_CMD_WRITE, CF_CRED_ADMIN, &r, NULL);
    if (err != CF_OK) {
        card->admin_alg = NULL; /* the card may hold either key now */
        return err;
    }
    card->admin_alg = alg;
    cf_card_cred_changed(card, CF_CRED_ADMIN);
    cf_card_ok(card);
    return CF_OK;
}

cf_err_t cf_card_get_challenge(cf_card_t *card, uint8_t *challenge, size_t cap, size_t *len,
                               unsigned flags)
{
    if (len != NULL)
        *len = 0;
    if (card == NULL || challenge == NULL || len == NULL)
        return CF_ERR_ARG;
    const char *what = "get the admin key challenge";
    const cf_prof_auth_t *a = &card->p->admin.external;
    if (!a->present)
        return cf_card_fail(card, CF_ERR_UNSUPPORTED,
                            "%s: card type %s has no external authentication", what, card->p->name);
    cf_card_session_ended(card);
    cf_err_t err = cf_card_guard(card, what, CF_CRED_ADMIN, NULL, flags);
    if (err != CF_OK)
        return err;
    cf_card_key_type_t t = card->p->admin.algs[0].type;
    cf_tmpl_vals_t v;
    cf_rapdu_t r;
    cf_card_base_vals(card, cf_prof_alg_by_type(card->p, t), &v);
    err = run_prepare(card, what, a, &v);
    if (err == CF_OK)
        err = cf_card_cmd(card, what, &a->challenge, &v, 0, CF_CRED_ADMIN, &r, NULL);
    size_t n = 0;
    if (err == CF_OK)
        err = response_value(card, what, &a->challenge, &r, 0, sizeof(card->ext_challenge),
                             card->ext_challenge, &n);
    if (err == CF_OK && n > cap)
        err = cf_card_fail(card, CF_ERR_BUFFER, "%s: the challenge has %zu bytes, room for %zu",
                           what, n, cap);
    if (err != CF_OK) {
        cf_card_session_ended(card);
        return err;
    }
    memcpy(challenge, card->ext_challenge, n);
    *len = n;
    card->ext_len = n;
    card->ext_pending = 1;
    cf_card_ok(card);
    return CF_OK;
}

cf_err_t cf_card_external_auth(cf_card_t *card, const cf_secret_t *response)
{
    if (card == NULL || response == NULL)
        return CF_ERR_ARG;
    const char *what = "admin key challenge-response";
    card->last_write = CF_WRITE_NONE;
    const cf_prof_auth_t *a = &card->p->admin.external;
    if (!a->present)
        return cf_card_fail(card, CF_ERR_UNSUPPORTED,
                            "%s: card type %s has no external authentication", what, card->p->name);
    if (!card->ext_pending)
        return cf_card_fail(card, CF_ERR_ARG,
                            "%s: no challenge is pending: get one with cf_card_get_challenge in "
                            "the same session (nothing sent)",
                            what);
    if (cf_secret_len(response) != card->ext_len)
        return cf_card_fail(card, CF_ERR_POLICY,
                            "%s: the response has %zu bytes, the challenge had %zu (nothing sent)",
                            what, cf_secret_len(response), card->ext_len);
    /* The counter was checked when the challenge was fetched, before
     * anybody saw it; nothing may be sent between challenge and answer,
     * so only the rejected-value rule is applied here. */
    if (cf_card_was_rejected(card, CF_CRED_ADMIN, response))
        return cf_card_fail(card, CF_ERR_REFUSED,
                            "%s: refused: the card already rejected this response (nothing "
                            "sent)",
                            what);
    cf_err_t err;
    card->ext_pending = 0; /* single use, whatever the answer */
    cf_tmpl_vals_t v;
    cf_rapdu_t r;
    cf_card_base_vals(card, cf_prof_alg_by_type(card->p, card->p->admin.algs[0].type), &v);
    v.p[CF_PH_RESPONSE] = cf_secret_data(response);
    v.len[CF_PH_RESPONSE] = cf_secret_len(response);
    int sent = 0;
    err = cf_card_cmd(card, what, &a->answer, &v, CF_CMD_WRITE | CF_CMD_CRYPTOGRAM, CF_CRED_ADMIN,
                      &r, &sent);
    cf_card_after(card, CF_CRED_ADMIN, response, err, sent);
    cf_wipe(card->ext_challenge, sizeof(card->ext_challenge));
    if (err != CF_OK)
        return err;
    card->admin_auth = 1;
    cf_card_ok(card);
    return CF_OK;
}

cf_card_write_t cf_card_last_write(const cf_card_t *card)
{
    return card != NULL ? card->last_write : CF_WRITE_NONE;
}
