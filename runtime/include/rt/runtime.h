/* Starting the runtime inside a Solo5 unikernel.
 *
 *     int solo5_app_main(const struct solo5_start_info *si) {
 *         rt_init(si);            // heap, console, PRNG
 *         ...
 *     }
 */
#ifndef RT_RUNTIME_H
#define RT_RUNTIME_H

#include "solo5.h"

/* The top of Solo5's heap region holds the initial stack; the allocator
 * leaves this much of it alone. */
#define RT_STACK_RESERVE (1024u * 1024u)

/* Sets up the heap over the Solo5 heap region (minus the stack) and seeds
 * the PRNG from the monotonic clock (prng_seed_from() reseeds with the MAC
 * once a network device is known). */
void rt_init(const struct solo5_start_info *si);

#endif
