/* libFuzzer harness: the dns unikernel's boot-argument parser on arbitrary
 * command lines; an accepted ACL must hold only masked networks. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_args.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *cmdline = fuzz_cstring(data, size);
    if (!cmdline)
        return 0;
    struct dns_args args;
    const char *error = NULL;
    if (dns_args_parse(cmdline, &args, &error) == 0) {
        if (args.n_axfr > DNS_ACL_MAX || args.tcp_idle == 0 || args.tcp_idle > DNS_TCP_IDLE_MAX)
            abort();
        for (unsigned i = 0; i < args.n_axfr; i++)
            if ((args.axfr[i].addr & args.axfr[i].mask) != args.axfr[i].addr
                || !dns_acl_allows(&args, args.axfr[i].addr))
                abort();
    } else if (!error) {
        abort();
    }
    free(cmdline);
    return 0;
}
