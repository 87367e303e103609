/* cmd_schema.c: `poblysh migrate schema` and `verify` (being written). */
#include <stdio.h>

#include "cli.h"

int cli_schema(const cli_options *opts)
{
    (void)opts;
    return PM_EXIT_FAILURE;
}

int cli_verify(const cli_options *opts)
{
    (void)opts;
    return PM_EXIT_FAILURE;
}
