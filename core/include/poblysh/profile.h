/* profile.h: profiles (POBLYSH_PROFILE), the database URL they imply, and the
 * startup entry point a service calls.
 *
 * local and test migrate automatically at startup; every other profile only
 * migrates when told to (poblysh migrate up). */
#ifndef POBLYSH_PROFILE_H
#define POBLYSH_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"
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
 * environment. */
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

/* The startup entry point for services: resolves the profile and URL, opens
 * the database and, for local and test, applies every pending migration of
 * set (refusing, like `migrate up`, while the history needs attention). For
 * other profiles it never migrates: any migration not applied (pending,
 * modified, missing, out-of-order, failed) is a PM_EPENDING error that lists
 * them; PM_STARTUP_ALLOW_PENDING tolerates pending ones only. On success the
 * caller owns *out (pm_db_close) and may keep using it. */
int pm_startup(pm_db **out, const pm_migration *const *set, size_t count, unsigned int flags,
               pm_error *err);

#ifdef __cplusplus
}
#endif
#endif
