/*
 * desc_lines.c - line checks in front of inih; see desc_lines.h.
 */
#include <string.h>

#include "desc/desc_lines.h"
#include "util/utf8.h"

static int blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Returns the checked line for inih; an empty string when rejected. */
static void check_line(struct desc_lines *L, const char *s, size_t n, char *out, int num)
{
    out[0] = 0;
    if (n > 0 && s[n - 1] == '\r')
        n--;
    if (memchr(s, 0, n) != NULL) {
        cf_diag_add(L->diags, CF_SEV_ERROR, L->file, L->lineno, "NUL byte in line");
        return;
    }
    if (cf_utf8_check((const uint8_t *)s, n, NULL) != CF_UTF8_OK) {
        cf_diag_add(L->diags, CF_SEV_ERROR, L->file, L->lineno,
                    "line is not valid UTF-8 text");
        return;
    }
    if (n > CF_DESC_MAX_LINE || n + 2 > (size_t)num) {
        cf_diag_add(L->diags, CF_SEV_ERROR, L->file, L->lineno,
                    "line is %zu bytes long; the limit is %d", n, CF_DESC_MAX_LINE);
        return;
    }
    while (n > 0 && blank(*s)) {
        s++;
        n--;
    }
    while (n > 0 && blank(s[n - 1]))
        n--;
    if (n == 0 || s[0] == ';' || s[0] == '#')
        return;
    L->content_lines++;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (close == NULL) {
            cf_diag_add(L->diags, CF_SEV_ERROR, L->file, L->lineno,
                        "section header without a closing ']'");
            return;
        }
        L->on_section(L->ctx, s + 1, (size_t)(close - s - 1), L->lineno);
    } else if (memchr(s, '=', n) == NULL && memchr(s, ':', n) == NULL) {
        cf_diag_add(L->diags, CF_SEV_ERROR, L->file, L->lineno,
                    "expected KEY=VALUE, a [Section] or a ; comment");
        return;
    }
    memcpy(out, s, n);
    out[n] = '\n';
    out[n + 1] = 0;
}

char *cf_desc_read_line(char *str, int num, void *stream)
{
    struct desc_lines *L = stream;
    if (L->pos >= L->len || num < 3)
        return NULL;
    const char *start = L->data + L->pos;
    size_t left = L->len - L->pos;
    const char *nl = memchr(start, '\n', left);
    size_t n = nl ? (size_t)(nl - start) : left;
    L->pos += nl ? n + 1 : n;
    L->lineno++;
    if (L->lineno == 1 && n >= 3 && memcmp(start, "\xEF\xBB\xBF", 3) == 0) {
        start += 3; /* UTF-8 byte order mark */
        n -= 3;
    }
    check_line(L, start, n, str, num);
    return str;
}
