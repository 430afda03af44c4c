/*
 * helpdesk_web_pages.c - the HTML, CSS and JavaScript of the helpdesk page.
 *
 * Pages are built in a fixed buffer (an overflow is a server error, never a
 * cut page). Everything not written here literally goes through
 * web_put_esc, though what is shown is already restricted: operator names,
 * key names and hex from the engine's own formatting. No inline script or
 * style: the Content-Security-Policy allows only 'self', so the script and
 * the style sheet are files of their own (/app.js, /app.css).
 *
 * The script checks each check value as it is typed, with the same
 * arithmetic as cf_keys_check_value ("1" and the hex digits, read in base
 * 16, mod 97): a misheard digit shows at once, before the form is sent. The
 * server checks again; the script is a convenience, not a guard.
 */
#include <stdio.h>
#include <string.h>

#include "helpdesk_web.h"

void web_page_init(web_page_t *pg, char *buf, size_t cap)
{
    pg->p = buf;
    pg->cap = cap;
    pg->len = 0;
    pg->overflow = 0;
    if (cap > 0)
        buf[0] = 0;
}

static void put_n(web_page_t *pg, const char *s, size_t n)
{
    if (pg->overflow || pg->len + n + 1 > pg->cap) {
        pg->overflow = 1;
        return;
    }
    memcpy(pg->p + pg->len, s, n);
    pg->len += n;
    pg->p[pg->len] = 0;
}

void web_put(web_page_t *pg, const char *s)
{
    put_n(pg, s, strlen(s));
}

void web_put_esc(web_page_t *pg, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            web_put(pg, "&amp;");
            break;
        case '<':
            web_put(pg, "&lt;");
            break;
        case '>':
            web_put(pg, "&gt;");
            break;
        case '"':
            web_put(pg, "&quot;");
            break;
        case '\'':
            web_put(pg, "&#39;");
            break;
        default:
            put_n(pg, s, 1);
        }
    }
}

static void head(web_page_t *pg, const char *title)
{
    web_put(pg, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width\">"
                "<title>");
    web_put_esc(pg, title);
    web_put(pg, " - cardforge helpdesk</title>"
                "<link rel=\"stylesheet\" href=\"/app.css\">"
                "<script src=\"/app.js\" defer></script></head>\n<body><main>\n"
                "<h1>cardforge helpdesk</h1>\n");
}

static void message(web_page_t *pg, const char *msg)
{
    if (msg == NULL)
        return;
    web_put(pg, "<p class=\"msg\" id=\"msg\" role=\"alert\">");
    web_put_esc(pg, msg);
    web_put(pg, "</p>\n");
}

static void csrf_field(web_page_t *pg, const char *csrf)
{
    web_put(pg, "<input type=\"hidden\" name=\"csrf\" value=\"");
    web_put_esc(pg, csrf);
    web_put(pg, "\">");
}

static void whoami(web_page_t *pg, const char *operator_name, const char *csrf)
{
    web_put(pg, "<form method=\"post\" action=\"/logout\" class=\"who\">Logged in as <b "
                "id=\"operator\">");
    web_put_esc(pg, operator_name);
    web_put(pg, "</b> ");
    csrf_field(pg, csrf);
    web_put(pg, "<button type=\"submit\" id=\"logout\">Log out</button></form>\n");
}

void web_render_login(web_page_t *pg, const char *csrf, const char *msg)
{
    head(pg, "Log in");
    message(pg, msg);
    web_put(pg, "<form method=\"post\" action=\"/login\" id=\"login\">");
    csrf_field(pg, csrf);
    web_put(pg,
            "\n<label>Operator <input name=\"operator\" id=\"operator\" autocomplete=\"username\" "
            "required maxlength=\"32\" autofocus></label>\n"
            "<label>Password <input name=\"password\" id=\"password\" type=\"password\" "
            "autocomplete=\"current-password\" required maxlength=\"128\"></label>\n"
            "<button type=\"submit\" id=\"submit\">Log in</button></form>\n"
            "</main></body></html>\n");
}

/* A typed value with its check value beside it, checked as typed. */
static void pair(web_page_t *pg, const char *name, const char *label, const char *hint)
{
    char buf[512];
    snprintf(buf, sizeof(buf),
             "<div class=\"pair\"><label>%s <input name=\"%s\" id=\"%s\" required "
             "maxlength=\"100\" autocomplete=\"off\" spellcheck=\"false\" "
             "placeholder=\"%s\"></label>\n"
             "<label>check <input name=\"%s_check\" id=\"%s_check\" required maxlength=\"2\" "
             "size=\"3\" inputmode=\"numeric\" autocomplete=\"off\"></label>\n"
             "<span class=\"cv\" id=\"%s_status\" data-text=\"%s\" data-check=\"%s_check\" "
             "aria-live=\"polite\"></span></div>\n",
             label, name, name, hint, name, name, name, name, name);
    web_put(pg, buf);
}

void web_render_unblock(web_page_t *pg, const web_ctx_t *w, const char *operator_name,
                        const char *csrf, const char *msg)
{
    head(pg, "Unblock a card");
    whoami(pg, operator_name, csrf);
    message(pg, msg);
    web_put(pg, "<h2>Unblock a card</h2>\n"
                "<p>Type what the holder reads out; each check value is checked as you "
                "type.</p>\n<form method=\"post\" action=\"/unblock\" id=\"unblock\">");
    csrf_field(pg, csrf);
    web_put(pg, "\n");
    pair(pg, "serial", "Card serial", "1234 5678");
    pair(pg, "challenge", "Challenge", "16 or 32 hex digits");
    web_put(pg, "<label>Master key <select name=\"key\" id=\"key\">");
    /* First each name alone: the version the card's journal record names
     * (with --journal), else the newest. */
    for (size_t i = 0; i < cf_keyfile_count(w->keys); i++) {
        const char *name = cf_master_key_name(cf_keyfile_key(w->keys, i));
        size_t j = 0;
        while (j < i && strcmp(cf_master_key_name(cf_keyfile_key(w->keys, j)), name) != 0)
            j++;
        if (j < i)
            continue; /* listed already */
        web_put(pg, "<option value=\"");
        web_put_esc(pg, name);
        web_put(pg, "\">");
        web_put_esc(pg, name);
        web_put(pg, w->n_journals > 0 ? ", the card's version (journal; else the newest)"
                                      : ", the newest version");
        web_put(pg, "</option>");
    }
    for (size_t i = 0; i < cf_keyfile_count(w->keys); i++) {
        const cf_master_key_t *mk = cf_keyfile_key(w->keys, i);
        char v[CF_KEYS_NAME_MAX + 16];
        snprintf(v, sizeof(v), "%s/%u", cf_master_key_name(mk), cf_master_key_version(mk));
        web_put(pg, "<option value=\"");
        web_put_esc(pg, v);
        web_put(pg, "\">");
        web_put_esc(pg, cf_master_key_name(mk));
        snprintf(v, sizeof(v), " version %u", cf_master_key_version(mk));
        web_put(pg, v);
        web_put(pg, "</option>");
    }
    web_put(pg, "</select></label>\n"
                "<button type=\"submit\" id=\"submit\">Compute the response</button></form>\n"
                "</main></body></html>\n");
}

static void row(web_page_t *pg, const char *id, const char *label, const char *value,
                const char *cv)
{
    web_put(pg, "<tr><th>");
    web_put_esc(pg, label);
    web_put(pg, "</th><td class=\"hex\" id=\"");
    web_put(pg, id);
    web_put(pg, "\">");
    web_put_esc(pg, value);
    web_put(pg, "</td><td>");
    if (cv != NULL) {
        web_put(pg, "check <b id=\"");
        web_put(pg, id);
        web_put(pg, "_check\">");
        web_put_esc(pg, cv);
        web_put(pg, "</b>");
    }
    web_put(pg, "</td></tr>\n");
}

void web_render_answer(web_page_t *pg, const char *operator_name, const char *csrf,
                       const web_answer_t *a)
{
    char key[CF_KEYS_NAME_MAX + 160];
    snprintf(key, sizeof(key), "%s version %u (%s)", a->key_name, a->key_version, a->key_source);
    head(pg, "Response");
    whoami(pg, operator_name, csrf);
    web_put(pg, "<h2>Response</h2>\n<p>Read the challenge and its check value back to the "
                "holder first; then give the response in groups of four, and its check "
                "value.</p>\n<table>\n");
    row(pg, "serial", "Card serial", a->serial_g, a->serial_cv);
    row(pg, "challenge", "Challenge", a->challenge_g, a->challenge_cv);
    row(pg, "key", "Master key", key, NULL);
    row(pg, "response", "Response", a->response_g, a->response_cv);
    web_put(pg, "</table>\n<p><a href=\"/unblock\" id=\"next\">Next card</a></p>\n"
                "</main></body></html>\n");
}

const char web_app_css[] =
    "body{font-family:sans-serif;margin:2em;max-width:62em}"
    "label{display:inline-block;margin:.3em 1em .3em 0}"
    "input{font-family:monospace;font-size:1.1em}"
    ".pair{margin:.5em 0}.pair "
    "input:not([size]){width:26em}.cv{font-weight:bold}.cv.ok{color:#060}.cv.bad{color:#b00}"
    ".msg{border:1px solid #b00;padding:.5em;color:#b00}"
    ".who{float:right}td.hex{font-family:monospace;font-size:1.3em;padding:0 1em}"
    "th{text-align:left}\n";

const char web_app_js[] =
    "'use strict';\n"
    "// Check values as typed: ('1' + hex digits) read in base 16, mod 97,\n"
    "// as cf_keys_check_value computes them. The server checks again.\n"
    "function cfCheck(text) {\n"
    "  const d = text.replace(/[ \\t-]/g, '');\n"
    "  if (!/^[0-9A-Fa-f]+$/.test(d)) return null;\n"
    "  let v = 1;\n"
    "  for (const c of d) v = (v * 16 + parseInt(c, 16)) % 97;\n"
    "  return (v < 10 ? '0' : '') + v;\n"
    "}\n"
    "function cfUpdate() {\n"
    "  let all = true;\n"
    "  for (const s of document.querySelectorAll('.cv')) {\n"
    "    const t = document.getElementById(s.dataset.text).value;\n"
    "    const c = document.getElementById(s.dataset.check).value.trim();\n"
    "    const want = cfCheck(t);\n"
    "    let ok = false, msg = '';\n"
    "    if (t.trim() === '') msg = '';\n"
    "    else if (want === null) msg = 'not hex';\n"
    "    else if (c.length < 2) msg = 'type the check value';\n"
    "    else if (c === want) { ok = true; msg = 'check value matches'; }\n"
    "    else msg = 'check value does not match: read it back';\n"
    "    s.textContent = msg;\n"
    "    s.className = 'cv ' + (ok ? 'ok' : (msg ? 'bad' : ''));\n"
    "    all = all && ok;\n"
    "  }\n"
    "  const b = document.querySelector('#unblock button');\n"
    "  if (b) b.disabled = !all;\n"
    "}\n"
    "document.addEventListener('DOMContentLoaded', () => {\n"
    "  if (!document.getElementById('unblock')) return;\n"
    "  for (const i of document.querySelectorAll('#unblock input')) i.addEventListener('input', "
    "cfUpdate);\n"
    "  cfUpdate();\n"
    "});\n";
