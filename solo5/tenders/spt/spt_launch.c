/* Entering the guest: set the stack, pass the boot info, jump (§4.3). */
#include "spt.h"

void spt_launch(uint64_t entry, uint64_t sp, uint64_t boot_info)
{
#if defined(__x86_64__)
    __asm__ __volatile__("mov %0, %%rsp\n\t"
                         "xor %%ebp, %%ebp\n\t"
                         "jmp *%2\n\t"
                         :
                         : "r"(sp), "D"(boot_info), "r"(entry)
                         : "memory");
#else
#error "spt_launch: unsupported architecture"
#endif
    __builtin_unreachable();
}
