/* test_abort: solo5_abort() ends the guest with status 255. */
#include <solo5.h>

int solo5_app_main(const struct solo5_start_info *si)
{
    (void)si;
    static const char msg[] = "calling solo5_abort\n";
    solo5_console_write(msg, sizeof msg - 1);
    solo5_abort();
}
