/* The fatal-trap handler of the virtio and xen bindings (hvt has its own,
 * which also leaves a trap record for the tender): report the frame at
 * error level, then abort (exit status 255). */
#include "../common/bindings.h"
#include "cpu.h"

void x86_trap_handler(const struct x86_trap_frame *frame)
{
    log_printf(LOG_ERROR,
               "Solo5: trap: vector=%llu ec=0x%llx rip=0x%llx rsp=0x%llx rflags=0x%llx"
               " cr2=0x%llx\n",
               (unsigned long long)frame->vector, (unsigned long long)frame->error_code,
               (unsigned long long)frame->rip, (unsigned long long)frame->rsp,
               (unsigned long long)frame->rflags, (unsigned long long)x86_read_cr2());
    bindings_abort("fatal trap");
}
