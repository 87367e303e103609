/* profile.c: profiles, the database URL they imply, and pm_startup(), the
 * entry point a service calls at startup: local and test migrate
 * automatically, every other profile only checks. */
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

/* The error for a profile that does not migrate: every migration that is
 * not applied, by state. Pending ones are tolerated with allow_pending. */
static int check_error(const char *profile, const pm_status *st, bool allow_pending, pm_error *err)
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
                          "to date: %s; run `poblysh migrate status`, then `poblysh migrate up`",
                          profile, pm_buf_cstr(&msg));
    pm_buf_free(&msg);
    return rc;
}

static int check_or_migrate(pm_db *db, const char *profile, const pm_migration *const *set,
                            size_t count, unsigned int flags, pm_error *err)
{
    pm_engine *engine = NULL;
    int rc = pm_engine_new(&engine, db, set, count, NULL, err);
    if (rc < 0)
        return rc;
    if (pm_profile_auto_migrates(profile)) {
        rc = pm_engine_up(engine, PM_ALL, NULL, err);
    } else {
        pm_status *st = NULL;
        rc = pm_engine_status(engine, &st, err);
        if (rc == 0)
            rc = check_error(profile, st, flags & PM_STARTUP_ALLOW_PENDING, err);
        pm_status_free(st);
    }
    pm_engine_free(engine);
    return rc;
}

int pm_startup(pm_db **out, const pm_migration *const *set, size_t count, unsigned int flags,
               pm_error *err)
{
    pm_error_clear(err);
    *out = NULL;
    const char *profile = pm_profile_current();
    char *url = NULL;
    int rc = pm_profile_database_url(&url, profile, NULL, err);
    if (rc < 0)
        return rc;
    pm_db *db = NULL;
    rc = pm_db_open(&db, url, NULL, err);
    free(url);
    if (rc == 0)
        rc = check_or_migrate(db, profile, set, count, flags, err);
    if (rc < 0) {
        pm_db_close(db);
        return rc;
    }
    *out = db;
    return 0;
}
