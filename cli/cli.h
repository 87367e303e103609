/* cli.h: what the CLI's files share: exit codes, parsed options, the command
 * table's entry type, and error printing. */
#ifndef PM_CLI_H
#define PM_CLI_H

#include <stddef.h>

#include "poblysh/poblysh.h"

/* Exit codes, documented in --help and README.md. */
enum {
    PM_EXIT_OK = 0,
    PM_EXIT_FAILURE = 1, /* a migration or database error */
    PM_EXIT_USAGE = 2,   /* bad arguments, an invalid URL, a profile with no database */
    PM_EXIT_LOCKED = 3,  /* another runner held the migration lock past the timeout */
    PM_EXIT_CONNECT = 4, /* could not connect: unreachable, refused, authentication, no database */
    PM_EXIT_INTERRUPTED = 130 /* SIGINT or SIGTERM: the running migration was rolled back */
};

typedef struct cli_options {
    const char *database_url; /* --database-url, or NULL */
    size_t count;             /* -n; 0 when not given */
    int count_given;
    int lock_timeout;         /* --lock-timeout seconds; 0 = default */
    int wait;                 /* --wait seconds for the server to come up; 0 = no retry */
    int verbose;
} cli_options;

typedef int (*cli_command_fn)(const cli_options *opts);

typedef struct cli_command {
    const char *name;
    cli_command_fn run;
    const char *summary;
    const char *usage; /* the text of `poblysh migrate NAME --help` */
    int takes_count;   /* accepts -n */
} cli_command;

/* The migrate subcommands (cmd_migrate.c). */
extern const cli_command cli_migrate_commands[];

/* Prints err to stderr in full and returns the exit code it maps to. db
 * (may be NULL) tells whether a failed migration was wholly rolled back. */
int cli_report_error(const pm_error *err, const pm_db *db);

#endif
