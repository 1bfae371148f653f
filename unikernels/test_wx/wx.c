/*
 * test_wx: memory protections. The command line names one attack, each of
 * which must fault: writing to text, to read-only data, or to the boot
 * information below the image, and executing code copied to the heap.
 * "none" exits 0, showing that the same image runs when it behaves.
 */
#include "testlib.h"

static const char constant[] = "read-only";

static bool is(const char *a, const char *b)
{
    return strlen(a) == strlen(b) && memcmp(a, b, strlen(a)) == 0;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    const char *attack = si->cmdline;
    puts_console("attacking: ");
    puts_console(attack);
    puts_console("\n");
    if (is(attack, "none")) {
        puts_console("SUCCESS\n");
        return SOLO5_EXIT_SUCCESS;
    }
    if (is(attack, "write-text"))
        *(volatile uint8_t *)(uintptr_t)&solo5_app_main = 0xc3;
    else if (is(attack, "write-rodata"))
        *(volatile char *)(uintptr_t)constant = 'X';
    else if (is(attack, "write-boot-info"))
        *(volatile uint64_t *)(uintptr_t)0x11000 = 0;
    else if (is(attack, "exec-heap")) {
        volatile uint8_t *code = (volatile uint8_t *)si->heap_start;
        code[0] = 0xc3; /* ret */
        void (*fn)(void) = (void (*)(void))si->heap_start;
        fn();
    } else {
        puts_console("FAIL: unknown attack\n");
        return SOLO5_EXIT_FAILURE;
    }
    puts_console("FAIL: the access was allowed\n");
    return SOLO5_EXIT_FAILURE;
}
