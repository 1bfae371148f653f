/* Freestanding <assert.h> (C11 7.2): prints the failed expression and aborts. */
#ifndef RT_ASSERT_H
#define RT_ASSERT_H

_Noreturn void rt_assert_fail(const char *expr, const char *file, int line);

#endif

#undef assert
#ifdef NDEBUG
#define assert(e) ((void)0)
#else
#define assert(e) ((e) ? (void)0 : rt_assert_fail(#e, __FILE__, __LINE__))
#endif
