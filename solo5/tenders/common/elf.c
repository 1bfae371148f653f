/* ELF64 checks, Solo5 note reader and segment loader (solo5.md §2.8, §2.10). */
#include "elf.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../include/abi/elf_abi.h"

#if defined(__x86_64__)
#define ELF_HOST_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define ELF_HOST_MACHINE EM_AARCH64
#else
#error "unsupported host architecture"
#endif

int elf_file_open(const char *path, struct elf_file *f)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int saved = errno;
        close(fd);
        return saved;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return EINVAL;
    }
    f->size = (size_t)st.st_size;
    f->data = NULL;
    f->mapping = NULL;
    if (f->size > 0) {
        void *p = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int saved = errno;
            close(fd);
            return saved;
        }
        f->mapping = p;
        f->data = p;
    }
    close(fd);
    return 0;
}

void elf_file_close(struct elf_file *f)
{
    if (f->mapping != NULL)
        munmap(f->mapping, f->size);
    f->mapping = NULL;
    f->data = NULL;
    f->size = 0;
}

/* Copies out of the view; callers check bounds first (no unaligned access). */
static Elf64_Ehdr read_ehdr(const struct elf_file *f)
{
    Elf64_Ehdr h;
    memcpy(&h, f->data, sizeof h);
    return h;
}

static Elf64_Phdr read_phdr(const struct elf_file *f, const Elf64_Ehdr *h, size_t i)
{
    Elf64_Phdr p;
    memcpy(&p, f->data + h->e_phoff + i * sizeof p, sizeof p);
    return p;
}

const char *elf_check_header(const struct elf_file *f)
{
    if (f->size < sizeof(Elf64_Ehdr))
        return "file is too short to be an ELF executable";
    Elf64_Ehdr h = read_ehdr(f);
    if (memcmp(h.e_ident, ELFMAG, SELFMAG) != 0)
        return "not an ELF file";
    if (h.e_ident[EI_CLASS] != ELFCLASS64)
        return "not a 64-bit ELF file";
    if (h.e_ident[EI_DATA] != ELFDATA2LSB)
        return "ELF file is not little-endian";
    if (h.e_ident[EI_VERSION] != EV_CURRENT || h.e_version != EV_CURRENT)
        return "unknown ELF version";
    if (h.e_ehsize != sizeof(Elf64_Ehdr) || h.e_phentsize != sizeof(Elf64_Phdr))
        return "ELF header sizes are wrong";
    if (h.e_phnum < 1)
        return "ELF file has no program headers";
    if (h.e_type != ET_EXEC)
        return "ELF file is not a static executable (ET_EXEC)";
    if (h.e_machine != ELF_HOST_MACHINE)
        return "ELF file is for another machine";
    if (h.e_phoff > f->size ||
        (size_t)h.e_phnum * sizeof(Elf64_Phdr) > f->size - h.e_phoff)
        return "ELF program headers lie outside the file";
    return NULL;
}

const char *elf_find_solo5_note(const struct elf_file *f, uint32_t type, size_t max_descsz,
                                size_t desc_align, const uint8_t **desc, size_t *desc_size,
                                int *found)
{
    *found = 0;
    const char *err = elf_check_header(f);
    if (err != NULL)
        return err;
    Elf64_Ehdr h = read_ehdr(f);
    for (size_t i = 0; i < h.e_phnum; i++) {
        Elf64_Phdr p = read_phdr(f, &h, i);
        if (p.p_type != PT_NOTE)
            continue;
        if (p.p_filesz < sizeof(Elf64_Nhdr))
            return "ELF note segment is too short";
        if (p.p_offset > f->size || p.p_filesz > f->size - p.p_offset)
            return "ELF note segment lies outside the file";
        if (p.p_filesz < SOLO5_NHDR_SIZE)
            continue;
        struct solo5_nhdr nh;
        memcpy(&nh, f->data + p.p_offset, sizeof nh);
        if (nh.n_namesz != SOLO5_NOTE_NAMESZ || nh.n_type != type ||
            memcmp(nh.n_name, SOLO5_NOTE_NAME, SOLO5_NOTE_NAMESZ) != 0)
            continue;
        /* The descriptor starts at the header size rounded up to its alignment. */
        size_t start = (SOLO5_NHDR_SIZE + desc_align - 1) & ~(desc_align - 1);
        size_t padding = start - SOLO5_NHDR_SIZE;
        if (nh.n_descsz < 1 || nh.n_descsz > max_descsz || nh.n_descsz <= padding)
            return "Solo5 note has an invalid size";
        if (p.p_filesz < SOLO5_NHDR_SIZE + (uint64_t)nh.n_descsz)
            return "Solo5 note is larger than its segment";
        *desc = f->data + p.p_offset + start;
        *desc_size = nh.n_descsz - padding;
        *found = 1;
        return NULL;
    }
    return NULL;
}

static int is_power_of_two(uint64_t x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

const char *elf_load(const struct elf_file *f, uint8_t *mem, uint64_t mem_base,
                     uint64_t mem_size, struct elf_image *out)
{
    const char *err = elf_check_header(f);
    if (err != NULL)
        return err;
    if (mem_base > ELF_GUEST_MIN || mem_size <= ELF_GUEST_MIN)
        return "guest memory is too small";
    Elf64_Ehdr h = read_ehdr(f);
    if (h.e_entry < ELF_GUEST_MIN || h.e_entry >= mem_size)
        return "ELF entry point lies outside guest memory";

    memset(out, 0, sizeof *out);
    out->entry = h.e_entry;
    uint64_t prev_vaddr = 0;
    uint64_t prev_end = ELF_GUEST_MIN;

    /* First pass: check every segment; nothing is written until all pass. */
    for (int pass = 0; pass < 2; pass++) {
        size_t n = 0;
        for (size_t i = 0; i < h.e_phnum; i++) {
            Elf64_Phdr p = read_phdr(f, &h, i);
            if (p.p_type != PT_LOAD || p.p_memsz == 0)
                continue;
            uint64_t align = p.p_align == 0 ? 1 : p.p_align;
            if (pass == 0) {
                if (!is_power_of_two(align))
                    return "ELF segment alignment is not a power of two";
                if (p.p_vaddr < ELF_GUEST_MIN)
                    return "ELF segment lies below the guest image base";
                if (p.p_vaddr < prev_vaddr)
                    return "ELF segments are not in ascending order";
                if (p.p_memsz < p.p_filesz)
                    return "ELF segment is smaller in memory than in the file";
                if (p.p_vaddr > mem_size || p.p_filesz > mem_size - p.p_vaddr)
                    return "ELF segment lies outside guest memory";
                if (p.p_memsz > mem_size - p.p_vaddr || align > mem_size)
                    return "ELF segment lies outside guest memory";
                uint64_t start = p.p_vaddr & ~(align - 1);
                uint64_t end = (p.p_vaddr + p.p_memsz + align - 1) & ~(align - 1);
                if (end < p.p_vaddr + p.p_memsz || end > mem_size)
                    return "ELF segment lies outside guest memory";
                if (start < ELF_GUEST_MIN)
                    return "ELF segment lies below the guest image base";
                if (start < prev_end)
                    return "ELF segments overlap";
                if (start % ELF_PAGE_SIZE != 0 || end % ELF_PAGE_SIZE != 0)
                    return "ELF segment is not page-aligned";
                if (p.p_offset > f->size || p.p_filesz > f->size - p.p_offset)
                    return "ELF segment lies outside the file";
                if ((p.p_flags & PF_W) && (p.p_flags & PF_X))
                    return "ELF segment is both writable and executable";
                if (n == ELF_MAX_SEGMENTS)
                    return "ELF file has too many loadable segments";
                out->segments[n] = (struct elf_segment){
                    .start = start, .end = end,
                    .flags = p.p_flags & (PF_R | PF_W | PF_X) };
                prev_vaddr = p.p_vaddr;
                prev_end = end;
                if (end > out->kernel_end)
                    out->kernel_end = end;
            } else {
                uint8_t *dst = mem + (p.p_vaddr - mem_base);
                memcpy(dst, f->data + p.p_offset, p.p_filesz);
                memset(dst + p.p_filesz, 0, p.p_memsz - p.p_filesz);
            }
            n++;
        }
        out->n_segments = n;
    }
    if (out->n_segments == 0)
        return "ELF file has no loadable segments";
    return NULL;
}
