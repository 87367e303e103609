/* cli_set.c: pm_bench_cli_<N>, the poblysh command line (pm_cli_main) over
 * N migrations of the benchmark set compiled in, as a service's own binary
 * is: one binary per size, as a project's CLI has exactly its own
 * migrations. */
#include "bench_set.h"
#include "poblysh/cli.h"

int main(int argc, char **argv)
{
    size_t count = 0;
    const pm_migration *const *set = bench_static_set(&count);
    return pm_cli_main(argc, argv, set, count);
}
