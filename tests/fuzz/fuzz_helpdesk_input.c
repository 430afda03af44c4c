/*
 * fuzz_helpdesk_input.c - libFuzzer target for the helpdesk server's parsers
 * of untrusted input: form bodies from the network (web_form_parse), the
 * form's master-key choice (web_key_choice) and the operators file
 * (ops_parse).
 *
 * Both live in the cardforge program, not the engine, so their sources are
 * compiled into this target directly. The first input byte picks the
 * parser. A key choice that parses names a prefix of the input, 1 to
 * CF_KEYS_NAME_MAX bytes long, and a version of at most 6 digits. A form that parses must give back
 * every field it lists, each a C string within the body's length; an operators file that parses
 * must hold only valid names, each once.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/cardforge/helpdesk_operators.c"
#include "../../tools/cardforge/helpdesk_web_form.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static web_form_t form;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if (data[0] & 2) {
        char text0[512], name[CF_KEYS_NAME_MAX + 1];
        unsigned version;
        size_t n = len < sizeof(text0) - 1 ? len : sizeof(text0) - 1;
        memcpy(text0, text, n);
        text0[n] = 0;
        if (web_key_choice(text0, name, &version) == 0 &&
            (name[0] == 0 || strlen(name) > CF_KEYS_NAME_MAX ||
             strncmp(name, text0, strlen(name)) != 0 || version > 999999))
            abort();
        return 0;
    }
    if (data[0] & 1) {
        if (web_form_parse(&form, text, len) == 0) {
            if (form.n > WEB_MAX_FIELDS)
                abort();
            for (size_t i = 0; i < form.n; i++) {
                if (strlen(form.key[i]) == 0 || strlen(form.key[i]) > len ||
                    strlen(form.val[i]) > len || web_form_get(&form, form.key[i]) != form.val[i])
                    abort();
            }
        }
        web_form_wipe(&form);
        return 0;
    }
    ops_t ops;
    char err[OPS_ERRLEN];
    if (ops_parse(text, len, &ops, err, sizeof(err)) == 0) {
        for (size_t i = 0; i < ops.n; i++)
            if (!ops_name_ok(ops.e[i].name) || ops_find(&ops, ops.e[i].name) != &ops.e[i])
                abort();
        ops_free(&ops);
    }
    return 0;
}
