/* cmd_migrate.c: `poblysh migrate up|down|repair`, the command table, and
 * what every command shares: opening a session, Ctrl-C, reporting errors.
 * Each command is one engine call on the compiled-in migration set. No SQL
 * here. */
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_internal.h"
#include "poblysh/sys/driver.h"

/* ==== Errors ==== */

/* Whether message names the migration itself, not only inside a file's
 * path (migrations/1_a.sql:4: ...). */
static bool names_migration(const char *message, const char *name)
{
    size_t n = strlen(name);
    for (const char *at = strstr(message, name); at; at = strstr(at + 1, name)) {
        bool in_path = (at > message && at[-1] == '/') || at[n] == '.' || at[n] == '/';
        if (!in_path)
            return true;
    }
    return false;
}

static int report_error(const pm_error *err, const pm_db *db, bool in_transaction);

int pm__cli_report_error(const pm_error *err, const pm_db *db)
{
    return report_error(err, db, true);
}

/* Whether the migration called name runs in a transaction (true when it is
 * not in the session's set). */
static bool runs_in_transaction(const cli_session *s, const cli_options *opts, const char *name)
{
    size_t count = opts->set_count;
    const pm_migration *const *set = opts->set;
    if (s->source)
        set = pm_source_migrations(s->source, &count);
    for (size_t i = 0; name && set && i < count; i++)
        if (strcmp(set[i]->name, name) == 0)
            return !(set[i]->options & PM_MIGRATION_NO_TRANSACTION);
    return true;
}

/* Only a failed migration that ran in a transaction was rolled back whole:
 * one without a transaction keeps what its statements did. */
static int report_error(const pm_error *err, const pm_db *db, bool in_transaction)
{
    fflush(stdout); /* keep the order of what was printed when both go to one log */
    const char *message = err->message ? err->message : pm_strerror(err->code);
    if (err->migration && !names_migration(message, err->migration))
        fprintf(stderr, "poblysh: error: migration %s failed: %s\n", err->migration, message);
    else
        fprintf(stderr, "poblysh: error: %s\n", message);
    if (err->detail)
        fprintf(stderr, "  detail: %s\n", err->detail);
    if (err->hint) { /* the library's hints name `poblysh migrate ...` commands */
        fputs("  hint: ", stderr);
        pm__cli_put_named(stderr, err->hint);
        fputc('\n', stderr);
    }
    if (err->statement)
        fprintf(stderr, "  statement: %s\n", err->statement);
    if (err->db_code)
        fprintf(stderr, "  database code: %s\n", err->db_code);
    bool rolled_back = err->code == PM_EDB || err->code == PM_EMIGRATION || err->code == PM_EINVAL;
    if (err->migration && rolled_back && in_transaction && (!db || pm_db_transactional_ddl(db)))
        fprintf(stderr, "  its transaction was rolled back: the database is as it was before\n");
    if (err->code == PM_EPROFILE) /* the library names the variable; the flag is ours */
        fprintf(stderr, "  hint: set %s or pass --database-url URL\n", PM_ENV_DATABASE_URL);
    return pm__cli_exit_code(err);
}

int pm__cli_exit_code(const pm_error *err)
{
    switch (err->code) {
    case PM_ECONNECT: return PM_EXIT_CONNECT;
    case PM_EREADONLY: return PM_EXIT_CONNECT;
    case PM_ECHECKSUM:
    case PM_EDRIFT:
    case PM_EFAILED:
    case PM_EFOREIGN:
    case PM_EHISTORY: return PM_EXIT_ATTENTION;
    case PM_EINTERRUPTED: return PM_EXIT_INTERRUPTED;
    case PM_EURL:
    case PM_ENODRIVER:
    case PM_EPROFILE: return PM_EXIT_USAGE;
    case PM_ELOCKED: return PM_EXIT_LOCKED;
    default: return PM_EXIT_FAILURE;
    }
}

/* ==== Ctrl-C ==== */

/* SIGINT and SIGTERM are watched for the whole of a command, from before it
 * connects until it returns. The first one sets signalled and interrupts the
 * open database, if any: the running statement is cancelled where the
 * driver can, a lock wait or a connection being retried (--wait) stops, the
 * engine rolls back and reports. Whatever the command then returns, it exits
 * 130. A second signal ends the process at once (SA_RESETHAND). */
static volatile sig_atomic_t signalled;
static pm_db *volatile interrupt_target;
static pm_fleet *volatile interrupt_fleet; /* a fleet command's: every running target */

static void on_signal(int sig)
{
    (void)sig;
    signalled = 1;
    pm_db *db = interrupt_target;
    if (db)
        pm_db_interrupt(db);
    pm_fleet *fleet = interrupt_fleet;
    if (fleet)
        pm_fleet_interrupt(fleet);
}

void pm__cli_watch_fleet(pm_fleet *fleet)
{
    interrupt_fleet = fleet;
    if (fleet && signalled)
        pm_fleet_interrupt(fleet);
}

bool pm__cli_signalled(void)
{
    return signalled != 0;
}

/* The database a signal interrupts from now on (NULL: none). A signal that
 * came before it was open interrupts it at once. */
void pm__cli_watch_db(pm_db *db)
{
    interrupt_target = db;
    if (db && signalled)
        pm_db_interrupt(db);
}

/* The exit code of a command that was signalled: 130, after saying so when
 * the command itself reported success. */
static int interrupted_exit(int code)
{
    if (code == PM_EXIT_OK) {
        fflush(stdout);
        fprintf(stderr, "poblysh: interrupted by a signal after the work was done: what is "
                        "reported above is complete\n");
    }
    return PM_EXIT_INTERRUPTED;
}

/* ==== --quiet ==== */

/* -q keeps only errors (stderr): stdout goes to /dev/null for the command,
 * except where stdout is the result asked for (status, schema, a dry run's
 * SQL). Returns the saved stdout to restore, or -1 when nothing changed. */
static int silence_stdout(const cli_command *command, const cli_options *opts)
{
    bool result_is_output = strcmp(command->name, "status") == 0 ||
                            strcmp(command->name, "schema") == 0 || (opts->given & OPT_DRY_RUN);
    if (!opts->quiet || result_is_output)
        return -1;
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved < 0 || null < 0 || dup2(null, STDOUT_FILENO) < 0) {
        if (saved >= 0)
            close(saved);
        saved = -1;
    }
    if (null >= 0)
        close(null);
    return saved;
}

static void restore_stdout(int saved)
{
    if (saved < 0)
        return;
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
}

int pm__cli_run_command(const cli_command *command, const cli_options *opts)
{
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* no SA_RESTART: a signal ends a sleep or a wait early */
    signalled = 0;
    interrupt_target = NULL;
    interrupt_fleet = NULL;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    /* A fleet keeps its failures and summary under -q: it quiets itself. */
    bool fleet = (opts->given & OPT_TARGETS) != 0;
    int saved_stdout = fleet ? -1 : silence_stdout(command, opts);
    int code = fleet ? pm__cli_fleet(command, opts) : command->run(opts);
    restore_stdout(saved_stdout);
    interrupt_target = NULL;
    interrupt_fleet = NULL;
    /* A program that called pm_cli_main() gets its own handlers back. */
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return signalled ? interrupted_exit(code) : code;
}

/* ==== Sessions ==== */

/* "lock timeout on ALTER TABLE t ...; rolled back; retry 1 of 3 in 1 s",
 * the statement cut at its first line or 72 characters. */
static void print_retry(const pm_event *ev)
{
    const char *statement = ev->detail ? ev->detail : "a statement";
    int length = (int)strcspn(statement, "\n");
    bool cut = statement[length] != '\0' || length > 72;
    printf("lock timeout on %.*s%s; rolled back; retry %d of %d in %" PRId64 " s\n",
           length > 72 ? 72 : length, statement, cut ? " ..." : "", ev->retry, ev->retries,
           (ev->elapsed_ms + 999) / 1000);
}

/* The events that are not a migration starting, ending or failing
 * (those are progress.c's). */
static void print_notice(const pm_event *ev)
{
    switch (ev->kind) {
    case PM_EVENT_SKIPPED:
        printf("Skipping %s: another runner got there first\n", ev->migration);
        break;
    case PM_EVENT_WILL_DROP: printf("Will drop %s\n", ev->migration); break;
    case PM_EVENT_DROPPED: printf("Dropped %s\n", ev->migration); break;
    case PM_EVENT_ADOPTED: pm__cli_adopt_event(ev->migration); break;
    case PM_EVENT_RETRYING: print_retry(ev); break;
    default: break;
    }
}

static void on_progress(const pm_event *ev, void *ctx)
{
    (void)ctx;
    pm__cli_progress_event(ev, print_notice);
}

/* A dry run prints the SQL instead, each migration under a header. */
typedef struct dry_run_state {
    const char *current; /* the migration whose header was printed last */
    int started;
    int begin_held; /* a BEGIN not printed yet: dropped if COMMIT follows */
    int delimit;    /* MySQL: a statement holding ';' goes between DELIMITER lines */
} dry_run_state;

/* A terminator the mysql client can take for sql: one it does not hold. */
static const char *delimiter_for(const char *sql)
{
    static const char *const candidates[] = {"$$", "//", ";;", "$$$", "///"};
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        if (!strstr(sql, candidates[i]))
            return candidates[i];
    }
    return "$$$$";
}

/* One statement, terminated so the output can be pasted into the database's
 * client. On MySQL each statement is one the run sends on its own; one that
 * holds ';' (a stored program's body) is printed as the mysql client needs
 * it, between DELIMITER lines. */
static void print_statement(const dry_run_state *st, const char *sql, size_t n)
{
    const char *last_line = sql + n;
    while (last_line > sql && last_line[-1] != '\n')
        last_line--;
    size_t rest = (size_t)(sql + n - last_line);
    /* a terminator after a -- or # comment would be part of it */
    const char *gap = memchr(last_line, '#', rest) || strstr(last_line, "--") ? "\n" : "";
    if (st->delimit && memchr(sql, ';', n)) {
        const char *d = delimiter_for(sql);
        printf("DELIMITER %s\n%.*s%s%s\nDELIMITER ;\n", d, (int)n, sql, gap, d);
        return;
    }
    printf("%.*s%s%s\n", (int)n, sql, sql[n - 1] == ';' ? "" : gap, sql[n - 1] == ';' ? "" : ";");
}

static void on_dry_run_sql(const char *migration, const char *sql, void *ctx)
{
    dry_run_state *st = ctx;
    if (strcmp(sql, "BEGIN") == 0 && !st->begin_held) {
        st->begin_held = 1;
        return;
    }
    if (strcmp(sql, "COMMIT") == 0 && st->begin_held) { /* an empty transaction */
        st->begin_held = 0;
        return;
    }
    if (!st->started || (migration != st->current &&
                         (!migration || !st->current || strcmp(migration, st->current) != 0))) {
        printf("%s-- %s\n", st->started ? "\n" : "", migration ? migration : "poblysh bookkeeping");
        st->current = migration;
        st->started = 1;
    }
    if (st->begin_held)
        printf("BEGIN;\n");
    st->begin_held = 0;
    size_t n = strlen(sql);
    while (n &&
           (sql[n - 1] == '\n' || sql[n - 1] == ' ' || sql[n - 1] == '\t' || sql[n - 1] == '\r'))
        n--; /* an SQL file's section ends in blank lines */
    if (n)
        print_statement(st, sql, n);
}

static void on_dry_run_progress(const pm_event *ev, void *ctx)
{
    (void)ev;
    (void)ctx; /* the SQL is the output */
}

static dry_run_state dry_run;

/* One line per failed attempt while --wait waits; why comes scrubbed of
 * secrets by the library. */
static void print_waiting(void *ctx, int attempt, double elapsed, int wait_seconds, const char *why)
{
    (void)ctx;
    fflush(stdout);
    fprintf(stderr, "poblysh: waiting for the database (attempt %d, %.1f s of %d s): %s\n", attempt,
            elapsed, wait_seconds, why);
}

void pm__cli_db_options(pm_db_options *dopts, const cli_options *opts)
{
    pm_db_options init = PM_DB_OPTIONS_INIT;
    *dopts = init;
    dopts->wait_seconds = opts->wait;
    dopts->interrupt = &signalled;
    dopts->waiting = print_waiting;
}

const char *pm__cli_source_dir(const cli_options *opts)
{
    const char *dir = opts->source   ? opts->source
                      : opts->config ? pm_config_get(opts->config, "migrations_dir")
                                     : getenv(PM_ENV_MIGRATIONS_DIR);
    return dir && *dir ? dir : NULL;
}

/* -v: the profile, the settings file, the URL (redacted) and which step of
 * the resolution order gave it. */
void pm__cli_say_database(const pm_config *cfg, const char *url, bool own)
{
    const char *path = pm_config_path(cfg);
    char *shown = pm_url_redact(url);
    fprintf(stderr, "poblysh: profile %s, settings file %s\n", pm_config_profile(cfg),
            path ? path : "none");
    fprintf(stderr,
            "poblysh: database URL %s, from %s (looked for, in order: --database-url, %s, %s, "
            "the same in .env, the profile's section of the settings file, the profile's "
            "default)\n",
            shown ? shown : "?",
            own ? "the command itself (a database of its own)"
                : pm_config_origin(cfg, "database_url"),
            PM_ENV_DATABASE_URL, PM_ENV_DATABASE_URL_COMMON);
    free(shown);
}

int pm__cli_no_database(const char *profile, pm_error *err)
{
    return pm_error_set(err, PM_EPROFILE,
                        "profile \"%s\" has no database (only the local and test profiles have "
                        "defaults): set %s or %s, or database_url in [%s] of %s",
                        profile, PM_ENV_DATABASE_URL, PM_ENV_DATABASE_URL_COMMON, profile,
                        PM_CONFIG_FILE);
}

/* A schema that does not exist, or an engine without schemas, is what -s
 * or the profile's schema= asked for, not the database's failure: reported
 * as a usage error (exit 2, like a bad URL) before anything ran. */
static int schema_refused(int rc, pm_error *err)
{
    if ((rc == PM_ENOTFOUND || rc == PM_EUNSUPPORTED) && err)
        rc = err->code = PM_EURL;
    return rc;
}

/* Reading a folder of SQL files (a few system calls and a hash a file) and
 * connecting (a server's authentication, SQLite reading its schema) take
 * milliseconds each and need nothing from each other, so a command that
 * creates nothing reads the folder on a second thread while it connects.
 * One that may create the database reads it first: a folder that cannot be
 * read must not leave a new, empty database behind. */
typedef struct {
    const cli_options *opts;
    pm_source *source;
    pm_error err;
    int rc;
    bool threaded;
    pthread_t thread;
} source_load;

static void *load_source(void *arg)
{
    source_load *load = arg;
    load->rc = pm__cli_source_open(&load->source, load->opts, &load->err);
    return NULL;
}

static void source_load_start(source_load *load, const cli_options *opts, bool in_background)
{
    pm_error init = PM_ERROR_INIT;
    *load = (source_load){.opts = opts, .err = init};
    in_background = in_background && pm__cli_source_dir(opts);
    load->threaded = in_background && pthread_create(&load->thread, NULL, load_source, load) == 0;
    if (!load->threaded)
        load_source(load);
}

/* The source into *out; on failure its error replaces err's, as the folder
 * was read first when it was not read in the background. */
static int source_load_finish(source_load *load, pm_source **out, pm_error *err)
{
    if (load->threaded)
        pthread_join(load->thread, NULL);
    *out = load->source;
    if (load->rc < 0) {
        pm_error_clear(err);
        *err = load->err;
    }
    return load->rc;
}

/* The database the options name, opened; s->profile set. */
static int open_database(cli_session *s, const cli_options *opts, bool create, pm_error *err);
/* The rest of a session on the open database: schema, engine, first lines. */
static int prepare_session(cli_session *s, const cli_options *opts, int quiet, pm_error *err);

int pm__cli_session_open(cli_session *s, const cli_options *opts, int quiet, bool create,
                         pm_error *err)
{
    memset(s, 0, sizeof(*s));
    source_load load;
    source_load_start(&load, opts, !create);
    int rc = create ? 0 : open_database(s, opts, false, err);
    int src = source_load_finish(&load, &s->source, err);
    if (src < 0) { /* reported as if the folder had been read first */
        pm_db_close(s->db);
        s->db = NULL;
        return src;
    }
    if (rc == 0 && create)
        rc = open_database(s, opts, true, err);
    if (rc < 0)
        return rc;
    return prepare_session(s, opts, quiet, err);
}

static int open_database(cli_session *s, const cli_options *opts, bool create, pm_error *err)
{
    s->profile = pm_config_profile(opts->config);
    /* A command may work on a database of its own (verify's scratch one). */
    const char *resolved = pm_config_get(opts->config, "database_url");
    const char *url = opts->database_url ? opts->database_url : resolved;
    bool own = !resolved || strcmp(url, resolved) != 0;
    /* Only the local profile's ./poblysh.db is a default a person may not expect. */
    s->local_default = !own && pm_config_is_default(opts->config, "database_url") &&
                       strcmp(s->profile, PM_DEFAULT_PROFILE) == 0;
    if (!url)
        return pm__cli_no_database(s->profile, err);
    if (opts->verbose)
        pm__cli_say_database(opts->config, url, own);
    pm_db_options dopts;
    pm__cli_db_options(&dopts, opts);
    if (!create)
        dopts.flags |= PM_DB_OPEN_EXISTING;
    return pm_db_open(&s->db, url, &dopts, err);
}

static int prepare_session(cli_session *s, const cli_options *opts, int quiet, pm_error *err)
{
    int rc;
    pm__cli_watch_db(s->db);
    const char *schema = pm_config_get(opts->config, "schema"); /* -s, else the profile's */
    if (schema && (rc = pm_db_use_schema(s->db, schema, err)) < 0)
        return schema_refused(rc, err);
    if (schema && opts->verbose)
        fprintf(stderr, "poblysh: schema %s, from %s\n", schema,
                pm_config_origin(opts->config, "schema"));
    /* Statements holding ';' need DELIMITER lines where the backend's
     * lexical rules are the mysql client's. */
    const pm_backend *backend = pm_backend_find(pm_db_backend_name(s->db));
    dry_run.delimit = backend && (backend->lexer_flags & PM_SQL_MYSQL);
    if (opts->verbose)
        fprintf(stderr, "poblysh: connected with the %s driver\n", pm_db_driver_name(s->db));
    if (!quiet) /* a dry run's output stays runnable SQL */
        printf("%sDatabase: %s (%s, profile %s%s)\n", (opts->given & OPT_DRY_RUN) ? "-- " : "",
               pm_db_url(s->db), pm_db_driver_name(s->db), s->profile,
               s->local_default ? ": its default database" : "");
    size_t count = 0;
    const pm_migration *const *set = NULL;
    if (s->source) {
        set = pm_source_migrations(s->source, &count);
        if (opts->verbose)
            fprintf(stderr, "poblysh: %zu migration(s) from %s\n", count, pm__cli_source_dir(opts));
    } else {
        set = opts->set;
        count = opts->set_count;
        if (opts->verbose)
            fprintf(stderr, "poblysh: %zu migration(s) compiled in\n", count);
    }
    pm_engine_options eopts;
    pm__cli_engine_options(&eopts, opts);
    eopts.progress = quiet ? NULL : (opts->given & OPT_DRY_RUN) ? on_dry_run_progress : on_progress;
    if (opts->given & OPT_DRY_RUN) {
        eopts.dry_run = on_dry_run_sql;
        eopts.dry_run_ctx = &dry_run;
    }
    return pm_engine_new(&s->engine, s->db, set, count, &eopts, err);
}

int pm__cli_source_open(pm_source **out, const cli_options *opts, pm_error *err)
{
    *out = NULL;
    if (!pm__cli_source_dir(opts)) /* the compiled-in set */
        return 0;
    int rc = pm_source_new(out, err);
    if (rc == 0)
        rc = pm_source_add_dir_as(*out, pm__cli_source_dir(opts), opts->layout, err);
    return rc;
}

void pm__cli_engine_options(pm_engine_options *eopts, const cli_options *opts)
{
    pm_engine_options init = PM_ENGINE_OPTIONS_INIT;
    *eopts = init;
    eopts->lock_timeout_seconds = opts->lock_timeout;
    eopts->ddl_lock_timeout_ms = opts->ddl_lock_timeout_ms;
    eopts->statement_timeout_ms = opts->statement_timeout_ms;
    eopts->ddl_retries = opts->ddl_retries;
    if (opts->given & OPT_IGNORE_MODIFIED)
        eopts->flags |= PM_ENGINE_IGNORE_MODIFIED;
    if (opts->given & OPT_ALLOW_MISSING)
        eopts->flags |= PM_ENGINE_ALLOW_MISSING;
    if (opts->given & OPT_ALLOW_OUT_OF_ORDER)
        eopts->flags |= PM_ENGINE_ALLOW_OUT_OF_ORDER;
}

void pm__cli_session_close(cli_session *s)
{
    pm__cli_watch_db(NULL);
    pm_engine_free(s->engine);
    pm_db_close(s->db);
    pm_source_free(s->source);
    s->engine = NULL;
    s->db = NULL;
    s->source = NULL;
}

/* Runs body on an open session and turns the outcome into an exit code.
 * Only a command that builds the schema creates a missing SQLite file
 * (create); the others have nothing to do without one. */
static int with_session(const cli_options *opts, bool create,
                        int (*body)(cli_session *, const cli_options *, pm_error *))
{
    cli_session s;
    pm_error err = PM_ERROR_INIT;
    int rc = pm__cli_session_open(&s, opts, 0, create, &err);
    if (rc == 0 && (opts->given & OPT_DRY_RUN))
        printf("-- Dry run: nothing below is run; this is the SQL the command would send.\n");
    pm__cli_progress_begin(opts->progress);
    if (rc == 0)
        rc = body(&s, opts, &err);
    pm__cli_progress_end();
    /* A refusal already explained itself (production_guard) and set no error. */
    int code = rc < 0 && !err.code ? PM_EXIT_USAGE
               : rc < 0 ? report_error(&err, s.db, runs_in_transaction(&s, opts, err.migration))
                        : PM_EXIT_OK;
    if (rc < 0 && err.code)
        pm__cli_advise(&s, opts, &err);
    pm__cli_session_close(&s);
    pm_error_clear(&err);
    return code;
}

static const char *plural(size_t n)
{
    return n == 1 ? "" : "s";
}

/* ==== up ==== */

static int up_body(cli_session *s, const cli_options *opts, pm_error *err)
{
    size_t applied = 0;
    int rc = pm_engine_up(s->engine, (opts->given & OPT_NUM) ? opts->count : PM_ALL, &applied, err);
    pm__cli_progress_end(); /* the bar goes before the summary */
    if (rc < 0) {
        if (applied)
            printf("Applied %zu migration%s before the %s; %s applied.\n", applied, plural(applied),
                   rc == PM_EINTERRUPTED ? "interrupt" : "failure",
                   applied == 1 ? "it stays" : "they stay");
        return rc;
    }
    if (opts->given & OPT_DRY_RUN)
        printf("\n-- Dry run: %zu migration%s would be applied.\n", applied, plural(applied));
    else if (applied)
        printf("Applied %zu migration%s.\n", applied, plural(applied));
    else
        printf("Nothing to apply: the database is up to date.\n");
    return 0;
}

static int cmd_up(const cli_options *opts)
{
    int code = (opts->given & OPT_CREATE_DATABASE) ? pm__cli_database_ensure(opts) : PM_EXIT_OK;
    return code ? code : with_session(opts, true, up_body);
}

/* ==== down ==== */

/* Reverting can drop tables and their data: outside local and test it
 * needs --yes. */
int pm__cli_production_guard(const char *command, const cli_options *opts)
{
    const char *profile = pm_config_profile(opts->config);
    if (pm_profile_auto_migrates(profile) || (opts->given & OPT_YES))
        return 0;
    fflush(stdout);
    fprintf(stderr,
            "poblysh: refusing to run migrate %s under profile \"%s\": it can drop tables and "
            "data. Pass --yes to confirm.\n",
            command, profile);
    return PM_EXIT_USAGE;
}

static int down_body(cli_session *s, const cli_options *opts, pm_error *err)
{
    if (!(opts->given & OPT_DRY_RUN) && pm__cli_production_guard("down", opts))
        return PM_EPROFILE;
    size_t reverted = 0;
    int rc = pm_engine_down(s->engine, (opts->given & OPT_NUM) ? opts->count : 1, &reverted, err);
    pm__cli_progress_end(); /* the bar goes before the summary */
    if (rc < 0) {
        if (reverted)
            printf("Reverted %zu migration%s before the failure.\n", reverted, plural(reverted));
        return rc;
    }
    if (opts->given & OPT_DRY_RUN)
        printf("\n-- Dry run: %zu migration%s would be reverted.\n", reverted, plural(reverted));
    else if (reverted)
        printf("Reverted %zu migration%s.\n", reverted, plural(reverted));
    else
        printf("Nothing to revert: no migration is applied.\n");
    return 0;
}

static int cmd_down(const cli_options *opts)
{
    return with_session(opts, false, down_body);
}

/* ==== fresh, refresh, reset ==== */

static int fresh_body(cli_session *s, const cli_options *opts, pm_error *err)
{
    if (pm__cli_production_guard("fresh", opts))
        return PM_EPROFILE;
    printf("Dropping everything the migrations made (listed first), then applying every "
           "migration.\n");
    size_t applied = 0;
    int rc = pm_engine_fresh(s->engine, &applied, err);
    pm__cli_progress_end(); /* the bar goes before the summary */
    if (rc == 0)
        printf("Applied %zu migration%s.\n", applied, plural(applied));
    else if (applied)
        printf("Applied %zu migration%s before the %s; %s applied.\n", applied, plural(applied),
               rc == PM_EINTERRUPTED ? "interrupt" : "failure",
               applied == 1 ? "it stays" : "they stay");
    return rc;
}

static int reset_body(cli_session *s, const cli_options *opts, pm_error *err)
{
    if (pm__cli_production_guard("reset", opts))
        return PM_EPROFILE;
    printf("Reverting every applied migration.\n");
    size_t reverted = 0;
    int rc = pm_engine_reset(s->engine, &reverted, err);
    pm__cli_progress_end(); /* the bar goes before the summary */
    if (rc == 0)
        printf("Reverted %zu migration%s.\n", reverted, plural(reverted));
    return rc;
}

static int refresh_body(cli_session *s, const cli_options *opts, pm_error *err)
{
    if (pm__cli_production_guard("refresh", opts))
        return PM_EPROFILE;
    printf("Reverting every applied migration, then applying every migration.\n");
    size_t reverted = 0, applied = 0;
    int rc = pm_engine_refresh(s->engine, &reverted, &applied, err);
    pm__cli_progress_end(); /* the bar goes before the summary */
    if (rc == 0)
        printf("Reverted %zu migration%s and applied %zu.\n", reverted, plural(reverted), applied);
    return rc;
}

static int cmd_fresh(const cli_options *opts)
{
    return with_session(opts, true, fresh_body);
}

static int cmd_reset(const cli_options *opts)
{
    return with_session(opts, false, reset_body);
}

static int cmd_refresh(const cli_options *opts)
{
    return with_session(opts, true, refresh_body);
}

/* ==== repair ==== */

static int repair_body(cli_session *s, const cli_options *opts, pm_error *err)
{
    int rc = pm_engine_repair(s->engine, opts->repair, opts->repair_name, err);
    if (rc < 0)
        return rc;
    static const char *const done[] = {
        [PM_REPAIR_ACCEPT] = "recorded the current checksum of",
        [PM_REPAIR_APPLIED] = "marked as applied",
        [PM_REPAIR_ROLLBACK] = "forgot the history row of",
    };
    printf("Repaired: %s %s.\n", done[opts->repair], opts->repair_name);
    return 0;
}

static int cmd_repair(const cli_options *opts)
{
    if (!(opts->given & OPT_REPAIR)) {
        fprintf(stderr, "poblysh: migrate repair needs --accept NAME, --applied NAME or "
                        "--rollback NAME\nTry 'poblysh migrate repair --help'.\n");
        return PM_EXIT_USAGE;
    }
    return with_session(opts, false, repair_body);
}

/* ==== Command table ==== */

const cli_command pm__cli_migrate_commands[] = {
    {"up", cmd_up, "Apply pending migrations",
     "Usage: poblysh migrate up [-n N] [--dry-run] [--ignore-modified] [--allow-missing]\n"
     "                          [--allow-out-of-order] [--database-url URL] [--lock-timeout SECS]\n"
     "\n"
     "Applies pending migrations in order, each with its history row in one transaction\n"
     "(a migration that runs without a transaction is recorded as started, then applied).\n"
     "A failing migration stops the run; earlier ones stay applied. Refuses to start, exit 5,\n"
     "while the database holds another tool's history not adopted yet (see migrate adopt),\n"
     "and while a migration is failed, modified, missing or out of order, unless allowed:\n"
     "\n"
     "  -n, --num N             apply at most N migrations (default: all pending)\n"
     "  --ignore-modified       apply even though applied migrations were edited since\n"
     "  --allow-missing         apply even though the database has versions this build lacks\n"
     "  --allow-out-of-order    also apply pending migrations older than the newest applied one\n"
     "  --dry-run               print the SQL up would send (history bookkeeping included), each\n"
     "                          migration under a header, and change nothing\n"
     "  --create-database       create the URL's database first when it does not exist\n",
     OPT_NUM | OPT_IGNORE_MODIFIED | OPT_ALLOW_MISSING | OPT_ALLOW_OUT_OF_ORDER | OPT_DRY_RUN |
         OPT_CREATE_DATABASE | OPT_FLEET,
     1},
    {"down", cmd_down, "Revert the last applied migration(s)",
     "Usage: poblysh migrate down [-n N] [--dry-run] [--yes] [--database-url URL]\n"
     "                            [--lock-timeout SECS]\n"
     "\n"
     "Reverts the last N applied migrations, the last applied first (by the order they were\n"
     "applied in, not by name), each in one transaction.\n"
     "\n"
     "  -n, --num N   revert N migrations (default: 1)\n"
     "  --yes         required under any profile but local and test: down can drop data\n"
     "  --dry-run     print the SQL down would send and change nothing\n",
     OPT_NUM | OPT_YES | OPT_DRY_RUN | OPT_FLEET, 1},
    {"fresh", cmd_fresh, "Drop everything the migrations made, then apply every migration",
     "Usage: poblysh migrate fresh [--yes] [--database-url URL]\n"
     "\n"
     "Lists, then drops, everything the migrations made: every table, view, sequence and type\n"
     "of the target schema (PostgreSQL: also materialized views, functions, procedures,\n"
     "domains, the other schemas the role owns and event triggers calling their functions;\n"
     "MySQL: also routines and events), the history table last, then applies every migration.\n"
     "Refused, dropping nothing (exit 5), where another tool's history is not adopted yet.\n"
     "Under any profile but local and test it needs --yes.\n",
     OPT_YES, 1},
    {"refresh", cmd_refresh, "Revert every applied migration, then apply every migration",
     "Usage: poblysh migrate refresh [--yes] [--database-url URL]\n"
     "\n"
     "Runs every applied migration's down(), last applied first, then every up().\n"
     "Under any profile but local and test it needs --yes.\n",
     OPT_YES, 1},
    {"reset", cmd_reset, "Revert every applied migration",
     "Usage: poblysh migrate reset [--yes] [--database-url URL]\n"
     "\n"
     "Runs every applied migration's down(), last applied first.\n"
     "Under any profile but local and test it needs --yes.\n",
     OPT_YES, 1},
    {"status", pm__cli_status, "Show every migration and its state",
     "Usage: poblysh migrate status [--format text|json] [--exit-code] [--database-url URL]\n"
     "\n"
     "Lists every migration with its state:\n"
     "  applied        applied, and unchanged since (\"applied (no checksum)\": written by\n"
     "                 SeaORM, or before checksums were recorded)\n"
     "  pending        not applied yet\n"
     "  modified       applied, but edited since: both checksums are shown\n"
     "  missing        recorded in the database, absent from this build\n"
     "  out-of-order   pending, but older than the newest applied migration\n"
     "  failed         ran without a transaction (or where DDL commits implicitly) and\n"
     "                 failed or never finished\n"
     "Exits 5 when a migration is failed, modified, missing or out of order, or when the\n"
     "database holds another tool's history not adopted yet (see migrate adopt).\n"
     "\n"
     "  --format json  one JSON document (schema in docs/status-json.md)\n"
     "  --exit-code    exit 5 unless every migration is applied (for CI and readiness probes)\n",
     OPT_FORMAT | OPT_EXIT_CODE | OPT_FLEET, 1},
    {"adopt", pm__cli_adopt, "Record as applied what another tool's history says was run",
     "Usage: poblysh migrate adopt [TOOL] [--dry-run] [--allow-unmatched] [--allow-failed]\n"
     "                             [--database-url URL] [--lock-timeout SECS]\n"
     "\n"
     "Takes over a database another tool migrated: reads its history table and records the\n"
     "migrations of this set it says were run as applied in seaql_migrations, matched by\n"
     "version, in one transaction. Its table is only read. Adopting twice changes nothing;\n"
     "migrations newer than its history stay pending for up. TOOL, needed only when the\n"
     "database holds two of these tables:\n"
     "  dbmate          schema_migrations (version), one row per applied version\n"
     "  golang-migrate  schema_migrations (version, dirty): every version up to it\n"
     "  goose           goose_db_version: the last row of each version_id decides\n"
     "  sqlx            _sqlx_migrations (success false: failed)\n"
     "  diesel          __diesel_schema_migrations\n"
     "  flyway          flyway_schema_history: dotted versions (V1.1__x), BASELINE, failed rows\n"
     "Refuses, writing nothing (exit 5), versions the tool records that this set lacks and a\n"
     "dirty or failed version, unless allowed. See docs/adopting.md.\n"
     "\n"
     "  --dry-run          print what it would record and write nothing\n"
     "  --allow-unmatched  leave out versions the tool records that this set lacks\n"
     "  --allow-failed     record a dirty or failed version as failed (then `repair` it)\n",
     OPT_ARGUMENT | OPT_DRY_RUN | OPT_ALLOW_UNMATCHED | OPT_ALLOW_FAILED, 1},
    {"repair", cmd_repair, "Fix the history after an intended edit or a failed migration",
     "Usage: poblysh migrate repair (--accept NAME | --applied NAME | --rollback NAME)\n"
     "\n"
     "Edits one history row, and nothing else:\n"
     "  --accept NAME    record NAME's current checksum: the edit since it was applied is\n"
     "                   intended (also fills in rows SeaORM wrote without one)\n"
     "  --applied NAME   NAME is failed and you finished its work by hand: mark it applied\n"
     "  --rollback NAME  NAME is failed and you undid its work by hand: forget its row\n",
     OPT_REPAIR, 1},
    {"schema", pm__cli_schema, "Print the database's schema as sorted, backend-neutral text",
     "Usage: poblysh migrate schema [--output FILE] [--database-url URL]\n"
     "\n"
     "Prints every table (columns with type, nullability and default; primary key, unique\n"
     "constraints, indexes, foreign keys), view, sequence and type of the target schema,\n"
     "sorted, one item per line, leaving out the history table. Commit it with --output to\n"
     "see schema changes as diffs in review.\n"
     "\n"
     "  --output FILE   write it to FILE instead of stdout\n",
     OPT_OUTPUT, 0},
    {"verify", pm__cli_verify, "Check that every down() restores the schema exactly",
     "Usage: poblysh migrate verify [--strict] [--database-url URL]\n"
     "\n"
     "On a scratch database, for each migration in order: snapshot the schema, apply up,\n"
     "apply down, compare with the snapshot, apply up again. Every migration is checked,\n"
     "also after one fails; a difference is shown for the objects that differ only, and a\n"
     "summary ends the output, one line per migration (ok, warning or FAILED: why). Exits 1\n"
     "if any failed.\n"
     "\n"
     "  --database-url URL  where to verify: by default a fresh in-memory SQLite database; on\n"
     "                      a PostgreSQL or MySQL URL it creates a scratch database\n"
     "                      pm_verify_<random> on that server, works only there and drops it\n"
     "                      afterwards (also on failure or Ctrl-C): the URL's database is not\n"
     "                      touched. A role that may not create databases is refused (exit 2)\n"
     "  --strict            columns left in another order by a down() fail (else a warning)\n",
     OPT_STRICT | OPT_FLEET, 1},
    {"generate", pm__cli_generate, "Create a new migration file and register it",
     "Usage: poblysh migrate generate NAME [--dir DIR] [--sql [--source DIR]]\n"
     "\n"
     "Creates DIR/mYYYY_MM_DD_HHMMSS_NAME.c (UTC time now) with empty up() and down(), and adds\n"
     "it to DIR/registry.def after the newest migration. NAME is 1 to 100 characters of a-z,\n"
     "0-9 and _, starting and ending with a letter or digit. Refused (exit 2): a NAME some\n"
     "registered migration already has, an existing file, or a registry whose newest migration\n"
     "is not older than now. Exit 1: DIR/registry.def cannot be read or updated.\n"
     "Run it from the project root, then rebuild.\n"
     "\n"
     "  --dir DIR   the migrations folder (default: -d/--source DIR, else migrations)\n"
     "  --sql       write an SQL migration instead: DIR/mYYYY_MM_DD_HHMMSS_NAME.sql, embedded at\n"
     "              the next build (no registry line needed); with --source DIR, a file\n"
     "              YYYYMMDDHHMMSS_NAME.sql in that folder (dbmate's naming)\n",
     OPT_DIR | OPT_ARGUMENT | OPT_SQL, 0},
    {"init", pm__cli_init, "Create a migrations folder with a first migration",
     "Usage: poblysh migrate init [NAME] [--dir DIR | -d DIR] [--sql]\n"
     "\n"
     "Creates the folder DIR (default: migrations) with a registry.def and a first C\n"
     "migration, DIR/mYYYY_MM_DD_HHMMSS_NAME.c (NAME default: create_table), written by\n"
     "generate. With --sql: the folder with a first SQL migration instead (with -d DIR, named\n"
     "as generate --sql --source names it). Refused (exit 2) when DIR already exists.\n"
     "\n"
     "  --dir DIR, -d DIR  the folder to create (default: migrations)\n"
     "  --sql              a folder of SQL migrations, for --source\n",
     OPT_DIR | OPT_ARGUMENT | OPT_SQL, 0},
    {NULL, NULL, NULL, NULL, 0, 0},
};
