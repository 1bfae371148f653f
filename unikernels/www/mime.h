/* Content-Type from a file name's extension (RFC 9110 section 8.3). */
#ifndef WWW_MIME_H
#define WWW_MIME_H

#include <stddef.h>

/* The media type for name[0..len) (extension compared without case);
 * application/octet-stream when unknown. */
const char *mime_type(const char *name, size_t len);

#endif
