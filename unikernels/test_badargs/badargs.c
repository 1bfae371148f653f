/*
 * test_badargs: passes bad handles, pointers and lengths to every API call.
 * Each must be refused (SOLO5_R_EINVAL, or silently ignored for the void
 * calls) without harming the guest or the host. Prints one line per case
 * and "SUCCESS" if every case was refused.
 */
#include "testlib.h"

static int failures;
static uint8_t buf[65536 + SOLO5_NET_HLEN];

static void expect(const char *what, solo5_result_t got, solo5_result_t want)
{
    puts_console(what);
    if (got == want)
        puts_console(want == SOLO5_R_OK ? ": ok\n" : ": refused\n");
    else
        puts_console(": UNEXPECTED RESULT\n");
    if (got != want)
        failures++;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    uintptr_t mem_end = si->heap_start + si->heap_size;
    void *null = NULL;
    void *low = (void *)0x10;
    void *boot_area = (void *)0x11000;       /* tender data below the image */
    void *text = (void *)&solo5_app_main;    /* read-only */
    void *straddle = (void *)(mem_end - 4);  /* runs past the end of memory */
    void *far = (void *)0x7fffffff0000ULL;   /* outside guest memory */
    void *bad_ptrs[] = { null, low, boot_area, straddle, far };
    const char *bad_names[] = { "NULL", "low", "boot area", "straddling end", "far" };
    const size_t n_bad = sizeof bad_ptrs / sizeof bad_ptrs[0];

    solo5_handle_t net, blk;
    struct solo5_net_info ni;
    struct solo5_block_info bi;
    if (solo5_net_acquire("service", &net, &ni) != SOLO5_R_OK ||
        solo5_block_acquire("storage", &blk, &bi) != SOLO5_R_OK) {
        puts_console("FAIL: cannot acquire the devices\n");
        return SOLO5_EXIT_FAILURE;
    }
    size_t frame = ni.mtu + SOLO5_NET_HLEN;
    size_t bs = (size_t)bi.block_size;

    /* Acquire: bad names, unknown names, wrong types, bad output pointers. */
    expect("net_acquire unknown name", solo5_net_acquire("nope", &net, &ni), SOLO5_R_EINVAL);
    expect("net_acquire block name", solo5_net_acquire("storage", &net, &ni), SOLO5_R_EINVAL);
    expect("block_acquire net name", solo5_block_acquire("service", &blk, &bi),
           SOLO5_R_EINVAL);
    expect("net_acquire output in text", solo5_net_acquire("service", text, &ni),
           SOLO5_R_EINVAL);
    expect("block_acquire info in text", solo5_block_acquire("storage", &blk, text),
           SOLO5_R_EINVAL);
    for (size_t i = 0; i < n_bad; i++) {
        puts_console(bad_names[i]);
        puts_console(" pointer:\n");
        expect("  net_acquire name", solo5_net_acquire(bad_ptrs[i], &net, &ni),
               SOLO5_R_EINVAL);
        expect("  net_acquire handle", solo5_net_acquire("service", bad_ptrs[i], &ni),
               SOLO5_R_EINVAL);
        expect("  net_acquire info", solo5_net_acquire("service", &net, bad_ptrs[i]),
               SOLO5_R_EINVAL);
        expect("  block_acquire name", solo5_block_acquire(bad_ptrs[i], &blk, &bi),
               SOLO5_R_EINVAL);
        expect("  block_acquire info", solo5_block_acquire("storage", &blk, bad_ptrs[i]),
               SOLO5_R_EINVAL);
        expect("  net_write", solo5_net_write(net, bad_ptrs[i], 60), SOLO5_R_EINVAL);
        size_t got;
        expect("  net_read buffer", solo5_net_read(net, bad_ptrs[i], frame, &got),
               SOLO5_R_EINVAL);
        expect("  net_read size out", solo5_net_read(net, buf, frame, bad_ptrs[i]),
               SOLO5_R_EINVAL);
        expect("  block_write", solo5_block_write(blk, 0, bad_ptrs[i], bs), SOLO5_R_EINVAL);
        expect("  block_read", solo5_block_read(blk, 0, bad_ptrs[i], bs), SOLO5_R_EINVAL);
        expect("  tls_init", solo5_tls_init((uintptr_t)bad_ptrs[i]), SOLO5_R_EINVAL);
        /* void calls: must neither crash nor write through the pointer */
        solo5_console_write(bad_ptrs[i], 16);
        solo5_yield(0, bad_ptrs[i]);
    }

    /* A long name that is not NUL-terminated within the name limit. */
    static char long_name[100];
    memset(long_name, 'a', sizeof long_name - 1);
    expect("net_acquire 99-character name", solo5_net_acquire(long_name, &net, &ni),
           SOLO5_R_EINVAL);

    /* Bad handles. */
    solo5_handle_t handles[] = { 0, 3, 63, 64, ~0ULL };
    for (size_t i = 0; i < sizeof handles / sizeof handles[0]; i++) {
        size_t got;
        expect("net_write bad handle", solo5_net_write(handles[i], buf, 60), SOLO5_R_EINVAL);
        expect("net_read bad handle", solo5_net_read(handles[i], buf, frame, &got),
               SOLO5_R_EINVAL);
        expect("block_write bad handle", solo5_block_write(handles[i], 0, buf, bs),
               SOLO5_R_EINVAL);
        expect("block_read bad handle", solo5_block_read(handles[i], 0, buf, bs),
               SOLO5_R_EINVAL);
    }
    size_t got;
    expect("net_write on block handle", solo5_net_write(blk, buf, 60), SOLO5_R_EINVAL);
    expect("net_read on block handle", solo5_net_read(blk, buf, frame, &got), SOLO5_R_EINVAL);
    expect("block_write on net handle", solo5_block_write(net, 0, buf, bs), SOLO5_R_EINVAL);
    expect("block_read on net handle", solo5_block_read(net, 0, buf, bs), SOLO5_R_EINVAL);

    /* Bad lengths. */
    expect("net_write over MTU", solo5_net_write(net, buf, frame + 1), SOLO5_R_EINVAL);
    expect("net_write SIZE_MAX", solo5_net_write(net, buf, SIZE_MAX), SOLO5_R_EINVAL);
    expect("net_read short buffer", solo5_net_read(net, buf, frame - 1, &got),
           SOLO5_R_EINVAL);
    expect("net_read SIZE_MAX", solo5_net_read(net, buf, SIZE_MAX, &got), SOLO5_R_EINVAL);
    expect("block_read SIZE_MAX", solo5_block_read(blk, 0, buf, SIZE_MAX), SOLO5_R_EINVAL);
    expect("block_read into text", solo5_block_read(blk, 0, text, bs), SOLO5_R_EINVAL);
    expect("block_write offset overflow", solo5_block_write(blk, ~0ULL - 511, buf, bs),
           SOLO5_R_EINVAL);
    expect("block_read past end", solo5_block_read(blk, bi.capacity, buf, bs),
           SOLO5_R_EINVAL);
    solo5_console_write((const char *)buf, SIZE_MAX);
    solo5_console_write(text, SIZE_MAX);

    /* The devices still work after all that. */
    expect("block_read still works", solo5_block_read(blk, 0, buf, bs), SOLO5_R_OK);

    if (failures != 0) {
        puts_console("FAIL: some bad calls were not refused\n");
        return SOLO5_EXIT_FAILURE;
    }
    puts_console("SUCCESS\n");
    return SOLO5_EXIT_SUCCESS;
}
