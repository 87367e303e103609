/* version.c: pm_version(), the version of the library actually loaded. */
#include "poblysh/version.h"

const char *pm_version(void)
{
    return PM_VERSION_STRING;
}
