/* hello: prints a greeting and its command line, then exits 0. */
#include <solo5.h>

static size_t length(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0')
        n++;
    return n;
}

static void puts_console(const char *s)
{
    solo5_console_write(s, length(s));
}

int solo5_app_main(const struct solo5_start_info *si)
{
    puts_console("\n**** Solo5 standalone test_hello ****\n\n");
    puts_console("Hello, World\nCommand line is: '");
    puts_console(si->cmdline);
    puts_console("'\n");
    return SOLO5_EXIT_SUCCESS;
}
