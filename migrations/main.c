/* main.c: poblysh-seed, this repository's own service command: the
 * `poblysh migrate` command line over the set in this folder (the tenants
 * baseline taken over from the Rust service), built the way any service
 * builds its own (poblysh_add_migrations() and pm_cli_main()). */
#include "poblysh/cli.h"
#include "poblysh/migrations.h"

int main(int argc, char **argv)
{
    size_t count = 0;
    const pm_migration *const *set = pm_builtin_migrations(&count);
    return pm_cli_main(argc, argv, set, count);
}
