/* Splits an RFC 1035 master file (section 5.1) into entries: one line, or
 * several joined by parentheses, as a list of tokens. Comments (';' to the
 * end of the line) are dropped; "quoted strings" are one token; escapes
 * (\X, \DDD) stay in the token text for the caller to decode, but an
 * escaped character never ends a token. */
#ifndef DNS_ZONE_LEXER_H
#define DNS_ZONE_LEXER_H

#include <stddef.h>
#include <stdint.h>

#include "zone.h"

#define ZONE_MAX_TOKENS 512 /* per entry; bounds the parser's work per line */

struct zone_token {
    const char *text; /* inside the file buffer; quotes not included */
    size_t len;
    unsigned line;
    uint8_t quoted;
};

struct zone_entry {
    struct zone_token tokens[ZONE_MAX_TOKENS];
    size_t n;
    unsigned line;       /* where the entry starts */
    uint8_t blank_owner; /* the line started with white space */
};

struct zone_lexer {
    const char *text;
    size_t len;
    size_t pos;
    unsigned line;
};

void zone_lexer_init(struct zone_lexer *lx, const char *text, size_t len);

/* 1 and the next non-empty entry, 0 at the end of the file, -1 on error. */
int zone_lexer_next(struct zone_lexer *lx, struct zone_entry *entry, struct zone_error *err);

/* Decodes a token's escapes into out (cap bytes). The length, or -1 with
 * err set (bad \DDD, too long). */
long zone_token_bytes(const struct zone_token *t, uint8_t *out, size_t cap,
                      struct zone_error *err);

/* 1 if the token is exactly word, ignoring ASCII case (and not quoted). */
int zone_token_is(const struct zone_token *t, const char *word);

#endif
