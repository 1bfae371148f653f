/* Manifest validation (solo5.md §2.9): the manifest is untrusted input. */
#include "mft.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Device names are 1-67 ASCII alphanumerics (the manifest's JSON rules);
 * checking them here also keeps untrusted bytes out of error messages. */
static int name_is_alnum(const char *name)
{
    if (name[0] == '\0')
        return 0;
    for (size_t i = 0; name[i] != '\0'; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

const char *mft_validate(const struct mft *m, size_t size)
{
    if (size < sizeof(struct mft))
        return "manifest is shorter than its header";
    if (m->version != MFT_VERSION)
        return "manifest version is not 1";
    if (m->entries < 1 || m->entries > MFT_MAX_ENTRIES)
        return "manifest entry count is out of range";
    if (size != MFT_SIZE(m->entries))
        return "manifest size does not match its entry count";
    if (m->e[0].type != MFT_RESERVED_FIRST || m->e[0].name[0] != '\0')
        return "manifest entry 0 is not the reserved entry";
    for (uint32_t i = 0; i < m->entries; i++) {
        if (m->e[i].name[MFT_NAME_MAX] != '\0')
            return "manifest entry name is not NUL-terminated";
        /* Read as a byte: an untrusted bool may hold any value. */
        uint8_t attached;
        memcpy(&attached, (const uint8_t *)&m->e[i] + offsetof(struct mft_entry, attached), 1);
        if (attached != 0)
            return "manifest entry is marked attached in the image";
        if (i > 0 && !name_is_alnum(m->e[i].name))
            return "manifest entry name is not 1-67 ASCII letters and digits";
    }
    return NULL;
}

struct mft_entry *mft_find(struct mft *m, const char *name, mft_type_t type,
                           unsigned *index)
{
    for (uint32_t i = 1; i < m->entries; i++) {
        if (m->e[i].type == type && strcmp(m->e[i].name, name) == 0) {
            *index = i;
            return &m->e[i];
        }
    }
    return NULL;
}

const char *mft_type_name(mft_type_t type)
{
    switch (type) {
    case MFT_DEV_NET_BASIC:
        return "NET_BASIC";
    case MFT_DEV_BLOCK_BASIC:
        return "BLOCK_BASIC";
    case MFT_RESERVED_FIRST:
        return "RESERVED";
    default:
        return "UNKNOWN";
    }
}
