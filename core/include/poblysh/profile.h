/* profile.h: profiles (POBLYSH_PROFILE), the database URL they imply, and the
 * startup entry point a service calls.
 *
 * local and test migrate automatically at startup; every other profile only
 * migrates when told to (poblysh migrate up).
 *
 * Threads: pm_profile_current(), pm_profile_database_url() and pm_startup()
 * read the environment with getenv(), as pm_startup_with() does for what its
 * options leave out ($POBLYSH_PROFILE without profile, $POBLYSH_DATABASE_URL
 * without database_url or db). That is safe only while no thread changes the
 * environment (setenv, putenv, unsetenv). Otherwise they keep no state:
 * several threads may start at once, each with its own options, database
 * and pm_error. The callbacks in pm_startup_options are called on the
 * calling thread, before pm_startup_with() returns. */
#ifndef POBLYSH_PROFILE_H
#define POBLYSH_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"
#include "engine.h"
#include "errors.h"
#include "migration.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PM_ENV_PROFILE "POBLYSH_PROFILE"
#define PM_ENV_DATABASE_URL "POBLYSH_DATABASE_URL"
#define PM_DEFAULT_PROFILE "local"
#define PM_LOCAL_DATABASE_URL "sqlite://poblysh.db"
#define PM_TEST_DATABASE_URL "sqlite::memory:"

/* $POBLYSH_PROFILE, or "local" when unset or empty. Borrowed from the
 * environment: valid until the environment changes. */
const char *pm_profile_current(void);

/* true for the profiles that migrate at startup: local and test. */
bool pm_profile_auto_migrates(const char *profile);

/* The database URL to use: url_override when not NULL or empty, else
 * $POBLYSH_DATABASE_URL, else the profile's default (local:
 * sqlite://poblysh.db, test: sqlite::memory:). Any other profile without a
 * URL is PM_EPROFILE. The caller frees *out. */
int pm_profile_database_url(char **out, const char *profile, const char *url_override,
                            pm_error *err);

/* pm_startup() flags. */
#define PM_STARTUP_ALLOW_PENDING                                                                   \
    (1u << 0) /* profiles that do not migrate: start with pending ones */

/* The startup entry point for services: resolves the profile and URL from
 * the environment, opens the database and, for local and test, applies every
 * pending migration of set (refusing, like `migrate up`, while the history
 * needs attention). For other profiles it never migrates: any migration not
 * applied (pending, modified, missing, out-of-order, failed) is a PM_EPENDING
 * error that lists them and advises `<program> migrate up` (this program's
 * own name, where the C library says it: glibc; else poblysh);
 * PM_STARTUP_ALLOW_PENDING tolerates pending ones only. On success the
 * caller owns *out (pm_db_close) and may keep using it. The same as
 * pm_startup_with() with PM_STARTUP_OPTIONS_INIT and flags. */
int pm_startup(pm_db **out, const pm_migration *const *set, size_t count, unsigned int flags,
               pm_error *err);

/* ==== Startup with options ==== */

/* How important a line of pm_startup_with()'s log is. */
typedef enum pm_log_level {
    PM_LOG_DEBUG = 0,  /* details: how long it waits for the server and the lock */
    PM_LOG_INFO = 1,   /* what it did: profile, database, driver, what was applied */
    PM_LOG_WARNING = 2 /* it starts, but something needs doing (pending migrations allowed) */
} pm_log_level;

/* Called with one line (no newline) per thing startup does. line is
 * borrowed for the call and never holds a password: URLs in it are
 * redacted. Failures are not logged: they are in the pm_error. */
typedef void (*pm_log_fn)(pm_log_level level, const char *line, void *ctx);

#define PM_STARTUP_OPTIONS_VERSION 1

/* What pm_startup() takes from the environment, given by the service
 * instead. Declare it with PM_STARTUP_OPTIONS_INIT, then set members. */
typedef struct pm_startup_options {
    /* PM_STARTUP_OPTIONS_VERSION when the service was built. Members are only
     * ever appended; a version this build does not know (0, or newer) is
     * PM_EINVAL naming it. */
    unsigned int version;
    /* The database; NULL or "": $POBLYSH_DATABASE_URL, then the profile's
     * default (pm_profile_database_url()). Must be NULL when db is set. */
    const char *database_url;
    /* The profile; NULL or "": $POBLYSH_PROFILE, then "local". It decides,
     * as for pm_startup(), whether startup migrates (local, test) or only
     * checks. */
    const char *profile;
    /* Keep retrying the connection for this many seconds while the server
     * refuses connections or is starting (the CLI's --wait); 0: try once.
     * Ignored with db. Negative: PM_EINVAL. */
    int wait_seconds;
    /* How long to wait for another runner's migration lock, in seconds
     * (the CLI's --lock-timeout); 0: the engine's default, 60. Past it,
     * PM_ELOCKED. Negative: PM_EINVAL. */
    int lock_timeout_seconds;
    /* PM_STARTUP_* flags; an unknown bit is PM_EINVAL. */
    unsigned int flags;
    /* The engine's events for each migration applied (PM_EVENT_APPLYING,
     * PM_EVENT_APPLIED, ...; engine.h), with progress_ctx; may be NULL.
     * Only profiles that migrate have any. */
    pm_progress_fn progress;
    void *progress_ctx;
    /* One line per thing startup does (the profile, the redacted URL, the
     * driver, what was applied or is pending), with log_ctx; may be NULL. */
    pm_log_fn log;
    void *log_ctx;
    /* An open database to use instead of opening one: one the service
     * adopted (pm_db_adopt()) or opened itself. Borrowed: startup neither
     * closes it nor returns it in *out, which is set to NULL (out may be
     * NULL). NULL: startup opens the database and returns it in *out. */
    pm_db *db;
    /* The service's own migrate command, named in the advice when startup
     * refuses to start with migrations not applied: "myservice migrate"
     * gives "run `myservice migrate status`, then `myservice migrate up`".
     * NULL: "<program> migrate", this program's name as glibc knows it
     * (program_invocation_short_name), elsewhere "poblysh migrate". */
    const char *command;
} pm_startup_options;

#define PM_STARTUP_OPTIONS_INIT                                                                    \
    {                                                                                              \
        PM_STARTUP_OPTIONS_VERSION, NULL, NULL, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL        \
    }

/* pm_startup() with options instead of the environment (members left NULL
 * or 0 fall back to it, as documented above); opts NULL is
 * PM_STARTUP_OPTIONS_INIT, i.e. pm_startup(out, set, count, 0, err). On
 * success, unless opts->db was given, the caller owns *out (pm_db_close).
 * On failure *out is NULL and nothing startup opened is left open. */
int pm_startup_with(pm_db **out, const pm_migration *const *set, size_t count,
                    const pm_startup_options *opts, pm_error *err);

#ifdef __cplusplus
}
#endif
#endif
