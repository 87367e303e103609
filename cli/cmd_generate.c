/* cmd_generate.c: `poblysh migrate generate NAME` (being written). */
#include <stdio.h>

#include "cli.h"

int cli_generate(const cli_options *opts)
{
    (void)opts;
    fprintf(stderr, "poblysh: generate is not implemented yet\n");
    return PM_EXIT_FAILURE;
}
