/* poblysh.c: the standalone poblysh binary. It carries no migrations of its
 * own: it manages the SQL folder given with --source or
 * $POBLYSH_MIGRATIONS_DIR, and says how to give one otherwise. A service
 * offers its own compiled-in set with the same pm_cli_main(). */
#include "poblysh/cli.h"

int main(int argc, char **argv)
{
    return pm_cli_main(argc, argv, NULL, 0);
}
