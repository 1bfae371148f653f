/* solo5-spt start-up (solo5.md §4.1-4.3). */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../../include/abi/spt_abi.h"
#include "spt.h"

#define MIB (1024ULL * 1024ULL)

/* --x-exec-heap (upstream's name, §4.5): the heap and stack become RWX,
 * for guests that generate code. Off by default: W^X holds everywhere. */
static bool exec_heap;

static int handle_option(const char *arg)
{
    if (strcmp(arg, "--x-exec-heap") != 0)
        return 1;
    exec_heap = true;
    return 0;
}

static const struct tender_target spt_target = {
    .prog = "solo5-spt",
    .name = "spt",
    .abi_target = ABI_TARGET_SPT,
    .abi_version = SPT_ABI_VERSION,
    .default_mem = 512 * MIB, /* upstream's default (§3.1) */
    .max_mem = 4096 * MIB,
    .mem_align = MIB,
    .extra_usage = "  --x-exec-heap                make the guest heap executable (dangerous:\n"
                   "                               for JIT compilers only)\n",
    .net_offload = 1,
    .handle_option = handle_option,
};

static int prot_of(uint32_t flags)
{
    return ((flags & ELF_SEG_R) ? PROT_READ : 0) | ((flags & ELF_SEG_W) ? PROT_WRITE : 0) |
           ((flags & ELF_SEG_X) ? PROT_EXEC : 0);
}

static void setup_memory(const struct tender *t, struct elf_image *img)
{
    uint8_t *want = (uint8_t *)(uintptr_t)SPT_HOST_MEM_BASE;
    void *mem = mmap(want, t->mem_size - SPT_HOST_MEM_BASE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (mem == MAP_FAILED || mem != want)
        tender_die(t, "cannot map guest memory at 0x%llx: %s",
                   (unsigned long long)SPT_HOST_MEM_BASE,
                   mem == MAP_FAILED ? strerror(errno) : "address in use");
    const char *err = elf_load(&t->image, want, SPT_HOST_MEM_BASE, t->mem_size, img);
    if (err != NULL)
        tender_die(t, "%s: %s", t->kernel_path, err);
}

/* Boot info, manifest copy and command line in the page(s) at 0x11000. */
static void write_boot_info(const struct tender *t, const struct elf_image *img, int epollfd,
                            int timerfd)
{
    uint8_t *base = (uint8_t *)(uintptr_t)SPT_BOOT_INFO_BASE;
    struct spt_boot_info *bi = (struct spt_boot_info *)base;
    uint8_t *mft = base + sizeof *bi;
    char *cmdline = (char *)(mft + t->mft_size);
    memcpy(mft, t->mft, t->mft_size);
    tender_cmdline(t, cmdline, SPT_CMDLINE_SIZE);
    *bi = (struct spt_boot_info){
        .mem_size = t->mem_size,
        .kernel_end = img->kernel_end,
        .cmdline = cmdline,
        .mft = (const struct mft *)mft,
        .epollfd = epollfd,
        .timerfd = timerfd,
    };
}

static void protect(const struct tender *t, const struct elf_image *img)
{
    /* Boot info and everything below the image: read-only for the guest. */
    if (mprotect((void *)(uintptr_t)SPT_HOST_MEM_BASE, ELF_GUEST_MIN - SPT_HOST_MEM_BASE,
                 PROT_READ) != 0)
        tender_die(t, "mprotect: %s", strerror(errno));
    for (size_t i = 0; i < img->n_segments; i++) {
        const struct elf_segment *s = &img->segments[i];
        if (mprotect((void *)(uintptr_t)s->start, s->end - s->start, prot_of(s->flags)) != 0)
            tender_die(t, "mprotect: %s", strerror(errno));
    }
    if (exec_heap) {
        fprintf(stderr, "%s: warning: --x-exec-heap: the guest heap is writable and "
                        "executable\n", t->target->prog);
        if (mprotect((void *)(uintptr_t)img->kernel_end, t->mem_size - img->kernel_end,
                     PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
            tender_die(t, "--x-exec-heap: mprotect: %s", strerror(errno));
    }
}

static void setup_wait(const struct tender *t, int *epollfd, int *timerfd)
{
    *epollfd = epoll_create1(EPOLL_CLOEXEC);
    *timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (*epollfd < 0 || *timerfd < 0)
        tender_die(t, "epoll/timerfd: %s", strerror(errno));
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = SPT_TIMERFD_TAG };
    if (epoll_ctl(*epollfd, EPOLL_CTL_ADD, *timerfd, &ev) != 0)
        tender_die(t, "epoll_ctl: %s", strerror(errno));
    for (uint32_t i = 1; i < t->mft->entries; i++) {
        const struct mft_entry *e = &t->mft->e[i];
        if (e->type != MFT_DEV_NET_BASIC)
            continue;
        ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = i };
        if (epoll_ctl(*epollfd, EPOLL_CTL_ADD, e->b.hostfd, &ev) != 0)
            tender_die(t, "epoll_ctl: %s", strerror(errno));
    }
}

int main(int argc, char **argv)
{
    struct tender t;
    tender_init(&t, argc, argv, &spt_target);
    /* The console is best effort: a closed reader must not kill the guest. */
    signal(SIGPIPE, SIG_IGN);

    int persona = personality(0xffffffff);
    if (persona == -1 || (persona & READ_IMPLIES_EXEC))
        tender_die(&t, "refusing to run with the READ_IMPLIES_EXEC personality");
    if (t.mem_size <= ELF_GUEST_MIN)
        tender_die(&t, "guest memory is too small");

    struct elf_image img;
    setup_memory(&t, &img);
    int epollfd, timerfd;
    setup_wait(&t, &epollfd, &timerfd);
    write_boot_info(&t, &img, epollfd, timerfd);
    protect(&t, &img);
    elf_file_close(&t.image);

    spt_launch_prepare(&t);
    spt_seccomp_install(&t, epollfd, timerfd);
    spt_launch(img.entry, t.mem_size - 8, SPT_BOOT_INFO_BASE);
}
