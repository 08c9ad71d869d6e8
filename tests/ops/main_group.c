/* main_group.c — the main of one op-test group; meson compiles it once per
 * group with -DOH_GROUP=<name>. */
#include "ophelp.h"

#define OH_CAT2(a, b) a##b
#define OH_CAT(a, b) OH_CAT2(a, b)
#define OH_STR2(x) #x
#define OH_STR(x) OH_STR2(x)

int main(void)
{
    return oh_run_group("ops_" OH_STR(OH_GROUP), OH_CAT(oh_cases_, OH_GROUP));
}
