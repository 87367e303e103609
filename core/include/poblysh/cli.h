/* cli.h: the poblysh command line, embeddable in a service's own binary.
 *
 * SeaORM's services call cli::run_cli(Migrator); a poblysh service's main()
 * calls pm_cli_main() with its own set, so `myservice migrate up|down|
 * status|...` manages that set with every command, option, message and exit
 * code of `poblysh` (see poblysh(1) and poblysh-migrate(1)):
 *
 *     int main(int argc, char **argv)
 *     {
 *         size_t count = 0;
 *         const pm_migration *const *set = pm_builtin_migrations(&count);
 *         return pm_cli_main(argc, argv, set, count);
 *     }
 */
#ifndef POBLYSH_CLI_H
#define POBLYSH_CLI_H

#include <stddef.h>

#include "migration.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Runs the command line argv over set (count migrations, in order) and
 * returns the exit code to pass to exit(): 0 success, 1 a migration or
 * database error, 2 usage, 3 lock timeout, 4 cannot connect, 5 the history
 * needs attention, 130 interrupted (poblysh(1), EXIT STATUS). argv[0]'s last
 * path component names the program in usage text and hints. With set NULL
 * (count 0) only SQL folders given by --source or $POBLYSH_MIGRATIONS_DIR
 * are managed; commands that need migrations and have neither exit 2 with
 * guidance before touching any database.
 *
 * Not thread-safe: it parses with getopt_long(), installs SIGINT and
 * SIGTERM handlers while a command runs, and writes to stdout and stderr;
 * call it from main(), once. Never calls exit(). */
int pm_cli_main(int argc, char **argv, const pm_migration *const *set, size_t count);

#ifdef __cplusplus
}
#endif
#endif
