/* Block files (solo5.md §3.10). */
#include "block.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int block_attach(const char *path, uint64_t block_size, uint64_t *capacity,
                 const char **error)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        *error = "cannot open the block file read-write";
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        *error = "block device must be a regular file";
        close(fd);
        return -1;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size < block_size || size % block_size != 0) {
        *error = "block file size must be a non-zero multiple of the block size";
        close(fd);
        return -1;
    }
    *capacity = size;
    return fd;
}
