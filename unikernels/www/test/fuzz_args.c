/* libFuzzer harness: www's boot-argument parser (args.c on the runtime's
 * net/bootargs.h parsers) on arbitrary command lines. Success promises
 * every value inside its documented range; a refusal names the reason. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *cmdline = fuzz_cstring(data, size);
    if (!cmdline)
        return 0;
    struct www_config cfg;
    const char *error = NULL;
    if (www_args_parse(cmdline, &cfg, &error) == 0) {
        if (cfg.port < 1 || cfg.port > 65535 || cfg.max_age < -1 || cfg.max_age > 315360000
            || cfg.max_connections < 1 || cfg.max_connections > 16384 || cfg.idle_timeout < 1
            || cfg.idle_timeout > 86400 || cfg.header_timeout < 1 || cfg.header_timeout > 86400
            || cfg.cache_mb > 4096 || (cfg.access_log != 0 && cfg.access_log != 1))
            abort();
    } else if (!error || strchr(error, '\n')) {
        abort();
    }
    free(cmdline);
    return 0;
}
