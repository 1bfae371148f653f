/* The www unikernel's request path: head scanning (whole and in pieces
 * must agree), parsing (every view inside the head), and what the parsed
 * fields feed: path decoding, dates, entity tags, ranges, and the resource
 * decision against a small site. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk/device.h"
#include "blk/ustar.h"
#include "conditional.h"
#include "fuzz_util.h"
#include "http_date.h"
#include "http_request.h"
#include "resource.h"
#include "url_path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SITE_BLOCKS 16
static uint8_t site_image[SITE_BLOCKS * 512];
static struct blk_device site_dev;
static struct ustar *site;

static int read_site_block(void *ctx, uint64_t offset, uint8_t *block)
{
    (void)ctx;
    memcpy(block, site_image + offset, 512);
    return 0;
}

/* A ustar header at block `at`; returns the next free block. */
static size_t add(size_t at, const char *name, char type, size_t size)
{
    uint8_t *h = site_image + at * 512;
    snprintf((char *)h, 100, "%s", name);
    snprintf((char *)h + 100, 8, "%07o", 0644);
    snprintf((char *)h + 124, 12, "%011zo", size);
    snprintf((char *)h + 136, 12, "%011o", 1700000000);
    h[156] = (uint8_t)type;
    memcpy(h + 257, "ustar\0" "00", 8);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    memset(h + 512, 'x', size);
    return at + 1 + (size + 511) / 512;
}

static void make_site(void)
{
    size_t at = add(0, "index.html", '0', 100);
    at = add(at, "css", '5', 0);
    at = add(at, "css/a.css", '0', 700);
    at = add(at, "d/index.html", '0', 1);
    add(at, "empty", '0', 0);
    const char *why;
    char error[USTAR_ERROR_MAX];
    if (blk_device_init(&site_dev, sizeof(site_image), 512, read_site_block, NULL, &why) != 0
        || !(site = ustar_open(&site_dev, error, sizeof(error))))
        abort();
}

static void touch_slice(struct http_slice s, const uint8_t *head, size_t len)
{
    if (!s.p)
        return;
    /* views lie inside the head, except the parser's static "/" */
    if (!(s.len == 1 && s.p[0] == '/') && (s.p < head || s.p + s.len > head + len))
        abort();
    fuzz_touch(s.p, s.len);
}

static void exercise(const struct http_request *req, const uint8_t *head, size_t len)
{
    touch_slice(req->method_name, head, len);
    touch_slice(req->target, head, len);
    touch_slice(req->path, head, len);
    touch_slice(req->query, head, len);
    touch_slice(req->host, head, len);
    touch_slice(req->range, head, len);
    touch_slice(req->if_range, head, len);
    touch_slice(req->if_modified_since, head, len);
    for (unsigned i = 0; i < req->if_none_match_count; i++) {
        touch_slice(req->if_none_match[i], head, len);
        etag_list_matches(req->if_none_match[i].p, req->if_none_match[i].len, "\"1-2\"");
    }
    if (req->path.p) {
        char name[32];
        size_t name_len;
        int dir;
        if (url_path_decode(req->path.p, req->path.len, name, sizeof(name), &name_len, &dir)
                == URL_PATH_OK
            && (name_len >= sizeof(name) || strlen(name) != name_len))
            abort();
    }
    int64_t seconds;
    if (req->if_modified_since.p
        && http_date_parse(req->if_modified_since.p, req->if_modified_since.len, &seconds) == 0) {
        char text[HTTP_DATE_LEN + 1];
        http_date_format(seconds, text);
        int64_t again;
        if (seconds >= 0 && seconds < 253402300800LL
            && (http_date_parse((const uint8_t *)text, HTTP_DATE_LEN, &again) != 0
                || again != seconds))
            abort(); /* formatting and parsing agree */
    }
    if (req->range.p) {
        uint64_t first, length;
        for (uint64_t file_size = 0; file_size < 3; file_size++)
            if (range_parse(req->range.p, req->range.len, file_size, &first, &length)
                    == RANGE_SATISFIABLE
                && (length == 0 || first + length > file_size))
                abort();
    }
    if (req->if_range.p)
        if_range_holds(req->if_range.p, req->if_range.len, "\"1-2\"", 1);
    struct resource res;
    resource_resolve(site, req, &res);
    if (res.file && (res.first + res.length > res.file->size))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!site)
        make_site();
    if (size < 1)
        return 0;
    /* the first byte sets the size of the pieces the head arrives in */
    size_t step = (size_t)data[0] % 64 + 1;
    data++;
    size--;
    if (size > HTTP_HEAD_MAX)
        size = HTTP_HEAD_MAX;
    uint8_t *head = malloc(size ? size : 1); /* exact size: ASan sees any overread */
    if (!head)
        abort();
    memcpy(head, data, size);
    struct http_head_scan whole, pieces;
    memset(&whole, 0, sizeof(whole));
    memset(&pieces, 0, sizeof(pieces));
    size_t head_len = 0, head_len2 = 0;
    int status = 0, status2 = 0;
    int r = http_head_scan(&whole, head, size, &head_len, &status);
    int r2 = HTTP_HEAD_INCOMPLETE;
    for (size_t n = step < size ? step : size; r2 == HTTP_HEAD_INCOMPLETE; n += step) {
        if (n > size)
            n = size;
        r2 = http_head_scan(&pieces, head, n, &head_len2, &status2);
        if (n == size)
            break;
    }
    if (r != r2 || (r == HTTP_HEAD_COMPLETE && head_len != head_len2)
        || (r == HTTP_HEAD_ERROR && status != status2))
        abort();
    if (r == HTTP_HEAD_COMPLETE) {
        if (head_len > size)
            abort();
        struct http_request req;
        if (http_request_parse(head, head_len, &req) == 0)
            exercise(&req, head, head_len);
        else if (req.error_status != 400 && req.error_status != 431 && req.error_status != 501
                 && req.error_status != 505)
            abort();
    }
    free(head);
    return 0;
}
