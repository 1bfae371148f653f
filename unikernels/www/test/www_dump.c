/* Host driver for the www unikernel's pure modules; tests/www/test_http_units.py
 * feeds it inputs and compares exact outputs.
 *
 *   www_dump request            < HEAD     scan (whole and byte by byte) and parse
 *   www_dump resolve ARCHIVE    < HEAD     the resource a request gets from a site
 *   www_dump path PATH                     percent-decoding to an archive name
 *   www_dump date-format SECONDS | date-parse TEXT | clf SECONDS
 *   www_dump mime NAME
 *   www_dump range SPEC SIZE | etag MTIME SIZE | inm LIST ETAG | if-range VALUE ETAG MTIME
 *   www_dump args CMDLINE
 *   www_dump log IP SECONDS STATUS BYTES < REQUEST-LINE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_log.h"
#include "args.h"
#include "blk/device.h"
#include "blk/ustar.h"
#include "conditional.h"
#include "http_date.h"
#include "http_request.h"
#include "mime.h"
#include "resource.h"
#include "url_path.h"

static uint8_t input[HTTP_HEAD_MAX * 2];

static size_t read_stdin(void)
{
    return fread(input, 1, sizeof(input), stdin);
}

static void print_slice(const char *label, struct http_slice s)
{
    printf("%s ", label);
    if (!s.p) {
        printf("none\n");
        return;
    }
    fwrite(s.p, 1, s.len, stdout);
    printf("\n");
}

static int scan_whole(size_t len, size_t *head_len, int *status)
{
    struct http_head_scan scan;
    memset(&scan, 0, sizeof(scan));
    return http_head_scan(&scan, input, len, head_len, status);
}

static int scan_bytewise(size_t len, size_t *head_len, int *status)
{
    struct http_head_scan scan;
    memset(&scan, 0, sizeof(scan));
    int r = HTTP_HEAD_INCOMPLETE;
    for (size_t n = 1; n <= len && r == HTTP_HEAD_INCOMPLETE; n++)
        r = http_head_scan(&scan, input, n, head_len, status);
    return r;
}

static const char *method_name(enum http_method m)
{
    switch (m) {
    case HTTP_GET: return "GET";
    case HTTP_HEAD: return "HEAD";
    case HTTP_KNOWN_OTHER: return "known-other";
    default: return "unknown";
    }
}

static int cmd_request(void)
{
    size_t len = read_stdin(), head_len = 0, head_len2 = 0;
    int status = 0, status2 = 0;
    int r = scan_whole(len, &head_len, &status);
    int r2 = scan_bytewise(len, &head_len2, &status2);
    if (r != r2 || head_len != head_len2 || status != status2) {
        printf("scan differs byte by byte\n");
        return 1;
    }
    if (r == HTTP_HEAD_INCOMPLETE) {
        printf("scan incomplete\n");
        return 0;
    }
    if (r == HTTP_HEAD_ERROR) {
        printf("scan error %d\n", status);
        return 0;
    }
    printf("scan complete %zu\n", head_len);
    struct http_request req;
    if (http_request_parse(input, head_len, &req) != 0) {
        printf("parse error %d\n", req.error_status);
        return 0;
    }
    static const char *const forms[] = { "origin", "absolute", "asterisk" };
    printf("method %s\n", method_name(req.method));
    print_slice("method-name", req.method_name);
    print_slice("target", req.target);
    printf("form %s\n", forms[req.form]);
    print_slice("path", req.path);
    print_slice("query", req.query);
    printf("version 1.%u\nkeep-alive %d\n", req.version_minor, req.keep_alive);
    print_slice("host", req.host);
    if (req.has_content_length)
        printf("content-length %llu\n", (unsigned long long)req.content_length);
    printf("transfer-encoding %d\n", req.has_transfer_encoding);
    for (unsigned i = 0; i < req.if_none_match_count; i++)
        print_slice("if-none-match", req.if_none_match[i]);
    if (req.if_modified_since_count)
        print_slice("if-modified-since", req.if_modified_since);
    if (req.range_count)
        print_slice("range", req.range);
    if (req.if_range_count)
        print_slice("if-range", req.if_range);
    return 0;
}

struct file_device {
    FILE *f;
    uint32_t block_size;
};

static int read_file_block(void *ctx, uint64_t offset, uint8_t *block)
{
    const struct file_device *d = ctx;
    if (fseek(d->f, (long)offset, SEEK_SET) != 0)
        return -1;
    return fread(block, 1, d->block_size, d->f) == d->block_size ? 0 : -1;
}

static int cmd_resolve(const char *archive)
{
    struct file_device fd = { fopen(archive, "rb"), 512 };
    if (!fd.f || fseek(fd.f, 0, SEEK_END) != 0)
        return 2;
    struct blk_device dev;
    const char *why;
    char error[USTAR_ERROR_MAX];
    if (blk_device_init(&dev, (uint64_t)ftell(fd.f), 512, read_file_block, &fd, &why) != 0)
        return 2;
    struct ustar *site = ustar_open(&dev, error, sizeof(error));
    if (!site) {
        printf("site %s\n", error);
        return 1;
    }
    size_t len = read_stdin(), head_len;
    int status;
    struct http_request req;
    if (scan_whole(len, &head_len, &status) != HTTP_HEAD_COMPLETE
        || http_request_parse(input, head_len, &req) != 0) {
        printf("bad request\n");
        return 1;
    }
    struct resource res;
    resource_resolve(site, &req, &res);
    printf("status %d\n", res.status);
    if (res.file)
        printf("file %s etag %s first %llu length %llu\n", res.file->name, res.etag,
               (unsigned long long)res.first, (unsigned long long)res.length);
    if (res.status == 301)
        printf("redirect %s\n", res.name);
    ustar_close(site);
    blk_device_fini(&dev);
    fclose(fd.f);
    return 0;
}

static int cmd_path(const char *path)
{
    char out[64];
    size_t len;
    int dir;
    int r = url_path_decode((const uint8_t *)path, strlen(path), out, sizeof(out), &len, &dir);
    if (r == URL_PATH_BAD)
        printf("bad\n");
    else if (r == URL_PATH_TOO_LONG)
        printf("too-long\n");
    else
        printf("name [%s] dir %d\n", out, dir);
    return 0;
}

static int cmd_date_parse(const char *text)
{
    int64_t seconds;
    if (http_date_parse((const uint8_t *)text, strlen(text), &seconds) != 0)
        printf("invalid\n");
    else
        printf("%lld\n", (long long)seconds);
    return 0;
}

static int cmd_range(const char *spec, const char *size)
{
    uint64_t first = 0, length = 0;
    static const char *const names[] = { "ignore", "satisfiable", "unsatisfiable" };
    enum range_result r = range_parse((const uint8_t *)spec, strlen(spec),
                                      strtoull(size, NULL, 10), &first, &length);
    printf("%s", names[r]);
    if (r == RANGE_SATISFIABLE)
        printf(" %llu %llu", (unsigned long long)first, (unsigned long long)length);
    printf("\n");
    return 0;
}

static int cmd_args(const char *cmdline)
{
    struct www_config cfg;
    const char *error;
    if (www_args_parse(cmdline, &cfg, &error) != 0) {
        printf("error %s\n", error);
        return 0;
    }
    printf("port %u max-age %lld access-log %d max-connections %u idle %u header %u cache %u\n",
           cfg.port, cfg.max_age, cfg.access_log, cfg.max_connections, cfg.idle_timeout,
           cfg.header_timeout, cfg.cache_mb);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *cmd = argv[1];
    if (strcmp(cmd, "request") == 0)
        return cmd_request();
    if (strcmp(cmd, "resolve") == 0 && argc == 3)
        return cmd_resolve(argv[2]);
    if (strcmp(cmd, "path") == 0 && argc == 3)
        return cmd_path(argv[2]);
    if (strcmp(cmd, "date-format") == 0 && argc == 3) {
        char out[HTTP_DATE_LEN + 1];
        http_date_format(strtoll(argv[2], NULL, 10), out);
        printf("%s\n", out);
        return 0;
    }
    if (strcmp(cmd, "clf") == 0 && argc == 3) {
        char out[CLF_DATE_LEN + 1];
        http_date_clf(strtoll(argv[2], NULL, 10), out);
        printf("%s\n", out);
        return 0;
    }
    if (strcmp(cmd, "date-parse") == 0 && argc == 3)
        return cmd_date_parse(argv[2]);
    if (strcmp(cmd, "mime") == 0 && argc == 3) {
        printf("%s\n", mime_type(argv[2], strlen(argv[2])));
        return 0;
    }
    if (strcmp(cmd, "range") == 0 && argc == 4)
        return cmd_range(argv[2], argv[3]);
    if (strcmp(cmd, "etag") == 0 && argc == 4) {
        char etag[ETAG_MAX];
        etag_format(strtoull(argv[2], NULL, 10), strtoull(argv[3], NULL, 10), etag);
        printf("%s\n", etag);
        return 0;
    }
    if (strcmp(cmd, "inm") == 0 && argc == 4) {
        printf("%d\n", etag_list_matches((const uint8_t *)argv[2], strlen(argv[2]), argv[3]));
        return 0;
    }
    if (strcmp(cmd, "if-range") == 0 && argc == 5) {
        printf("%d\n", if_range_holds((const uint8_t *)argv[2], strlen(argv[2]), argv[3],
                                      strtoull(argv[4], NULL, 10)));
        return 0;
    }
    if (strcmp(cmd, "args") == 0 && argc == 3)
        return cmd_args(argv[2]);
    if (strcmp(cmd, "log") == 0 && argc == 6) {
        size_t len = read_stdin();
        char line[ACCESS_LOG_LINE_MAX];
        size_t n = access_log_format(line, (uint32_t)strtoul(argv[2], NULL, 10),
                                     strtoll(argv[3], NULL, 10), input, len,
                                     atoi(argv[4]), strtoull(argv[5], NULL, 10));
        fwrite(line, 1, n, stdout);
        return 0;
    }
    return 2;
}
