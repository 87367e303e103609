/* cli_internal.h: what the CLI's files share (their shared names are pm__cli_*:
 * internal to libpoblysh, which holds the command line): exit codes, parsed options, the command
 * table's entry type, opening a session, and error printing. */
#ifndef PM_CLI_H
#define PM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "poblysh/config.h"
#include "poblysh/fleet.h"
#include "poblysh/poblysh.h"

/* Exit codes, documented in --help and README.md. */
enum {
    PM_EXIT_OK = 0,
    PM_EXIT_FAILURE = 1,   /* a migration or database error */
    PM_EXIT_USAGE = 2,     /* bad arguments, an invalid URL, a profile with no database, no --yes */
    PM_EXIT_LOCKED = 3,    /* another runner held the migration lock past the timeout */
    PM_EXIT_CONNECT = 4,   /* could not connect: unreachable, refused, authentication, no database;
                              or a writing command reached a read-only standby */
    PM_EXIT_ATTENTION = 5, /* the history needs attention: up refused (another tool's history
                              not adopted, too), or status --exit-code */
    PM_EXIT_INTERRUPTED = 130 /* SIGINT or SIGTERM: the running migration was stopped */
};

/* Options, each allowed only by the commands whose mask has its bit. */
enum {
    OPT_NUM = 1 << 0,
    OPT_IGNORE_MODIFIED = 1 << 1,
    OPT_ALLOW_MISSING = 1 << 2,
    OPT_ALLOW_OUT_OF_ORDER = 1 << 3,
    OPT_YES = 1 << 4,
    OPT_FORMAT = 1 << 5,
    OPT_EXIT_CODE = 1 << 6,
    OPT_REPAIR = 1 << 7,
    OPT_DRY_RUN = 1 << 8,
    OPT_DIR = 1 << 9,
    OPT_OUTPUT = 1 << 10,
    OPT_ARGUMENT = 1 << 11, /* a positional argument after the command (generate NAME) */
    OPT_SQL = 1 << 12,
    OPT_ALLOW_UNMATCHED = 1 << 13,
    OPT_ALLOW_FAILED = 1 << 14,
    OPT_STRICT = 1 << 15,          /* verify: columns in another order are a failure too */
    OPT_CREATE_DATABASE = 1 << 16, /* up: create the URL's database when missing */
    /* A fleet (cmd_fleet.c): --targets FILE or --targets-query URL SQL, and
     * the options that only apply with one of them. */
    OPT_TARGETS = 1 << 17,
    OPT_JOBS = 1 << 18,
    OPT_CANARY = 1 << 19,
    OPT_KEEP_GOING = 1 << 20,
    OPT_REPORT = 1 << 21
};

/* The options of a fleet, together: what up, down, status and verify allow. */
#define OPT_FLEET (OPT_TARGETS | OPT_JOBS | OPT_CANARY | OPT_KEEP_GOING | OPT_REPORT)

typedef struct cli_options {
    const char *database_url; /* --database-url, or NULL */
    size_t count;             /* -n */
    int lock_timeout;         /* --lock-timeout seconds; 0 = default */
    int ddl_lock_timeout_ms;  /* --ddl-lock-timeout, as pm_engine_options has it */
    int statement_timeout_ms; /* --statement-timeout, likewise */
    int ddl_retries;          /* --ddl-retries, likewise */
    int wait;                 /* --wait seconds for the server to come up; 0 = no retry */
    int verbose;
    int json;         /* --format json */
    pm_repair repair; /* --accept / --applied / --rollback */
    const char *repair_name;
    const char *dir;                /* --dir: the migrations folder for generate */
    const char *output;             /* --output FILE for schema */
    const char *argument;           /* the positional argument (generate NAME) */
    const char *source;             /* --source DIR, or NULL */
    const char *layout;             /* --layout NAME, or NULL (auto) */
    unsigned int given;             /* OPT_* bits the user gave */
    const pm_migration *const *set; /* the program's compiled-in set, or NULL */
    size_t set_count;
    int needs_set_check; /* the command manages migrations: refuse without any */
    int progress;        /* --progress: CLI_PROGRESS_* */
    int quiet;           /* -q, --quiet: errors only */
    /* ---- Where the settings come from (cmd_config.c) ---- */
    const char *config_path;       /* --config FILE, or NULL */
    const char *env_file;          /* --env-file FILE, or NULL */
    int no_env_file;               /* --no-env-file */
    const char *profile;           /* --profile NAME, or NULL */
    const char *lock_timeout_text; /* the flags as given, for pm_config_set() */
    const char *wait_text;
    const char *ddl_lock_timeout_text;
    const char *statement_timeout_text;
    const char *schema; /* -s, --schema NAME, or NULL */
    pm_config *config;  /* the profile's settings, flags included; NULL before loading */
    /* ---- A fleet (cmd_fleet.c): OPT_TARGETS makes the command one ---- */
    const char *targets;           /* --targets FILE ("-": stdin), or NULL */
    const char *targets_query_url; /* --targets-query URL SQL, or NULL */
    const char *targets_query_sql;
    unsigned int jobs;   /* -j, --jobs N; 0: PM_FLEET_DEFAULT_JOBS */
    unsigned int canary; /* --canary K; 0: none */
    const char *report;  /* --report FILE, or NULL */
} cli_options;

/* --progress: a bar on a terminal after a while, else lines (auto); lines
 * only (plain); no per-migration lines, only the summary (none). */
enum { CLI_PROGRESS_AUTO = 0, CLI_PROGRESS_PLAIN, CLI_PROGRESS_NONE };

typedef int (*cli_command_fn)(const cli_options *opts);

typedef struct cli_command {
    const char *name;
    cli_command_fn run;
    const char *summary;
    const char *usage;    /* the text of `poblysh migrate NAME --help` */
    unsigned int allows;  /* OPT_* bits this command accepts */
    int needs_migrations; /* refused, touching nothing, when there are none to manage */
} cli_command;

/* The environment variable naming a folder of SQL migrations. */
#define PM_ENV_MIGRATIONS_DIR "POBLYSH_MIGRATIONS_DIR"

/* The program's name as invoked (argv[0]'s last component), for usage text
 * and hints; "poblysh" for the standalone binary. */
extern const char *pm__cli_program;

/* Writes text with each command-line mention "poblysh ..." naming
 * pm__cli_program instead, so a service's binary documents itself. */
void pm__cli_put_named(FILE *out, const char *text);

/* --source, else $POBLYSH_MIGRATIONS_DIR, else NULL. */
const char *pm__cli_source_dir(const cli_options *opts);

/* The migrate subcommands (cmd_migrate.c). */
extern const cli_command pm__cli_migrate_commands[];

/* The database subcommands, create, drop and reset (cmd_database.c). */
extern const cli_command pm__cli_database_commands[];

/* `up --create-database`: creates the URL's database when missing, saying
 * so; 0 or an exit code (cmd_database.c). */
int pm__cli_database_ensure(const cli_options *opts);

/* Options for opening a database under the CLI: --wait with a line on
 * stderr per failed attempt, and SIGINT/SIGTERM stopping the wait. */
void pm__cli_db_options(pm_db_options *dopts, const cli_options *opts);

/* An open database with the compiled-in set bound to an engine. */
typedef struct cli_session {
    pm_db *db;
    pm_engine *engine;
    pm_source *source; /* --source / POBLYSH_MIGRATIONS_DIR, or NULL */
    const char *profile;
    bool local_default; /* the database is the local profile's ./poblysh.db */
} cli_session;

/* Runs command with SIGINT and SIGTERM watched throughout (cmd_migrate.c):
 * a signal at any point makes the exit code PM_EXIT_INTERRUPTED. */
int pm__cli_run_command(const cli_command *command, const cli_options *opts);

/* Opens the database the flags and profile name (printing which, unless
 * quiet) and binds the compiled-in migration set. Without create, a missing
 * SQLite file is "no such database file" (exit 4), never made empty. */
int pm__cli_session_open(cli_session *s, const cli_options *opts, int quiet, bool create,
                         pm_error *err);
void pm__cli_session_close(cli_session *s);

/* The database a SIGINT or SIGTERM interrupts from now on (NULL: none); a
 * signal that came before interrupts it at once. */
void pm__cli_watch_db(pm_db *db);

/* The fleet a SIGINT or SIGTERM interrupts from now on (NULL: none), as
 * pm__cli_watch_db() does for one database. */
void pm__cli_watch_fleet(pm_fleet *fleet);

/* Whether a SIGINT or SIGTERM came during the command. */
bool pm__cli_signalled(void);

/* The exit code an error maps to (PM_EXIT_*): the one mapping, used for a
 * single run and for each target of a fleet. */
int pm__cli_exit_code(const pm_error *err);

/* down, fresh, reset, refresh outside the local and test profiles need
 * --yes: 0, or PM_EXIT_USAGE after saying why on stderr. */
int pm__cli_production_guard(const char *command, const cli_options *opts);

/* The options every engine of the command gets (timeouts, retries, the
 * --ignore-modified/--allow-* flags); no progress, no dry run. */
void pm__cli_engine_options(pm_engine_options *eopts, const cli_options *opts);

/* Reads --source / $POBLYSH_MIGRATIONS_DIR into *out when one is given
 * (else leaves it NULL): 0 or a negative code. */
int pm__cli_source_open(pm_source **out, const cli_options *opts, pm_error *err);

/* up, down, status or verify over the targets of --targets or
 * --targets-query (cmd_fleet.c); returns the exit code. */
int pm__cli_fleet(const cli_command *command, const cli_options *opts);

/* Prints err to stderr in full and returns the exit code it maps to. db
 * (may be NULL) tells whether a failed migration was wholly rolled back. */
int pm__cli_report_error(const pm_error *err, const pm_db *db);

/* After pm__cli_report_error(): prints what to do next, naming this CLI's
 * commands and flags, when err is a state the history is in (advice.c). The
 * library's messages describe the state only. */
void pm__cli_advise(const cli_session *s, const cli_options *opts, const pm_error *err);

/* ==== Output (output.c) ==== */

/* Writes all of data to fd, retrying short writes. Returns 0, or -1 with
 * errno set. */
int pm__cli_write_all(int fd, const char *data, size_t len);

/* Replaces path with text whole: a temporary file in the same folder,
 * flushed to disk, then renamed over it, so a failure leaves path as it
 * was; a symbolic link's target is replaced, and a device or FIFO
 * (/dev/stdout) is written in place. Returns 0, or -1 with errno set. */
int pm__cli_replace_file(const char *path, const char *text);

/* Flushes stdout; when it or an earlier write to it failed, says so on
 * stderr ("cannot write standard output: No space left on device") and
 * returns PM_EXIT_FAILURE in place of PM_EXIT_OK (another failure's code
 * stands). Every command's exit code goes through it. */
int pm__cli_finish_stdout(int code);
/* After printing a long text to out: keeps saved_errno when stdout failed
 * meanwhile, for pm__cli_finish_stdout() to name. */
void pm__cli_note_stdout(FILE *out, int saved_errno);

/* A JSON string of s (jansson's json_t) with every byte that is not valid
 * UTF-8 replaced by U+FFFD (a Latin-1 name, a latin1 server message), since
 * jansson refuses such text; JSON null for NULL; NULL when out of memory. */
struct json_t *pm__cli_json_text(const char *s);

/* ==== Settings (cmd_config.c) ==== */

/* Reads the profile's settings (pm_config_load_with(): --config, --profile,
 * --env-file, --no-env-file) into opts->config, sets the flags given above
 * them, and fills the options no flag gave from it. Returns 0, or an exit
 * code after printing why (a bad file: PM_EXIT_USAGE). */
int pm__cli_load_config(cli_options *opts);

/* -v: the profile, the settings file, url (redacted) and which step of the
 * resolution order gave it; own: the command chose a database of its own
 * (verify's scratch one). In cmd_migrate.c. */
void pm__cli_say_database(const pm_config *cfg, const char *url, bool own);

/* The PM_EPROFILE error of a profile without a database, naming every
 * place one can be given. */
int pm__cli_no_database(const char *profile, pm_error *err);

/* `poblysh config`: the profile's settings and where each came from. */
int pm__cli_config(const cli_options *opts);

/* `migrate status` (cmd_status.c). */
int pm__cli_status(const cli_options *opts);

/* `migrate generate NAME` (cmd_generate.c): writes a new migration file from
 * a template into opts->dir (default "migrations") and registers it. */
int pm__cli_generate(const cli_options *opts);

/* `migrate schema` and `migrate verify` (cmd_schema.c). */
int pm__cli_schema(const cli_options *opts);
int pm__cli_verify(const cli_options *opts);

/* `migrate adopt [TOOL]` (cmd_adopt.c), and the line it prints for each
 * PM_EVENT_ADOPTED (called by the progress callback). */
int pm__cli_adopt(const cli_options *opts);
void pm__cli_adopt_event(const char *migration);

/* `migrate fresh`, `refresh`, `reset` (cmd_migrate.c). */

/* `migrate init` (cmd_init.c): a new migrations folder with a first
 * migration, made with generate. */
int pm__cli_init(const cli_options *opts);

/* ==== Progress (progress.c) ==== */

/* Whether to colour what goes to stream: a terminal, NO_COLOR unset or
 * empty, TERM not "dumb". */
bool pm__cli_use_color(FILE *stream);
/* Reads --progress's value into *out (CLI_PROGRESS_*); -1 when unknown. */
int pm__cli_progress_parse(const char *text, int *out);
/* Starts a command's progress output in mode (CLI_PROGRESS_*). */
void pm__cli_progress_begin(int mode);
/* Prints what a migration event means; other prints the events that are
 * not a migration starting, ending or failing. */
void pm__cli_progress_event(const pm_event *ev, void (*other)(const pm_event *));
/* Takes the bar off the screen, if it is there, before the summary. */
void pm__cli_progress_end(void);
/* Milliseconds of the monotonic clock. */
int64_t pm__cli_now_ms(void);

#endif
