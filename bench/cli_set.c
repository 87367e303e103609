/* cli_set.c: the migration set of pm_bench_cli_<N>, the poblysh CLI linked
 * with N migrations of the benchmark set compiled in instead of
 * migrations/ (as tests/fixtures/fixture_migrations.c does for
 * poblysh_fixture): one binary per size, as a project's CLI has exactly its
 * own migrations. */
#include "bench_set.h"
#include "poblysh/migrations.h"

const pm_migration *const *pm_builtin_migrations(size_t *count)
{
    return bench_static_set(count);
}
