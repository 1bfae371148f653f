/* What a request asks of the site: the status, the file and the bytes of
 * it to send (RFC 9110 sections 9.3.1-9.3.2, 13.2.2 and 14). Pure: the
 * archive index in, a decision out. */
#ifndef WWW_RESOURCE_H
#define WWW_RESOURCE_H

#include <stdint.h>

#include "blk/ustar.h"
#include "conditional.h"
#include "http_request.h"

/* the longest archive name and "/index.html" */
#define RESOURCE_NAME_MAX 300u

struct resource {
    int status;                     /* 200 206 301 304 400 403 404 405 416 501 */
    const struct ustar_entry *file; /* 200, 206, 304, 416 */
    uint64_t first, length;         /* the bytes of file to send (200, 206) */
    char etag[ETAG_MAX];            /* with file */
    char name[RESOURCE_NAME_MAX];   /* 301: the directory's archive name */
};

void resource_resolve(const struct ustar *site, const struct http_request *req,
                      struct resource *out);

#endif
