/*
 * Static TLS for one thread (§1.4). x86_64 uses TLS variant II: the
 * .tdata/.tbss block sits just below the thread pointer, which points at
 * an 8-byte TCB holding its own address. The linker script exports
 * _stdata (start of .tdata), _ltdata and _ltbss (their sizes).
 */
#include "bindings.h"

extern const char _stdata[];
extern const char _ltdata[];
extern const char _ltbss[];

#define TLS_TCB_SIZE 8

static size_t tls_data_size(void)
{
    return (size_t)(uintptr_t)_ltdata + (size_t)(uintptr_t)_ltbss;
}

size_t solo5_tls_size(void)
{
    return tls_data_size() + TLS_TCB_SIZE;
}

uintptr_t solo5_tls_tp_offset(uintptr_t tls)
{
    return tls + tls_data_size();
}

solo5_result_t solo5_tls_init(uintptr_t tls)
{
    if (!guest_writable_ok((const void *)tls, solo5_tls_size()))
        return SOLO5_R_EINVAL;
    size_t tdata = (size_t)(uintptr_t)_ltdata;
    memcpy((void *)tls, _stdata, tdata);
    memset((char *)tls + tdata, 0, (size_t)(uintptr_t)_ltbss);
    uintptr_t tp = solo5_tls_tp_offset(tls);
    memcpy((void *)tp, &tp, sizeof tp);
    return SOLO5_R_OK;
}

solo5_result_t solo5_set_tls_base(uintptr_t base)
{
    return platform_set_tls_base(base);
}
