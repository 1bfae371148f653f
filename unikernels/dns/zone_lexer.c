#include "zone_lexer.h"

#include <stdio.h>
#include <string.h>

void zone_lexer_init(struct zone_lexer *lx, const char *text, size_t len)
{
    lx->text = text;
    lx->len = len;
    lx->pos = 0;
    lx->line = 1;
}

static int fail(struct zone_error *err, unsigned line, const char *reason)
{
    err->line = line;
    snprintf(err->reason, sizeof(err->reason), "%s", reason);
    return -1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int ends_token(char c)
{
    return is_space(c) || c == '\n' || c == ';' || c == '(' || c == ')' || c == '"';
}

static int add_token(struct zone_entry *e, const char *text, size_t len, unsigned line,
                     int quoted, struct zone_error *err)
{
    if (e->n == ZONE_MAX_TOKENS)
        return fail(err, line, "too many fields in one entry (at most 512)");
    struct zone_token *t = &e->tokens[e->n++];
    t->text = text;
    t->len = len;
    t->line = line;
    t->quoted = (uint8_t)quoted;
    return 0;
}

int zone_lexer_next(struct zone_lexer *lx, struct zone_entry *e, struct zone_error *err)
{
    for (;;) {
        if (lx->pos >= lx->len)
            return 0;
        e->n = 0;
        e->line = lx->line;
        e->blank_owner = is_space(lx->text[lx->pos]);
        unsigned paren_line = 0; /* 0: not inside parentheses */
        for (;;) {
            if (lx->pos >= lx->len) {
                if (paren_line)
                    return fail(err, paren_line, "'(' is never closed");
                break;
            }
            char c = lx->text[lx->pos];
            if (c == '\n') {
                lx->pos++;
                lx->line++;
                if (!paren_line)
                    break;
            } else if (is_space(c)) {
                lx->pos++;
            } else if (c == ';') {
                while (lx->pos < lx->len && lx->text[lx->pos] != '\n')
                    lx->pos++;
            } else if (c == '(') {
                if (paren_line)
                    return fail(err, lx->line, "nested '('");
                paren_line = lx->line;
                lx->pos++;
            } else if (c == ')') {
                if (!paren_line)
                    return fail(err, lx->line, "')' without '('");
                paren_line = 0;
                lx->pos++;
            } else if (c == '"') {
                size_t start = ++lx->pos;
                while (lx->pos < lx->len && lx->text[lx->pos] != '"') {
                    if (lx->text[lx->pos] == '\n')
                        return fail(err, lx->line, "quoted string not closed on its line");
                    if (lx->text[lx->pos] == '\\' && lx->pos + 1 < lx->len
                        && lx->text[lx->pos + 1] != '\n')
                        lx->pos++;
                    lx->pos++;
                }
                if (lx->pos >= lx->len)
                    return fail(err, lx->line, "quoted string not closed on its line");
                if (add_token(e, lx->text + start, lx->pos - start, lx->line, 1, err) != 0)
                    return -1;
                lx->pos++;
            } else {
                size_t start = lx->pos;
                while (lx->pos < lx->len && !ends_token(lx->text[lx->pos])) {
                    if (lx->text[lx->pos] == '\\') {
                        if (lx->pos + 1 >= lx->len || lx->text[lx->pos + 1] == '\n')
                            return fail(err, lx->line, "'\\' at the end of a line");
                        lx->pos++;
                    }
                    lx->pos++;
                }
                if (add_token(e, lx->text + start, lx->pos - start, lx->line, 0, err) != 0)
                    return -1;
            }
        }
        if (e->n > 0)
            return 1;
    }
}

static int digit(char c)
{
    return c >= '0' && c <= '9';
}

long zone_token_bytes(const struct zone_token *t, uint8_t *out, size_t cap,
                      struct zone_error *err)
{
    size_t w = 0;
    for (size_t i = 0; i < t->len; i++) {
        uint8_t b = (uint8_t)t->text[i];
        if (b == '\\') {
            if (i + 1 >= t->len)
                return fail(err, t->line, "'\\' at the end of a field");
            if (digit(t->text[i + 1])) {
                if (i + 3 >= t->len || !digit(t->text[i + 2]) || !digit(t->text[i + 3]))
                    return fail(err, t->line, "\\DDD needs three decimal digits");
                unsigned v = (unsigned)(t->text[i + 1] - '0') * 100
                             + (unsigned)(t->text[i + 2] - '0') * 10
                             + (unsigned)(t->text[i + 3] - '0');
                if (v > 255)
                    return fail(err, t->line, "\\DDD value above 255");
                b = (uint8_t)v;
                i += 3;
            } else {
                b = (uint8_t)t->text[++i];
            }
        }
        if (w == cap)
            return fail(err, t->line, "field too long");
        out[w++] = b;
    }
    return (long)w;
}

int zone_token_is(const struct zone_token *t, const char *word)
{
    size_t n = strlen(word);
    if (t->quoted || t->len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = t->text[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        char w = word[i];
        if (w >= 'a' && w <= 'z')
            w = (char)(w - 'a' + 'A');
        if (c != w)
            return 0;
    }
    return 1;
}
