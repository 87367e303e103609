/* profile.c: profiles, the database URL they imply, and pm_startup() and
 * pm_startup_with(), the entry point a service calls at startup: local and
 * test migrate automatically, every other profile only checks. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *pm_profile_current(void)
{
    const char *profile = getenv(PM_ENV_PROFILE);
    return profile && *profile ? profile : PM_DEFAULT_PROFILE;
}

bool pm_profile_auto_migrates(const char *profile)
{
    return profile && (strcmp(profile, "local") == 0 || strcmp(profile, "test") == 0);
}

int pm_profile_database_url(char **out, const char *profile, const char *url_override,
                            pm_error *err)
{
    *out = NULL;
    const char *url = url_override && *url_override ? url_override : getenv(PM_ENV_DATABASE_URL);
    if (!url || !*url) {
        if (profile && strcmp(profile, "local") == 0)
            url = PM_LOCAL_DATABASE_URL;
        else if (profile && strcmp(profile, "test") == 0)
            url = PM_TEST_DATABASE_URL;
        else
            return pm_error_set(err, PM_EPROFILE,
                                "profile \"%s\" has no default database (only the local and "
                                "test profiles have defaults) and %s is not set",
                                profile ? profile : "(none)", PM_ENV_DATABASE_URL);
    }
    *out = pm__strdup(url);
    return *out ? 0 : pm_error_set(err, PM_ENOMEM, "out of memory");
}

/* ==== Startup ==== */

/* The migrate command advice names when the service named none: this
 * program's own, "<program> migrate", since the binary that starts with a
 * compiled-in set is the one whose pm_cli_main() manages it (the standalone
 * poblysh has no such set). glibc says the program's name; elsewhere
 * "poblysh migrate". */
static void default_command(char *buf, size_t size)
{
    const char *program = "poblysh";
#ifdef __GLIBC__
    extern char *program_invocation_short_name;
    if (program_invocation_short_name && *program_invocation_short_name)
        program = program_invocation_short_name;
#endif
    snprintf(buf, size, "%s migrate", program);
}
#define PM_STARTUP__FLAGS PM_STARTUP_ALLOW_PENDING

/* What one startup works with: the options and what they resolved to. */
typedef struct startup {
    const pm_startup_options *opts;
    const char *profile;
    const char *command;
    const pm_migration *const *set;
    size_t count;
} startup;

static void say(const startup *s, pm_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* One line to the service's log callback, if it has one. */
static void say(const startup *s, pm_log_level level, const char *fmt, ...)
{
    if (!s->opts->log)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *line = pm__vformat(fmt, ap);
    va_end(ap);
    if (line)
        s->opts->log(level, line, s->opts->log_ctx);
    free(line);
}

static const char *plural(size_t n)
{
    return n == 1 ? "" : "s";
}

static int check_options(const pm_startup_options *o, pm_db **out, pm_error *err)
{
    if (o->version < 1 || o->version > PM_STARTUP_OPTIONS_VERSION)
        return pm_error_set(err, PM_EINVAL,
                            "pm_startup_options version %u is unknown: this build of poblysh "
                            "knows versions 1 to %d (PM_STARTUP_OPTIONS_VERSION)",
                            o->version, PM_STARTUP_OPTIONS_VERSION);
    if (o->flags & ~(unsigned int)PM_STARTUP__FLAGS)
        return pm_error_set(err, PM_EINVAL, "pm_startup_options: unknown flags 0x%x",
                            o->flags & ~(unsigned int)PM_STARTUP__FLAGS);
    if (o->wait_seconds < 0 || o->lock_timeout_seconds < 0)
        return pm_error_set(err, PM_EINVAL,
                            "pm_startup_options: %s is negative (%d); use 0 for the default",
                            o->wait_seconds < 0 ? "wait_seconds" : "lock_timeout_seconds",
                            o->wait_seconds < 0 ? o->wait_seconds : o->lock_timeout_seconds);
    if (o->db && o->database_url && *o->database_url)
        return pm_error_set(err, PM_EINVAL,
                            "pm_startup_options: database_url and db are both set; give one");
    if (!o->db && !out)
        return pm_error_set(err, PM_EINVAL, "pm_startup_with: out is NULL");
    return 0;
}

/* The error for a profile that does not migrate: every migration that is
 * not applied, by state. Pending ones are tolerated with allow_pending. */
static int check_error(const startup *s, const pm_status *st, bool allow_pending, pm_error *err)
{
    pm_buf msg = PM_BUF_INIT;
    size_t problems = 0;
    for (size_t i = 0; i < pm_status_count(st); i++) {
        const pm_status_entry *e = pm_status_entry_at(st, i);
        if (e->state == PM_STATE_APPLIED || (allow_pending && e->state == PM_STATE_PENDING))
            continue;
        pm_buf_printf(&msg, "%s%s (%s)", problems++ ? ", " : "", e->name, pm_state_name(e->state));
    }
    int rc = 0;
    if (problems)
        rc = pm_error_set(err, PM_EPENDING,
                          "profile \"%s\" does not migrate at startup and the database is not up "
                          "to date: %s; run `%s status`, then `%s up`",
                          s->profile, pm_buf_cstr(&msg), s->command, s->command);
    pm_buf_free(&msg);
    return rc;
}

/* Profiles that do not migrate: the summary, then the refusal if any. */
static int check(const startup *s, pm_engine *engine, pm_error *err)
{
    pm_status *st = NULL;
    int rc = pm_engine_status(engine, &st, err);
    if (rc < 0)
        return rc;
    size_t applied = pm_status_count_state(st, PM_STATE_APPLIED);
    size_t pending = pm_status_count_state(st, PM_STATE_PENDING);
    size_t attention = pm_status_count(st) - applied - pending;
    say(s, PM_LOG_INFO, "%zu of %zu migration%s applied, %zu pending, %zu needing attention",
        applied, s->count, plural(s->count), pending, attention);
    bool allow_pending = s->opts->flags & PM_STARTUP_ALLOW_PENDING;
    rc = check_error(s, st, allow_pending, err);
    if (rc == 0 && pending)
        say(s, PM_LOG_WARNING, "starting with %zu pending migration%s: run `%s up`", pending,
            plural(pending), s->command);
    pm_status_free(st);
    return rc;
}

/* Profiles that migrate: everything pending, then the summary. */
static int migrate(const startup *s, pm_engine *engine, pm_error *err)
{
    size_t applied = 0;
    int rc = pm_engine_up(engine, PM_ALL, &applied, err);
    if (rc == 0 && applied)
        say(s, PM_LOG_INFO, "applied %zu migration%s; the database is up to date", applied,
            plural(applied));
    else if (rc == 0)
        say(s, PM_LOG_INFO, "nothing to apply: the database is up to date (%zu migration%s)",
            s->count, plural(s->count));
    return rc;
}

static int check_or_migrate(const startup *s, pm_db *db, pm_error *err)
{
    pm_engine_options eopts = PM_ENGINE_OPTIONS_INIT;
    eopts.lock_timeout_seconds = s->opts->lock_timeout_seconds;
    eopts.progress = s->opts->progress;
    eopts.progress_ctx = s->opts->progress_ctx;
    pm_engine *engine = NULL;
    int rc = pm_engine_new(&engine, db, s->set, s->count, &eopts, err);
    if (rc < 0)
        return rc;
    if (pm_profile_auto_migrates(s->profile)) {
        if (s->opts->lock_timeout_seconds)
            say(s, PM_LOG_DEBUG, "migration lock: waiting up to %d s for another runner",
                s->opts->lock_timeout_seconds);
        rc = migrate(s, engine, err);
    } else {
        rc = check(s, engine, err);
    }
    pm_engine_free(engine);
    return rc;
}

/* Each failed attempt while waiting for the server, through the log. */
static void log_waiting(void *ctx, int attempt, double elapsed, int wait_seconds, const char *why)
{
    say(ctx, PM_LOG_INFO, "waiting for the database (attempt %d, %.1f s of %d s): %s", attempt,
        elapsed, wait_seconds, why);
}

/* Opens the database the options or the environment name; the caller
 * closes *db. */
static int open_database(const startup *s, pm_db **db, pm_error *err)
{
    char *url = NULL;
    int rc = pm_profile_database_url(&url, s->profile, s->opts->database_url, err);
    if (rc < 0)
        return rc;
    char *shown = pm_url_redact(url);
    say(s, PM_LOG_INFO, "database %s", shown ? shown : "(not shown: out of memory)");
    free(shown);
    if (s->opts->wait_seconds)
        say(s, PM_LOG_DEBUG, "connecting: retrying for up to %d s while the server starts",
            s->opts->wait_seconds);
    pm_db_options dopts = PM_DB_OPTIONS_INIT;
    dopts.wait_seconds = s->opts->wait_seconds;
    dopts.waiting = log_waiting;
    dopts.waiting_ctx = (void *)s;
    rc = pm_db_open(db, url, &dopts, err);
    free(url);
    return rc;
}

int pm_startup_with(pm_db **out, const pm_migration *const *set, size_t count,
                    const pm_startup_options *opts, pm_error *err)
{
    static const pm_startup_options defaults = PM_STARTUP_OPTIONS_INIT;
    pm_error_clear(err);
    if (out)
        *out = NULL;
    const pm_startup_options *o = opts ? opts : &defaults;
    int rc = check_options(o, out, err);
    if (rc < 0)
        return rc;
    char program_command[128];
    default_command(program_command, sizeof(program_command));
    startup s = {o, o->profile && *o->profile ? o->profile : pm_profile_current(),
                 o->command && *o->command ? o->command : program_command, set, count};
    say(&s, PM_LOG_INFO, "profile %s: %s", s.profile,
        pm_profile_auto_migrates(s.profile) ? "applies pending migrations at startup"
                                            : "checks that every migration is applied, never "
                                              "migrates");
    pm_db *db = o->db;
    if (db)
        say(&s, PM_LOG_INFO, "database %s (opened by the service)", pm_db_url(db));
    else if ((rc = open_database(&s, &db, err)) < 0)
        return rc;
    say(&s, PM_LOG_INFO, "driver %s, backend %s", pm_db_driver_name(db), pm_db_backend_name(db));
    rc = check_or_migrate(&s, db, err);
    if (db == o->db)
        return rc;
    if (rc < 0) {
        pm_db_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

int pm_startup(pm_db **out, const pm_migration *const *set, size_t count, unsigned int flags,
               pm_error *err)
{
    pm_startup_options opts = PM_STARTUP_OPTIONS_INIT;
    opts.flags = flags & PM_STARTUP__FLAGS; /* pm_startup() always ignored unknown bits */
    return pm_startup_with(out, set, count, &opts, err);
}
