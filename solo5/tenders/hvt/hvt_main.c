/*
 * solo5-hvt [--mem=MB] [--net:NAME=TAP] [--block:NAME=FILE] [--no-extensions]
 *           KERNEL [ARGS]
 *
 * Start-up order (solo5.md §2.9, §3.1): the common tender checks the
 * notes, the manifest and the devices; then KVM, the ELF segments with
 * their host protections, vCPU state, the boot info, the sandbox, and
 * finally the run loop, whose HALT status becomes our exit status.
 */
#include "hvt.h"
#include "../common/tender.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <unistd.h>

#define MIB (1ULL << 20)
/* solo5_abort(), traps and failed stack checks halt with this status. */
#define HVT_EXIT_ABORT 255

/* --no-extensions: behave exactly like an upstream tender (compatibility
 * testing of our images); otherwise offer both unirepo extensions. */
static uint32_t host_features = HVT_FEATURE_USER_MODE | HVT_FEATURE_MMIO_HYPERCALL;

#ifdef HVT_DEBUG
/* solo5-hvt-debug only, as upstream: --dumpcore=DIR. */
static const char *dumpcore_dir;
#define HVT_PROG "solo5-hvt-debug"
#define HVT_DEBUG_USAGE "  --dumpcore=DIR               on abort or trap, write an ELF core of the\n" \
                        "                               guest for gdb into DIR (not sandboxed)\n"
#else
#define HVT_PROG "solo5-hvt"
#define HVT_DEBUG_USAGE ""
#endif

static int handle_option(const char *arg)
{
#ifdef HVT_DEBUG
    if (strncmp(arg, "--dumpcore=", 11) == 0) {
        dumpcore_dir = arg + 11;
        if (dumpcore_dir[0] == '\0')
            hvt_die("--dumpcore=: needs a directory");
        return 0;
    }
#endif
    if (strcmp(arg, "--no-extensions") != 0)
        return 1;
    host_features = 0;
    return 0;
}

static const struct tender_target hvt_target = {
    .prog = HVT_PROG,
    .name = "hvt",
    .abi_target = ABI_TARGET_HVT,
    .abi_version = HVT_ABI_VERSION,
    .default_mem = 512 * MIB, /* upstream's default (§3.1) */
    .max_mem = HVT_MEM_MAX,
    .mem_align = HVT_LARGE_PAGE_SIZE,
    .extra_usage = "  --no-extensions              offer the guest upstream's hvt ABI only (no\n"
                   "                               user mode, no MMIO hypercalls)\n"
                   HVT_DEBUG_USAGE,
    .net_offload = 1,
    .plain_option = "--no-extensions", /* upstream tenders grant no offload */
    .handle_option = handle_option,
};

void hvt_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("solo5-hvt: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void on_signal(int signo)
{
    /* Only async-signal-safe calls: a fixed message and _exit. */
    char msg[] = "solo5-hvt: Exiting on signal NN\n";
    size_t digits = sizeof msg - 4;
    msg[digits] = (char)('0' + signo / 10 % 10);
    msg[digits + 1] = (char)('0' + signo % 10);
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    _exit(1);
}

/*
 * Host protections per segment (§3.12): writable segments stay RW, all
 * others become PROT_READ (KVM needs no host PROT_EXEC to execute them);
 * a guest write to them then fails KVM_RUN with EFAULT. The host itself
 * must not write there either, so they are recorded as read-only ranges.
 */
static void protect_segments(struct hvt *h, const struct elf_image *img)
{
    for (size_t i = 0; i < img->n_segments; i++) {
        const struct elf_segment *seg = &img->segments[i];
        if (seg->flags & ELF_SEG_W)
            continue;
        if (mprotect(h->mem + seg->start, seg->end - seg->start, PROT_READ) < 0)
            hvt_die("mprotect guest segment: %s", strerror(errno));
        hvt_add_ro_range(h, seg->start, seg->end);
    }
}

static void collect_devices(struct hvt *h, const struct mft *mft)
{
    for (uint32_t i = 1; i < mft->entries && i < HVT_MAX_DEVICES; i++) {
        const struct mft_entry *e = &mft->e[i];
        if (!e->attached)
            continue;
        if (e->type == MFT_DEV_NET_BASIC) {
            h->dev[i] = (struct hvt_device){ .kind = HVT_DEV_NET, .fd = e->b.hostfd };
        } else if (e->type == MFT_DEV_BLOCK_BASIC) {
            h->dev[i] = (struct hvt_device){
                .kind = HVT_DEV_BLOCK,
                .fd = e->b.hostfd,
                .capacity = e->u.block_basic.capacity,
                .block_size = e->u.block_basic.block_size,
            };
        }
    }
}

int main(int argc, char **argv)
{
    static struct tender tender;
    static struct hvt hvt;
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A closed console must not kill the tender: PUTS is best effort. */
    signal(SIGPIPE, SIG_IGN);

    tender_init(&tender, argc, argv, &hvt_target);

    /* Guest pages must never be executable on the host. */
    int persona = personality(0xffffffff);
    if (persona != -1 && (persona & READ_IMPLIES_EXEC))
        hvt_die("refusing to run with the READ_IMPLIES_EXEC personality");

    hvt.host_features = host_features;
    hvt_kvm_init(&hvt, tender.mem_size);

    struct elf_image img;
    const char *err = elf_load(&tender.image, hvt.mem, 0, hvt.mem_size, &img);
    if (err != NULL)
        hvt_die("%s: %s", tender.kernel_path, err);
    elf_file_close(&tender.image);
    hvt.kernel_entry = img.entry;
    hvt.kernel_end = img.kernel_end;
    protect_segments(&hvt, &img);

    collect_devices(&hvt, tender.mft);
    hvt_kvm_setup_vcpu(&hvt);
    hvt_io_init(&hvt);

    static char cmdline[HVT_CMDLINE_SIZE];
    tender_cmdline(&tender, cmdline, sizeof cmdline);
    hvt_write_boot_info(&hvt, tender.mft, tender.mft_size, cmdline);

#ifdef HVT_DEBUG
    /* As upstream's debug tender: no sandbox, the core is written after the
     * guest halts. */
    int status = hvt_kvm_run(&hvt);
    if (dumpcore_dir != NULL && status == HVT_EXIT_ABORT)
        hvt_dumpcore(&hvt, dumpcore_dir);
    return status;
#else
    hvt_sandbox(&hvt);
    return hvt_kvm_run(&hvt);
#endif
}
