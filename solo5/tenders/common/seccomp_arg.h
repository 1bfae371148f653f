/* One libseccomp argument comparison, for the tenders' syscall filters. */
#ifndef SOLO5_TENDER_SECCOMP_ARG_H
#define SOLO5_TENDER_SECCOMP_ARG_H

#include <seccomp.h>

/* Argument ARG compared with OP against VALUE, every field set: libseccomp's
 * SCMP_An macros leave datum_b to the compiler, which clang's
 * -Wmissing-field-initializers (in -Wextra) rejects. */
static inline struct scmp_arg_cmp seccomp_arg(unsigned arg, enum scmp_compare op,
                                              scmp_datum_t value)
{
    return (struct scmp_arg_cmp){.arg = arg, .op = op, .datum_a = value, .datum_b = 0};
}

#endif
