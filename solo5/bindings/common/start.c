/*
 * The start sequence shared by every target (§1.2) and the two
 * anti-footgun sections every image carries (§2.6).
 */
#include "bindings.h"

/* Makes a host kernel refuse to exec the image (trailing slash: even an
 * executable /nonexistent/solo5 would not be used). */
const char solo5_interp[24] __attribute__((section(".interp"), aligned(8), used)) =
    "/nonexistent/solo5/";

/* Fake OpenBSD NT_VERSION note, so OpenBSD honours PT_INTERP instead of
 * running the file with /bin/sh. Must be the first PT_NOTE. */
struct openbsd_note {
    uint32_t n_namesz, n_descsz, n_type;
    char name[8];
    uint32_t desc;
};
const struct openbsd_note solo5_not_openbsd
    __attribute__((section(".note.solo5.not_openbsd"), aligned(4), used)) = {
        .n_namesz = 8, .n_descsz = 4, .n_type = 1, .name = "OpenBSD", .desc = 0 };

extern char _end[];

static struct solo5_start_info start_info;
/* The tender's copy is read-only on some targets; options are removed here. */
static char cmdline[PLATFORM_CMDLINE_SIZE];

static bool token_is(const char *tok, size_t len, const char *word)
{
    size_t n = strlen(word);
    return len == n && memcmp(tok, word, n) == 0;
}

/* Apply --solo5:LEVEL tokens and copy the rest, single-space separated. */
static void parse_cmdline(const char *src)
{
    static const char *const levels[] = { "quiet", "error", "warn", "info", "debug" };
    static const char prefix[] = "--solo5:";
    size_t out = 0;
    size_t i = 0;
    while (i < PLATFORM_CMDLINE_SIZE && src[i] != '\0') {
        if (src[i] == ' ') {
            i++;
            continue;
        }
        size_t start = i;
        while (i < PLATFORM_CMDLINE_SIZE && src[i] != '\0' && src[i] != ' ')
            i++;
        const char *tok = &src[start];
        size_t len = i - start;
        if (len > sizeof prefix - 1 && memcmp(tok, prefix, sizeof prefix - 1) == 0) {
            for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
                if (token_is(tok + sizeof prefix - 1, len - (sizeof prefix - 1), levels[l]))
                    log_level = (enum log_level)l;
            }
            continue;
        }
        if (out != 0 && out < sizeof cmdline - 1)
            cmdline[out++] = ' ';
        for (size_t k = 0; k < len && out < sizeof cmdline - 1; k++)
            cmdline[out++] = tok[k];
    }
    cmdline[out] = '\0';
}

void _start(void *boot_arg) __attribute__((noreturn, no_stack_protector));
void _start(void *boot_arg)
{
    ssp_init();

    struct platform_boot boot;
    platform_init(boot_arg, &boot);
    guest_mem_size = boot.mem_size;
    bindings_mft = boot.mft;
    parse_cmdline(boot.cmdline);

    log_printf(LOG_INFO, "Solo5: unirepo bindings, ABI v2\n");

    uint64_t heap_start = ((uintptr_t)_end + SOLO5_PAGE_SIZE - 1) & ~(SOLO5_PAGE_SIZE - 1);
    if (heap_start > boot.mem_size || boot.mem_size - heap_start < SOLO5_MIN_HEAP)
        bindings_abort("Not enough memory");
    start_info.cmdline = cmdline;
    start_info.heap_start = heap_start;
    start_info.heap_size = boot.mem_size - heap_start;
    log_printf(LOG_DEBUG, "Solo5: heap @%p, %zu bytes\n", (void *)start_info.heap_start,
               start_info.heap_size);

    solo5_exit(solo5_app_main(&start_info));
}
