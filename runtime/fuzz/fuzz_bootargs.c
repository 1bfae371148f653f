/* Boot-argument parser (the Solo5 command line). */
#include <stdlib.h>
#include <string.h>

#include "net/bootargs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    struct net_bootargs args;
    const char *error = NULL;
    if (net_bootargs_parse(text, &args, &error) == 0) {
        if (args.dhcp == (args.addr != 0) || args.prefix_len > 32)
            abort(); /* success promises exactly one consistent configuration */
    } else if (!error) {
        abort();
    }
    free(text);
    return 0;
}
