/*
 * test_hvt_bounds: issues raw hvt hypercalls whose request addresses,
 * embedded buffers or lengths lie outside guest memory (or point at memory
 * the host must not write). The command line names one case; the tender
 * must stop the guest with exit status 1 and an "Invalid guest ..." line.
 * If a hypercall returns, the guest reports the case and exits 2.
 * Case "ok" makes one valid call of each kind and exits 0; "trap-null",
 * "sleep", "exit-7" and "cpl" exercise the trap path, the sandbox, exit
 * codes and user mode (with TLS).
 */
#include <solo5.h>
#include <abi/hvt_abi.h>

#include <stdint.h>

static uint64_t mem_size;

static void puts_str(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0')
        n++;
    solo5_console_write(s, n);
}

static int str_eq(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static void *gpa(uint64_t addr)
{
    return (void *)(uintptr_t)addr;
}

/* Text is mapped read-only on the host: the tender must refuse to write it. */
static void text_marker(void) {}

static void mmio_store32(uint64_t addr, uint32_t value)
{
    __asm__ __volatile__("movl %1, %0" : "=m"(*(volatile uint32_t *)(uintptr_t)addr)
                         : "r"(value) : "memory");
}

static void raw_port(uint16_t port)
{
    uint32_t zero = 0;
    __asm__ __volatile__("outl %0, %1" : : "a"(zero), "d"(port) : "memory");
}

static void run_case(const char *name)
{
    static uint8_t ok_buf[512];
    volatile struct hvt_hc_walltime wt = { 0 };
    volatile struct hvt_hc_puts pt = { 0 };
    volatile struct hvt_hc_poll pl = { 0 };
    volatile struct hvt_hc_block_write bw = { 0 };
    volatile struct hvt_hc_block_read br = { 0 };
    volatile struct hvt_hc_net_write nw = { 0 };
    volatile struct hvt_hc_net_read nr = { 0 };
    volatile struct hvt_hc_halt ht = { 0 };

    if (str_eq(name, "walltime-req")) {
        hvt_do_hypercall(HVT_HYPERCALL_WALLTIME, gpa(mem_size));
    } else if (str_eq(name, "walltime-straddle")) {
        hvt_do_hypercall(HVT_HYPERCALL_WALLTIME, gpa(mem_size - 4));
    } else if (str_eq(name, "low-req")) {
        hvt_do_hypercall(HVT_HYPERCALL_WALLTIME, gpa(0x2000)); /* page tables */
    } else if (str_eq(name, "puts-req")) {
        hvt_do_hypercall(HVT_HYPERCALL_PUTS, gpa(0xfffffff0));
    } else if (str_eq(name, "puts-data")) {
        pt.data = gpa(mem_size - 4);
        pt.len = 16;
        hvt_do_hypercall(HVT_HYPERCALL_PUTS, &pt);
    } else if (str_eq(name, "puts-len")) {
        pt.data = gpa(0x100000);
        pt.len = SIZE_MAX; /* wraps if added unchecked */
        hvt_do_hypercall(HVT_HYPERCALL_PUTS, &pt);
    } else if (str_eq(name, "poll-req")) {
        hvt_do_hypercall(HVT_HYPERCALL_POLL, gpa(mem_size - 8));
    } else if (str_eq(name, "block-write-data")) {
        bw.handle = 1;
        bw.data = gpa(mem_size + 4096);
        bw.len = 512;
        hvt_do_hypercall(HVT_HYPERCALL_BLOCK_WRITE, &bw);
    } else if (str_eq(name, "block-read-data")) {
        br.handle = 1;
        br.data = gpa(0x1000); /* the tender's GDT page */
        br.len = 512;
        hvt_do_hypercall(HVT_HYPERCALL_BLOCK_READ, &br);
    } else if (str_eq(name, "block-read-text")) {
        br.handle = 1;
        br.data = (void *)(uintptr_t)&text_marker;
        br.len = 512;
        hvt_do_hypercall(HVT_HYPERCALL_BLOCK_READ, &br);
    } else if (str_eq(name, "block-req")) {
        hvt_do_hypercall(HVT_HYPERCALL_BLOCK_READ, gpa(mem_size - 16));
    } else if (str_eq(name, "net-write-data")) {
        nw.handle = 1;
        nw.data = gpa(mem_size - 100);
        nw.len = 1514;
        hvt_do_hypercall(HVT_HYPERCALL_NET_WRITE, &nw);
    } else if (str_eq(name, "net-read-data")) {
        nr.handle = 1;
        nr.data = gpa(0x100000);
        nr.len = mem_size; /* 1 MiB past the end */
        hvt_do_hypercall(HVT_HYPERCALL_NET_READ, &nr);
    } else if (str_eq(name, "net-req")) {
        hvt_do_hypercall(HVT_HYPERCALL_NET_WRITE, gpa(UINT32_MAX));
    } else if (str_eq(name, "halt-cookie")) {
        ht.cookie = gpa(mem_size - 100); /* a cookie needs 512 bytes */
        ht.exit_status = 0;
        hvt_do_hypercall(HVT_HYPERCALL_HALT, &ht);
    } else if (str_eq(name, "halt-req")) {
        hvt_do_hypercall(HVT_HYPERCALL_HALT, gpa(mem_size));
    } else if (str_eq(name, "hypercall-0")) {
        raw_port(HVT_HYPERCALL_PIO(0));
    } else if (str_eq(name, "mmio-walltime-req")) {
        mmio_store32(HVT_MMIO_HYPERCALL(HVT_HYPERCALL_WALLTIME), (uint32_t)mem_size);
    } else if (str_eq(name, "mmio-nr")) {
        mmio_store32(HVT_MMIO_HYPERCALL(HVT_HYPERCALL_MAX), (uint32_t)(uintptr_t)&wt);
    } else if (str_eq(name, "mmio-unaligned")) {
        mmio_store32(HVT_MMIO_HYPERCALL(HVT_HYPERCALL_WALLTIME) + 4, (uint32_t)(uintptr_t)&wt);
    } else if (str_eq(name, "mmio-read")) {
        (void)*(volatile uint32_t *)(uintptr_t)HVT_MMIO_HYPERCALL(HVT_HYPERCALL_WALLTIME);
    } else if (str_eq(name, "mmio-wide")) {
        *(volatile uint64_t *)(uintptr_t)HVT_MMIO_HYPERCALL(HVT_HYPERCALL_WALLTIME) =
            (uintptr_t)&wt;
    } else if (str_eq(name, "mmio-ok")) {
        mmio_store32(HVT_MMIO_HYPERCALL(HVT_HYPERCALL_WALLTIME), (uint32_t)(uintptr_t)&wt);
        puts_str(wt.nsecs != 0 ? "mmio walltime ok\n" : "FAIL: mmio walltime\n");
        solo5_exit(wt.nsecs != 0 ? 0 : 3);
    } else if (str_eq(name, "bad-port")) {
        raw_port(HVT_HYPERCALL_PIO(HVT_HYPERCALL_MAX));
    } else if (str_eq(name, "trap-null")) {
        volatile uintptr_t null_page = 8;
        puts_str("reading GPA 8\n");
        (void)*(volatile uint64_t *)null_page; /* unmapped: #PF, abort 255 */
    } else if (str_eq(name, "write-text")) {
        /* W^X: text is read-only on the host, so the write cannot land. */
        puts_str("writing to text\n");
        *(volatile uint8_t *)(uintptr_t)&text_marker = 0xcc;
    } else if (str_eq(name, "sleep")) {
        /* Long enough for a test to look at the sandboxed tender. */
        puts_str("sleeping\n");
        solo5_yield(solo5_clock_monotonic() + 2000000000ULL, NULL);
        solo5_exit(0);
    } else if (str_eq(name, "cpl")) {
        /* Our tender offers HVT_FEATURE_USER_MODE: the application runs at
         * CPL 3, and TLS (an FS-base wrmsr) still works from there. */
        static __thread uint64_t tls_word = 41;
        static uint8_t tls_block[256] __attribute__((aligned(64)));
        uint16_t cs;
        __asm__ __volatile__("mov %%cs, %0" : "=r"(cs));
        puts_str((cs & 3) == 3 ? "cpl=3\n" : "cpl=0\n");
        if (solo5_tls_size() > sizeof tls_block ||
            solo5_tls_init((uintptr_t)tls_block) != SOLO5_R_OK ||
            solo5_set_tls_base(solo5_tls_tp_offset((uintptr_t)tls_block)) != SOLO5_R_OK) {
            puts_str("FAIL: TLS set-up\n");
            solo5_exit(3);
        }
        tls_word++;
        puts_str(tls_word == 42 ? "tls ok\n" : "FAIL: TLS value\n");
        solo5_exit(0);
    } else if (str_eq(name, "exit-7")) {
        solo5_exit(7);
    } else if (str_eq(name, "ok")) {
        /* Valid calls: the same paths accept in-range requests. */
        hvt_do_hypercall(HVT_HYPERCALL_WALLTIME, &wt);
        pt.data = "ok: in-range hypercalls accepted\n";
        pt.len = 33;
        hvt_do_hypercall(HVT_HYPERCALL_PUTS, &pt);
        pl.timeout_nsecs = 0;
        hvt_do_hypercall(HVT_HYPERCALL_POLL, &pl);
        br.handle = 7; /* no such device: EINVAL, not fatal */
        br.data = ok_buf;
        br.len = sizeof ok_buf;
        hvt_do_hypercall(HVT_HYPERCALL_BLOCK_READ, &br);
        nw.handle = 7;
        nw.data = ok_buf;
        nw.len = 60;
        hvt_do_hypercall(HVT_HYPERCALL_NET_WRITE, &nw);
        if (wt.nsecs == 0 || br.ret != SOLO5_R_EINVAL || nw.ret != SOLO5_R_EINVAL) {
            puts_str("FAIL: unexpected results for valid requests\n");
            solo5_exit(3);
        }
        ht.cookie = ok_buf; /* 512 bytes: a valid cookie */
        ht.exit_status = 0;
        hvt_do_hypercall(HVT_HYPERCALL_HALT, &ht);
        return;
    } else {
        puts_str("unknown case\n");
        solo5_exit(4);
    }
    puts_str("FAIL: tender accepted case ");
    puts_str(name);
    puts_str("\n");
    solo5_exit(2);
}

int solo5_app_main(const struct solo5_start_info *si)
{
    mem_size = si->heap_start + si->heap_size;
    run_case(si->cmdline);
    return 0;
}
