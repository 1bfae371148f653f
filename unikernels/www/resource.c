/* Request to resource (see resource.h). */
#include "resource.h"

#include <string.h>

#include "http_date.h"
#include "url_path.h"

#define INDEX_NAME "index.html"

/* RFC 9110 section 13.2.2: If-None-Match first; If-Modified-Since only
 * without it, and only a single valid date (section 13.1.3). */
static int not_modified(const struct http_request *req, const struct resource *r)
{
    if (req->if_none_match_count > 0) {
        for (unsigned i = 0; i < req->if_none_match_count; i++)
            if (etag_list_matches(req->if_none_match[i].p, req->if_none_match[i].len, r->etag))
                return 1;
        return 0;
    }
    int64_t since;
    if (req->if_modified_since_count != 1
        || http_date_parse(req->if_modified_since.p, req->if_modified_since.len, &since) != 0)
        return 0;
    return since >= 0 && r->file->mtime <= (uint64_t)since;
}

static void serve_file(const struct http_request *req, const struct ustar_entry *e,
                       struct resource *out)
{
    out->file = e;
    etag_format(e->mtime, e->size, out->etag);
    if (not_modified(req, out)) {
        out->status = 304;
        return;
    }
    out->status = 200;
    out->first = 0;
    out->length = e->size;
    /* RFC 9110 section 14.2: Range only for GET, evaluated after the
     * preconditions; If-Range decides whether it applies. */
    if (req->method != HTTP_GET || req->range_count != 1)
        return;
    if (req->if_range_count > 1
        || (req->if_range_count == 1
            && !if_range_holds(req->if_range.p, req->if_range.len, out->etag, e->mtime)))
        return;
    switch (range_parse(req->range.p, req->range.len, e->size, &out->first, &out->length)) {
    case RANGE_SATISFIABLE:
        out->status = 206;
        break;
    case RANGE_UNSATISFIABLE:
        out->status = 416;
        out->first = 0;
        out->length = 0;
        break;
    case RANGE_IGNORE:
        break;
    }
}

void resource_resolve(const struct ustar *site, const struct http_request *req,
                      struct resource *out)
{
    memset(out, 0, sizeof(*out));
    if (req->method == HTTP_KNOWN_OTHER) {
        out->status = 405; /* with Allow: GET, HEAD */
        return;
    }
    if (req->method == HTTP_UNKNOWN) {
        out->status = 501; /* RFC 9110 section 9.1 */
        return;
    }
    if (req->form == HTTP_ASTERISK_FORM) {
        out->status = 400; /* "*" is for OPTIONS only (RFC 9112 section 3.2.4) */
        return;
    }
    char *name = out->name;
    size_t len;
    int dir;
    int r = url_path_decode(req->path.p, req->path.len, name, sizeof(out->name) - sizeof(INDEX_NAME),
                            &len, &dir);
    if (r == URL_PATH_BAD) {
        out->status = 400;
        return;
    }
    if (r == URL_PATH_TOO_LONG) {
        out->status = 404;
        return;
    }
    if (dir) {
        size_t base = len;
        if (len > 0)
            name[len++] = '/';
        memcpy(name + len, INDEX_NAME, sizeof(INDEX_NAME));
        len += sizeof(INDEX_NAME) - 1;
        const struct ustar_entry *index = ustar_find(site, name, len);
        if (index && index->type == USTAR_FILE)
            serve_file(req, index, out);
        else /* a directory without an index is not listed (as nginx: 403) */
            out->status = ustar_is_directory(site, name, base) ? 403 : 404;
        return;
    }
    const struct ustar_entry *e = ustar_find(site, name, len);
    if (e && e->type == USTAR_FILE)
        serve_file(req, e, out);
    else if (ustar_is_directory(site, name, len))
        out->status = 301; /* to the path with its slash */
    else
        out->status = 404;
}
