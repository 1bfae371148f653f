/* Presentation form to wire form for the fields of a master file entry:
 * names (RFC 1035 5.1: '@', relative names, escapes), TTLs (RFC 2308 4,
 * with the BIND/NSD unit suffixes s m h d w), and the RDATA of the types
 * served. Every failure names the field and what was wrong. */
#ifndef DNS_ZONE_RDATA_H
#define DNS_ZONE_RDATA_H

#include <stddef.h>
#include <stdint.h>

#include "zone.h"
#include "zone_lexer.h"

/* A name token, relative to origin unless it ends in an unescaped '.'. */
int zone_parse_name(const struct zone_token *t, const struct dname *origin, struct dname *out,
                    struct zone_error *err);

/* A TTL or SOA timer: decimal seconds or units (1h30m); at most 2^31-1. */
int zone_parse_ttl(const struct zone_token *t, uint32_t *out, struct zone_error *err);

/* The type mnemonic of a served type, or 0 if t is not one. */
uint16_t zone_type_from_token(const struct zone_token *t);

/* RDATA of type from tokens[0..n) into out (ZONE_RDATA_MAX bytes); its
 * length, or -1 with err set. */
long zone_parse_rdata(uint16_t type, const struct zone_token *tokens, size_t n,
                      const struct dname *origin, uint8_t *out, struct zone_error *err);

#endif
