/*
 * Deliberately unreproducible fixture: depends on where the tree is built.
 *
 * The build path itself never appears (the recipe passes relative paths and
 * prefix maps), so this escapes the prefix maps another way: it measures how
 * deep the build directory sits. A quoted __has_include looks relative to
 * this file first; "../unrepro_path/" brings it back to this directory and
 * exists nowhere on the include path, so only that lookup can succeed; each
 * further "../" climbs one level until "/" (where ".." stays at "/"). The
 * first probe that finds /etc/passwd gives the depth. A build under another
 * build path (of other depth) embeds another number; the builder must blame
 * the "build_path" variation.
 */
#include <solo5.h>
#if __has_include("../unrepro_path/../../../etc/passwd")
#define BUILD_DEPTH "1"
#elif __has_include("../unrepro_path/../../../../etc/passwd")
#define BUILD_DEPTH "2"
#elif __has_include("../unrepro_path/../../../../../etc/passwd")
#define BUILD_DEPTH "3"
#elif __has_include("../unrepro_path/../../../../../../etc/passwd")
#define BUILD_DEPTH "4"
#elif __has_include("../unrepro_path/../../../../../../../etc/passwd")
#define BUILD_DEPTH "5"
#elif __has_include("../unrepro_path/../../../../../../../../etc/passwd")
#define BUILD_DEPTH "6"
#elif __has_include("../unrepro_path/../../../../../../../../../etc/passwd")
#define BUILD_DEPTH "7"
#elif __has_include("../unrepro_path/../../../../../../../../../../etc/passwd")
#define BUILD_DEPTH "8"
#else
#define BUILD_DEPTH "more than 8"
#endif

static const char where[] = "built " BUILD_DEPTH " directories below /, from " __FILE__ "\n";

int solo5_app_main(const struct solo5_start_info *info)
{
    (void)info;
    solo5_console_write(where, sizeof where - 1);
    return SOLO5_EXIT_SUCCESS;
}
