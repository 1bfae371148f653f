/* Target-independent tender start-up (solo5.md §2.9): argument passes,
 * note checks, manifest validation and device attachment. */
#include "tender.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "options.h"
#include "tap.h"

#define MIB (1024ULL * 1024ULL)
#define BLOCK_DEFAULT_SIZE 512

void tender_die(const struct tender *t, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", t->target->prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void usage(const struct tender *t, FILE *out)
{
    fprintf(out,
            "usage: %s [ CORE OPTIONS ] [ --net:NAME=IFACE ... ] [ --block:NAME=PATH ... ]\n"
            "            [ -- ] KERNEL [ ARGS ... ]\n"
            "KERNEL is a Solo5 %s image; ARGS are passed to it.\n"
            "Core options:\n"
            "  --mem=MB                     guest memory in MiB (default %llu)\n"
            "  --net:NAME=IFACE             attach TAP interface IFACE as NET_BASIC device NAME\n"
            "  --net-mac:NAME=MAC           MAC address of NAME (default: random, local)\n"
            "  --block:NAME=PATH            attach file PATH as BLOCK_BASIC device NAME\n"
            "  --block-sector-size:NAME=N   block size of NAME: a power of two >= 512\n"
            "                               (default 512); PATH's size must be a multiple\n"
            "  --help                       print this text\n"
            "  --version                    print the version\n",
            t->target->prog, t->target->name,
            (unsigned long long)(t->target->default_mem / MIB));
    if (t->target->extra_usage != NULL)
        fputs(t->target->extra_usage, out);
}

/* Index of KERNEL in argv: the first non-option argument (§2.9). */
static int find_kernel(struct tender *t, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(t, stdout);
            exit(0);
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("%s %s (Solo5 %s ABI version %u, manifest version %d)\n", t->target->prog,
                   TENDER_VERSION, t->target->name, t->target->abi_version, MFT_VERSION);
            exit(0);
        }
        if (strcmp(argv[i], "--") == 0)
            return i + 1 < argc ? i + 1 : -1;
        if (strncmp(argv[i], "--", 2) != 0)
            return i;
    }
    return -1;
}

static void check_abi(struct tender *t)
{
    const uint8_t *desc;
    size_t size;
    int found;
    const char *err = elf_find_solo5_note(&t->image, SOLO5_NOTE_ABI, ABI1_NOTE_MAX_SIZE,
                                          4, &desc, &size, &found);
    if (err != NULL)
        tender_die(t, "%s: %s", t->kernel_path, err);
    if (!found)
        tender_die(t, "%s: No Solo5 ABI information found in executable", t->kernel_path);
    struct abi1_info info;
    if (size < sizeof info)
        tender_die(t, "%s: Solo5 ABI note is too short", t->kernel_path);
    memcpy(&info, desc, sizeof info);
    if (info.abi_target != t->target->abi_target)
        tender_die(t, "%s: Executable is not for the %s target", t->kernel_path,
                   t->target->prog);
    if (info.abi_version != t->target->abi_version)
        tender_die(t, "%s: Executable requests unsupported ABI version %u", t->kernel_path,
                   info.abi_version);
}

static void load_manifest(struct tender *t)
{
    const uint8_t *desc;
    size_t size;
    int found;
    const char *err = elf_find_solo5_note(&t->image, SOLO5_NOTE_MANIFEST,
                                          MFT1_NOTE_MAX_SIZE, MFT1_NOTE_ALIGN, &desc,
                                          &size, &found);
    if (err != NULL)
        tender_die(t, "%s: %s", t->kernel_path, err);
    if (!found)
        tender_die(t, "%s: No Solo5 manifest found in executable", t->kernel_path);
    /* Copy out of the file view: it need not be 8-aligned. */
    t->mft = calloc(1, size < sizeof(struct mft) ? sizeof(struct mft) : size);
    if (t->mft == NULL)
        tender_die(t, "out of memory");
    memcpy(t->mft, desc, size);
    t->mft_size = size;
    err = mft_validate(t->mft, size);
    if (err != NULL)
        tender_die(t, "%s: Solo5 manifest is invalid: %s", t->kernel_path, err);
}

/* The NVH1 note (unirepo extension, docs/net-offload.md): an image asks
 * for virtio-net header frames; only a target that grants them looks. */
static void check_net_offload(struct tender *t, int plain)
{
    if (!t->target->net_offload || plain)
        return;
    const uint8_t *desc;
    size_t size;
    int found;
    const char *err = elf_find_solo5_note(&t->image, SOLO5_NOTE_NET_OFFLOAD, NVH1_NOTE_SIZE,
                                          NVH1_NOTE_ALIGN, &desc, &size, &found);
    if (err != NULL)
        tender_die(t, "%s: %s", t->kernel_path, err);
    if (!found)
        return;
    struct nvh1_info info;
    if (size != sizeof info)
        tender_die(t, "%s: Solo5 NVH1 note has the wrong size", t->kernel_path);
    memcpy(&info, desc, sizeof info);
    t->net_vnet_tso4 = info.vnet_hdr != 0;
}

/* Split "--PREFIX:NAME=VALUE"; NULL unless arg has that form. */
static const char *device_option(const char *arg, const char *prefix, char name[MFT_NAME_SIZE])
{
    size_t plen = strlen(prefix);
    if (strncmp(arg, prefix, plen) != 0)
        return NULL;
    const char *eq = strchr(arg + plen, '=');
    if (eq == NULL)
        return NULL;
    size_t nlen = (size_t)(eq - (arg + plen));
    if (nlen == 0 || nlen > MFT_NAME_MAX)
        return NULL;
    memcpy(name, arg + plen, nlen);
    name[nlen] = '\0';
    return eq + 1;
}

static struct mft_entry *declared(struct tender *t, const char *name, mft_type_t type,
                                  const char *arg)
{
    unsigned index;
    struct mft_entry *e = mft_find(t->mft, name, type, &index);
    if (e == NULL)
        tender_die(t, "Resource not declared in manifest: '%s' (%s)", name, arg);
    if (e->attached)
        tender_die(t, "Device '%s' is attached twice", name);
    return e;
}

/* Per-device settings given before the device is attached (any order). */
struct device_settings {
    uint16_t sector_size[MFT_MAX_ENTRIES]; /* 0: default */
    uint8_t mac[MFT_MAX_ENTRIES][6];
    bool mac_given[MFT_MAX_ENTRIES];
};

/* Manifest index of NAME declared with TYPE, for a --*:NAME= setting. */
static unsigned setting_index(struct tender *t, const char *name, mft_type_t type,
                              const char *arg)
{
    unsigned index;
    if (mft_find(t->mft, name, type, &index) == NULL)
        tender_die(t, "Resource not declared in manifest: '%s' (%s)", name, arg);
    return index;
}

static void parse_sector_size(struct tender *t, struct device_settings *set, const char *name,
                              const char *value, const char *arg)
{
    unsigned index = setting_index(t, name, MFT_DEV_BLOCK_BASIC, arg);
    uint16_t size;
    const char *err = option_parse_sector_size(value, &size);
    if (err != NULL)
        tender_die(t, "%s: %s", arg, err);
    if (set->sector_size[index] != 0)
        tender_die(t, "%s: the sector size of '%s' is given twice", arg, name);
    set->sector_size[index] = size;
}

static void parse_net_mac(struct tender *t, struct device_settings *set, const char *name,
                          const char *value, const char *arg)
{
    unsigned index = setting_index(t, name, MFT_DEV_NET_BASIC, arg);
    const char *err = option_parse_mac(value, set->mac[index]);
    if (err != NULL)
        tender_die(t, "%s: %s", arg, err);
    if (set->mac_given[index])
        tender_die(t, "%s: the MAC address of '%s' is given twice", arg, name);
    set->mac_given[index] = true;
}

static void attach_net(struct tender *t, const struct device_settings *set, const char *name,
                       const char *ifname, const char *arg)
{
    struct mft_entry *e = declared(t, name, MFT_DEV_NET_BASIC, arg);
    unsigned index = (unsigned)(e - t->mft->e);
    const char *error = NULL;
    unsigned mtu = 0;
    int fd = tap_attach(ifname, t->net_vnet_tso4, &mtu, &error);
    if (fd < 0)
        tender_die(t, "%s: %s", ifname, error);
    if (set->mac_given[index])
        memcpy(e->u.net_basic.mac, set->mac[index], 6);
    else if (tap_random_mac(e->u.net_basic.mac) != 0)
        tender_die(t, "cannot read /dev/urandom for a MAC address");
    e->u.net_basic.mtu = (uint16_t)mtu;
    e->u.net_basic.offload = t->net_vnet_tso4 ? MFT_NET_OFFLOAD_VNET_TSO4 : 0;
    e->b.hostfd = fd;
    e->attached = true;
}

static void attach_block(struct tender *t, const struct device_settings *set,
                         const char *name, const char *path, const char *arg)
{
    struct mft_entry *e = declared(t, name, MFT_DEV_BLOCK_BASIC, arg);
    unsigned index = (unsigned)(e - t->mft->e);
    uint16_t block_size = set->sector_size[index] ? set->sector_size[index]
                                                  : BLOCK_DEFAULT_SIZE;
    const char *error = NULL;
    uint64_t capacity = 0;
    int fd = block_attach(path, block_size, &capacity, &error);
    if (fd < 0)
        tender_die(t, "%s: %s (block size %u)", path, error, block_size);
    e->u.block_basic.capacity = capacity;
    e->u.block_basic.block_size = block_size;
    e->b.hostfd = fd;
    e->attached = true;
}

static void parse_mem(struct tender *t, const char *value)
{
    uint64_t mb;
    if (option_parse_mib(value, t->target->max_mem / MIB, &mb) != NULL)
        tender_die(t, "--mem=%s: must be a decimal number of MiB, at most %llu", value,
                   (unsigned long long)(t->target->max_mem / MIB));
    uint64_t bytes = mb * MIB;
    uint64_t rounded = bytes & ~(t->target->mem_align - 1);
    if (rounded == 0)
        rounded = t->target->mem_align;
    if (rounded != bytes)
        fprintf(stderr, "%s: warning: adjusting memory to %llu bytes\n", t->target->prog,
                (unsigned long long)rounded);
    t->mem_size = rounded;
}

void tender_init(struct tender *t, int argc, char **argv, const struct tender_target *target)
{
    memset(t, 0, sizeof *t);
    t->target = target;
    t->mem_size = target->default_mem;

    int kernel = find_kernel(t, argc, argv);
    if (kernel < 0) {
        fprintf(stderr, "%s: Missing KERNEL operand\n", target->prog);
        usage(t, stderr);
        exit(1);
    }
    t->kernel_path = argv[kernel];
    t->guest_argc = argc - kernel - 1;
    t->guest_argv = argv + kernel + 1;

    int err = elf_file_open(t->kernel_path, &t->image);
    if (err != 0)
        tender_die(t, "%s: %s", t->kernel_path, strerror(err));
    check_abi(t);
    load_manifest(t);

    /* Two passes: settings first, so they may follow the device they set. */
    static struct device_settings settings;
    memset(&settings, 0, sizeof settings);
    int plain = 0;
    for (int i = 1; i < kernel && strcmp(argv[i], "--") != 0; i++) {
        const char *arg = argv[i];
        char name[MFT_NAME_SIZE];
        const char *value;
        if (target->plain_option != NULL && strcmp(arg, target->plain_option) == 0)
            plain = 1;
        else if (strncmp(arg, "--mem=", 6) == 0)
            parse_mem(t, arg + 6);
        else if ((value = device_option(arg, "--block-sector-size:", name)) != NULL)
            parse_sector_size(t, &settings, name, value, arg);
        else if ((value = device_option(arg, "--net-mac:", name)) != NULL)
            parse_net_mac(t, &settings, name, value, arg);
    }
    check_net_offload(t, plain);
    for (int i = 1; i < kernel; i++) {
        const char *arg = argv[i];
        char name[MFT_NAME_SIZE];
        const char *value;
        if (strcmp(arg, "--") == 0)
            break;
        if (strncmp(arg, "--mem=", 6) == 0 || device_option(arg, "--block-sector-size:", name) ||
            device_option(arg, "--net-mac:", name))
            continue;
        if ((value = device_option(arg, "--net:", name)) != NULL)
            attach_net(t, &settings, name, value, arg);
        else if ((value = device_option(arg, "--block:", name)) != NULL)
            attach_block(t, &settings, name, value, arg);
        else if (target->handle_option == NULL || target->handle_option(arg) != 0) {
            fprintf(stderr, "%s: Invalid option: '%s'\n", target->prog, arg);
            usage(t, stderr);
            exit(1);
        }
    }

    int missing = 0;
    for (uint32_t i = 1; i < t->mft->entries; i++) {
        const struct mft_entry *e = &t->mft->e[i];
        if (!e->attached) {
            fprintf(stderr, "%s: Device '%s' of type %s declared but not attached.\n",
                    target->prog, e->name, mft_type_name(e->type));
            missing = 1;
        }
    }
    if (missing)
        tender_die(t, "All declared devices must be attached. See '--help' for syntax.");
}

void tender_cmdline(const struct tender *t, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < t->guest_argc; i++) {
        size_t len = strlen(t->guest_argv[i]);
        size_t need = len + (i > 0 ? 1 : 0);
        if (need >= size - used)
            tender_die(t, "Guest command line too long (max %zu characters)", size - 1);
        if (i > 0)
            buf[used++] = ' ';
        memcpy(buf + used, t->guest_argv[i], len);
        used += len;
        buf[used] = '\0';
    }
}
