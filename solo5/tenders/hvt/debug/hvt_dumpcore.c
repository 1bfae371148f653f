/*
 * --dumpcore=DIR (solo5-hvt-debug only, as upstream: §3.13): when the guest
 * aborts or traps (exit status 255), write DIR/core.solo5-hvt.PID, an ELF
 * core file that gdb reads together with the image:
 *
 *     gdb IMAGE DIR/core.solo5-hvt.PID
 *
 * One PT_NOTE holds NT_PRSTATUS with the vCPU's registers; where the guest
 * halted with a trap record (the HALT cookie: cr2, ec, rip, cs, rflags, rsp,
 * ss), rip/rsp/rflags/cs/ss are the trapping instruction's. One PT_LOAD
 * covers guest memory at its guest-physical address (the guest's page
 * tables are an identity map); only pages the guest touched (mincore) are
 * written, the rest stay holes in a sparse file and read as zeros.
 */
#include "../hvt.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/procfs.h>
#include <unistd.h>

#define PAGE 4096ULL
#define CORE_NOTE_NAME "CORE"

/* Trap record layout written by the bindings (hvt_abi.h, HALT cookie). */
enum { COOKIE_CR2, COOKIE_EC, COOKIE_RIP, COOKIE_CS, COOKIE_RFLAGS, COOKIE_RSP, COOKIE_SS };

static void prstatus_from_vcpu(const struct hvt *h, struct elf_prstatus *st)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    if (ioctl(h->vcpu_fd, KVM_GET_REGS, &r) < 0 || ioctl(h->vcpu_fd, KVM_GET_SREGS, &s) < 0)
        hvt_die("--dumpcore: cannot read the vCPU registers: %s", strerror(errno));
    /* elf_gregset_t is struct user_regs_struct (sys/user.h), in its order. */
    const uint64_t regs[] = {
        r.r15, r.r14, r.r13, r.r12, r.rbp, r.rbx, r.r11, r.r10, r.r9, r.r8, r.rax, r.rcx,
        r.rdx, r.rsi, r.rdi, r.rax /* orig_rax */, r.rip, s.cs.selector, r.rflags, r.rsp,
        s.ss.selector, s.fs.base, s.gs.base, s.ds.selector, s.es.selector, s.fs.selector,
        s.gs.selector,
    };
    _Static_assert(sizeof regs == sizeof st->pr_reg, "user_regs_struct has 27 registers");
    memcpy(&st->pr_reg, regs, sizeof regs);
    st->pr_pid = getpid();
    if (h->halt_cookie == 0)
        return;
    uint64_t frame[COOKIE_SS + 1];
    memcpy(frame, hvt_gpa_read(h, h->halt_cookie, sizeof frame), sizeof frame);
    uint64_t *g = (uint64_t *)&st->pr_reg;
    g[16] = frame[COOKIE_RIP];
    g[17] = frame[COOKIE_CS];
    g[18] = frame[COOKIE_RFLAGS];
    g[19] = frame[COOKIE_RSP];
    g[20] = frame[COOKIE_SS];
}

static void write_all(int fd, const void *buf, size_t len, uint64_t offset, const char *path)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)offset);
        if (n <= 0)
            hvt_die("--dumpcore: writing %s: %s", path, n < 0 ? strerror(errno) : "no space");
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
}

void hvt_dumpcore(const struct hvt *h, const char *dir)
{
    char path[4096];
    int len = snprintf(path, sizeof path, "%s/core.solo5-hvt.%d", dir, (int)getpid());
    if (len < 0 || (size_t)len >= sizeof path)
        hvt_die("--dumpcore=%s: directory name too long", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        hvt_die("--dumpcore=%s: cannot create %s: %s", dir, path, strerror(errno));

    /* Note: header, "CORE\0" padded to 8 bytes, then the descriptor at 20. */
    struct elf_prstatus status;
    memset(&status, 0, sizeof status);
    prstatus_from_vcpu(h, &status);
    Elf64_Nhdr nhdr = { .n_namesz = sizeof CORE_NOTE_NAME, .n_descsz = sizeof status,
                        .n_type = NT_PRSTATUS };
    uint8_t note[sizeof nhdr + 8 + sizeof status];
    memset(note, 0, sizeof note);
    memcpy(note, &nhdr, sizeof nhdr);
    memcpy(note + sizeof nhdr, CORE_NOTE_NAME, sizeof CORE_NOTE_NAME);
    memcpy(note + sizeof nhdr + 8, &status, sizeof status);

    uint64_t phoff = sizeof(Elf64_Ehdr);
    uint64_t note_offset = phoff + 2 * sizeof(Elf64_Phdr);
    uint64_t mem_offset = (note_offset + sizeof note + PAGE - 1) & ~(PAGE - 1);
    Elf64_Ehdr eh = {
        .e_type = ET_CORE, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
        .e_phoff = phoff, .e_ehsize = sizeof eh, .e_phentsize = sizeof(Elf64_Phdr),
        .e_phnum = 2,
    };
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_ident[EI_OSABI] = ELFOSABI_SYSV;
    Elf64_Phdr ph[2] = {
        { .p_type = PT_NOTE, .p_offset = note_offset, .p_filesz = sizeof note, .p_align = 4 },
        { .p_type = PT_LOAD, .p_flags = PF_R | PF_W | PF_X, .p_offset = mem_offset,
          .p_vaddr = 0, .p_paddr = 0, .p_filesz = h->mem_size, .p_memsz = h->mem_size,
          .p_align = PAGE },
    };
    write_all(fd, &eh, sizeof eh, 0, path);
    write_all(fd, ph, sizeof ph, phoff, path);
    write_all(fd, note, sizeof note, note_offset, path);

    /* Touched pages only; the file keeps its full size (holes read as 0). */
    static unsigned char resident[1U << 20]; /* one byte per page: 4 GiB */
    size_t pages = (size_t)(h->mem_size / PAGE);
    if (pages > sizeof resident || mincore(h->mem, h->mem_size, resident) != 0)
        hvt_die("--dumpcore: mincore: %s", strerror(errno));
    for (size_t i = 0; i < pages; i++) {
        if (resident[i] & 1)
            write_all(fd, h->mem + i * PAGE, PAGE, mem_offset + i * PAGE, path);
    }
    if (ftruncate(fd, (off_t)(mem_offset + h->mem_size)) != 0 || close(fd) != 0)
        hvt_die("--dumpcore: finishing %s: %s", path, strerror(errno));
    fprintf(stderr, "solo5-hvt: guest core written to %s\n", path);
}
