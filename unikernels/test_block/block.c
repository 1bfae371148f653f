/*
 * test_block: write sectors, read them back, and check that misaligned,
 * wrongly sized and out-of-range requests are refused. Sector 1 ends up
 * holding "unirepo block test" so the host can check the file.
 */
#include "testlib.h"

#define SECTORS_TESTED 8
static uint8_t wbuf[4096] __attribute__((aligned(16)));
static uint8_t rbuf[4096] __attribute__((aligned(16)));

static int fail(const char *why)
{
    puts_console("FAIL: ");
    puts_console(why);
    puts_console("\n");
    return SOLO5_EXIT_FAILURE;
}

static void fill(uint64_t sector, size_t size)
{
    for (size_t i = 0; i < size; i++)
        wbuf[i] = (uint8_t)(sector * 7 + i);
}

int solo5_app_main(const struct solo5_start_info *si)
{
    (void)si;
    solo5_handle_t h;
    struct solo5_block_info info;
    if (solo5_block_acquire("storage", &h, &info) != SOLO5_R_OK)
        return fail("cannot acquire block device 'storage'");
    puts_console("capacity: ");
    put_u64(info.capacity);
    puts_console(" block_size: ");
    put_u64(info.block_size);
    puts_console("\n");
    size_t bs = (size_t)info.block_size;
    if (bs == 0 || bs > sizeof wbuf || info.capacity < SECTORS_TESTED * bs)
        return fail("device too small for the test");
    uint64_t last = info.capacity - bs;

    for (uint64_t s = 0; s < SECTORS_TESTED; s++) {
        fill(s, bs);
        if (solo5_block_write(h, s * bs, wbuf, bs) != SOLO5_R_OK)
            return fail("write refused");
    }
    fill(999, bs);
    if (solo5_block_write(h, last, wbuf, bs) != SOLO5_R_OK)
        return fail("write to the last sector refused");
    for (uint64_t s = 0; s < SECTORS_TESTED; s++) {
        fill(s, bs);
        if (solo5_block_read(h, s * bs, rbuf, bs) != SOLO5_R_OK)
            return fail("read refused");
        if (memcmp(wbuf, rbuf, bs) != 0)
            return fail("read back differs from what was written");
    }
    fill(999, bs);
    if (solo5_block_read(h, last, rbuf, bs) != SOLO5_R_OK || memcmp(wbuf, rbuf, bs) != 0)
        return fail("last sector differs");
    puts_console("write/read back: ok\n");

    static const char marker[] = "unirepo block test";
    memset(wbuf, 0, bs);
    memcpy(wbuf, marker, sizeof marker - 1);
    if (solo5_block_write(h, bs, wbuf, bs) != SOLO5_R_OK)
        return fail("marker write refused");

    struct {
        const char *what;
        solo5_off_t offset;
        size_t size;
    } bad[] = {
        { "offset at capacity", info.capacity, bs },
        { "offset past capacity", info.capacity + bs, bs },
        { "offset overflowing", UINT64_MAX - bs + 1, bs },
        { "misaligned offset", 1, bs },
        { "two blocks", 0, 2 * bs },
        { "half a block", 0, bs / 2 },
        { "empty", 0, 0 },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        solo5_result_t rr = solo5_block_read(h, bad[i].offset, rbuf, bad[i].size);
        solo5_result_t rw = solo5_block_write(h, bad[i].offset, wbuf, bad[i].size);
        puts_console(bad[i].what);
        puts_console(rr == SOLO5_R_EINVAL && rw == SOLO5_R_EINVAL ? ": refused\n"
                                                                  : ": ACCEPTED\n");
        if (rr != SOLO5_R_EINVAL || rw != SOLO5_R_EINVAL)
            return fail("a bad request was accepted");
    }
    puts_console("SUCCESS\n");
    return SOLO5_EXIT_SUCCESS;
}
