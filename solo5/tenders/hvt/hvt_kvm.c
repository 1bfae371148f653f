/*
 * KVM: one VM with guest RAM as slot 0 at GPA 0, one vCPU started directly
 * in 64-bit long mode, and the run loop that turns port writes into
 * hypercalls (solo5.md §3.1, §3.4, §3.5; Linux Documentation/virt/kvm/api.rst).
 */
#include "hvt.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* api.rst §4.1: the only stable API version. */
#define KVM_API_EXPECTED 12

void hvt_kvm_init(struct hvt *h, uint64_t mem_size)
{
    h->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (h->kvm_fd < 0 && errno == ENOENT)
        hvt_die("/dev/kvm does not exist: this host offers no KVM (enable virtualisation and "
                "load the kvm module, or run the image's spt build with solo5-spt)");
    if (h->kvm_fd < 0 && (errno == EACCES || errno == EPERM))
        hvt_die("no permission to open /dev/kvm: add this user to the group owning it "
                "(usually 'kvm') or run as root");
    if (h->kvm_fd < 0)
        hvt_die("cannot open /dev/kvm: %s", strerror(errno));
    int api = ioctl(h->kvm_fd, KVM_GET_API_VERSION, 0);
    if (api < 0)
        hvt_die("/dev/kvm is not a KVM device (KVM_GET_API_VERSION: %s): it should be the "
                "character device 10:232 created by the kvm module", strerror(errno));
    if (api != KVM_API_EXPECTED)
        hvt_die("this kernel's KVM API version is %d; solo5-hvt needs version %d", api,
                KVM_API_EXPECTED);
    if (ioctl(h->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0)
        hvt_die("KVM lacks KVM_CAP_USER_MEMORY");

    h->vm_fd = ioctl(h->kvm_fd, KVM_CREATE_VM, 0);
    if (h->vm_fd < 0)
        hvt_die("KVM_CREATE_VM: %s", strerror(errno));

    /* Zero-filled on demand; pages the guest never touches cost nothing. */
    void *mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED)
        hvt_die("cannot allocate %llu bytes of guest memory: %s",
                (unsigned long long)mem_size, strerror(errno));
    h->mem = mem;
    h->mem_size = mem_size;

    struct kvm_userspace_memory_region region = {
        .slot = 0,
        .guest_phys_addr = 0,
        .memory_size = mem_size,
        .userspace_addr = (uint64_t)(uintptr_t)mem,
    };
    if (ioctl(h->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        hvt_die("KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));

    h->vcpu_fd = ioctl(h->vm_fd, KVM_CREATE_VCPU, 0);
    if (h->vcpu_fd < 0)
        hvt_die("KVM_CREATE_VCPU: %s", strerror(errno));
    int run_size = ioctl(h->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < (int)sizeof(struct kvm_run))
        hvt_die("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
    h->run_size = (size_t)run_size;
    h->run = mmap(NULL, h->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                  h->vcpu_fd, 0);
    if (h->run == MAP_FAILED)
        hvt_die("mmap kvm_run: %s", strerror(errno));
}

/*
 * CPUID: what the host KVM supports, minus nested-virtualisation and SGX
 * features the guest has no business seeing (Solo5 issue #610).
 * Intel SDM Vol. 2A CPUID: leaf 1 ECX bit 5 VMX; leaf 7 EBX bit 2 SGX;
 * AMD APM Vol. 3 CPUID: leaf 0x80000001 ECX bit 2 SVM.
 */
#define CPUID_ENTRIES_MAX 100

static void setup_cpuid(struct hvt *h)
{
    size_t size = sizeof(struct kvm_cpuid2) +
                  CPUID_ENTRIES_MAX * sizeof(struct kvm_cpuid_entry2);
    struct kvm_cpuid2 *cpuid = calloc(1, size);
    if (cpuid == NULL)
        hvt_die("out of memory");
    cpuid->nent = CPUID_ENTRIES_MAX;
    if (ioctl(h->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0)
        hvt_die("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
    for (uint32_t i = 0; i < cpuid->nent; i++) {
        struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
        if (e->function == 1)
            e->ecx &= ~(1U << 5);
        else if (e->function == 7 && e->index == 0)
            e->ebx &= ~(1U << 2);
        else if (e->function == 0x80000001)
            e->ecx &= ~(1U << 2);
    }
    if (ioctl(h->vcpu_fd, KVM_SET_CPUID2, cpuid) < 0)
        hvt_die("KVM_SET_CPUID2: %s", strerror(errno));
    free(cpuid);
}

static void setup_tsc(struct hvt *h)
{
    if (ioctl(h->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_GET_TSC_KHZ) != 1)
        hvt_die("KVM lacks KVM_CAP_GET_TSC_KHZ");
    int khz = ioctl(h->vcpu_fd, KVM_GET_TSC_KHZ, 0);
    if (khz < 0 && errno == EIO)
        hvt_die("host TSC is unstable, cannot continue");
    if (khz <= 0)
        hvt_die("KVM_GET_TSC_KHZ: %s", strerror(errno));
    h->tsc_hz = (uint64_t)khz * 1000;
}

/* Intel SDM Vol. 3A §2.5 control registers, §2.2.1 EFER. */
#define X86_CR0_PE (1ULL << 0)
#define X86_CR0_NE (1ULL << 5)
#define X86_CR0_WP (1ULL << 16)
#define X86_CR0_PG (1ULL << 31)
#define X86_CR4_PAE (1ULL << 5)
#define X86_CR4_OSFXSR (1ULL << 9)
#define X86_CR4_OSXMMEXCPT (1ULL << 10)
#define X86_EFER_LME (1ULL << 8)
#define X86_EFER_LMA (1ULL << 10)
#define X86_RFLAGS_RESERVED 0x2ULL

static void setup_sregs(struct hvt *h)
{
    struct kvm_sregs sregs;
    if (ioctl(h->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
        hvt_die("KVM_GET_SREGS: %s", strerror(errno));

    sregs.cr0 = X86_CR0_PE | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
    sregs.cr3 = HVT_PML4_BASE;
    sregs.cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
    sregs.efer = X86_EFER_LME | X86_EFER_LMA;

    struct kvm_segment code = {
        .base = 0, .limit = 0xffffffff, .selector = 0x08,
        .type = 9, .present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
    };
    struct kvm_segment data = {
        .base = 0, .limit = 0xffffffff, .selector = 0x10,
        .type = 3, .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
    };
    sregs.cs = code;
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;

    sregs.gdt.base = HVT_GDT_BASE;
    sregs.gdt.limit = HVT_GDT_ENTRIES * 8 - 1;
    struct kvm_segment tr = { .type = 11, .present = 1 };
    sregs.tr = tr;
    struct kvm_segment ldt = { .unusable = 1 };
    sregs.ldt = ldt;

    if (ioctl(h->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
        hvt_die("KVM_SET_SREGS: %s", strerror(errno));
}

void hvt_kvm_setup_vcpu(struct hvt *h)
{
    hvt_x86_write_page_tables(h->mem, h->mem_size, h->host_features);
    hvt_x86_write_gdt(h->mem);
    setup_cpuid(h);
    setup_tsc(h);
    setup_sregs(h);

    /* SysV entry: boot info pointer in RDI, RSP such that (RSP+8) % 16 == 0. */
    struct kvm_regs regs = {
        .rip = h->kernel_entry,
        .rsp = h->mem_size - 8,
        .rdi = HVT_BOOT_INFO_BASE,
        .rflags = X86_RFLAGS_RESERVED,
    };
    if (ioctl(h->vcpu_fd, KVM_SET_REGS, &regs) < 0)
        hvt_die("KVM_SET_REGS: %s", strerror(errno));
}

static int handle_io(struct hvt *h, struct kvm_run *run, int *status)
{
    unsigned port = run->io.port;
    if (run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4 ||
        run->io.count != 1 || port < HVT_HYPERCALL_PIO_BASE ||
        port >= HVT_HYPERCALL_PIO(HVT_HYPERCALL_MAX))
        hvt_die("Invalid guest port access: port 0x%x", port);
    if (run->io.data_offset > h->run_size - sizeof(uint32_t))
        hvt_die("KVM reported an I/O data offset outside kvm_run");
    uint32_t gpa;
    memcpy(&gpa, (uint8_t *)run + run->io.data_offset, sizeof gpa);
    return hvt_hypercall(h, port - HVT_HYPERCALL_PIO_BASE, gpa, status);
}

/* HVT_FEATURE_MMIO_HYPERCALL: a 4-byte store of the request GPA. */
static int handle_mmio(struct hvt *h, struct kvm_run *run, int *status)
{
    uint64_t addr = run->mmio.phys_addr;
    if (!(h->host_features & HVT_FEATURE_MMIO_HYPERCALL) ||
        !run->mmio.is_write || run->mmio.len != 4 || addr < HVT_MMIO_BASE ||
        addr >= HVT_MMIO_HYPERCALL(HVT_HYPERCALL_MAX) || (addr & 7) != 0)
        hvt_die("Invalid guest access: MMIO %s of %u bytes at GPA 0x%llx",
                run->mmio.is_write ? "write" : "read", run->mmio.len,
                (unsigned long long)addr);
    uint32_t gpa;
    memcpy(&gpa, run->mmio.data, sizeof gpa);
    return hvt_hypercall(h, (unsigned)((addr - HVT_MMIO_BASE) >> 3), gpa, status);
}

int hvt_kvm_run(struct hvt *h)
{
    struct kvm_run *run = h->run;
    for (;;) {
        if (ioctl(h->vcpu_fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            if (errno == EFAULT)
                hvt_die("host/guest translation fault (guest wrote to read-only memory?)");
            hvt_die("KVM_RUN: %s", strerror(errno));
        }
        int status;
        switch (run->exit_reason) {
        case KVM_EXIT_IO:
            if (handle_io(h, run, &status))
                return status;
            break;
        case KVM_EXIT_FAIL_ENTRY:
            hvt_die("KVM entry failed: hardware reason 0x%llx",
                    (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        case KVM_EXIT_INTERNAL_ERROR:
            hvt_die("KVM internal error: suberror %u", run->internal.suberror);
        case KVM_EXIT_SHUTDOWN:
            hvt_die("guest triple fault (KVM_EXIT_SHUTDOWN)");
        case KVM_EXIT_HLT:
            hvt_die("guest executed HLT with interrupts off");
        case KVM_EXIT_MMIO:
            if (handle_mmio(h, run, &status))
                return status;
            break;
        default:
            hvt_die("unexpected KVM exit reason %u", run->exit_reason);
        }
    }
}
