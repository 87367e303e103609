/* registry.c: the drivers pm_db_open() chooses from by URL scheme: those a
 * program registered at run time (pm_driver_register(), searched first,
 * latest first, as sqlite3_vfs_register() does) and those compiled in
 * (the generated drivers/builtin.c). A driver's interface version is checked
 * once, here, against the window this build supports. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PM_MAX_REGISTERED 32

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static const pm_driver *registered[PM_MAX_REGISTERED];
static size_t nregistered;

/* ==== Checking a driver ==== */

int pm__driver_check(const pm_driver *d, pm_error *err)
{
    if (!d)
        return pm_error_set(err, PM_EINVAL, "pm_driver_register: driver is NULL");
    const char *name = d->name ? d->name : "(unnamed)";
    if (d->version < PM_DRIVER_VERSION_MIN || d->version > PM_DRIVER_VERSION)
        return pm_error_set(err, PM_ENODRIVER,
                            "driver %s has interface version %u; this build of poblysh knows "
                            "versions %d to %d (sys/driver.h, PM_DRIVER_VERSION)",
                            name, d->version, PM_DRIVER_VERSION_MIN, PM_DRIVER_VERSION);
    const char *missing = !d->name                        ? "name"
                          : !d->schemes || !d->schemes[0] ? "schemes"
                          : !d->open                      ? "open"
                          : !d->close                     ? "close"
                          : !d->exec                      ? "exec"
                          : !d->query                     ? "query"
                          : !d->begin                     ? "begin"
                          : !d->commit                    ? "commit"
                          : !d->rollback                  ? "rollback"
                          : !d->has_table                 ? "has_table"
                          : !d->has_column                ? "has_column"
                                                          : NULL;
    if (missing)
        return pm_error_set(err, PM_ENODRIVER, "driver %s has no %s, which every driver needs",
                            name, missing);
    return 0;
}

/* ==== Registration ==== */

int pm_driver_register(const pm_driver *driver, pm_error *err)
{
    int rc = pm__driver_check(driver, err);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&registry_lock);
    bool known = false;
    for (size_t i = 0; i < nregistered && !known; i++)
        known = registered[i] == driver;
    if (!known && nregistered == PM_MAX_REGISTERED)
        rc = pm_error_set(err, PM_EINVAL, "cannot register driver %s: %d drivers are registered",
                          driver->name, PM_MAX_REGISTERED);
    else if (!known)
        registered[nregistered++] = driver;
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

int pm_driver_unregister(const pm_driver *driver)
{
    int rc = PM_EINVAL;
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < nregistered; i++) {
        if (registered[i] != driver)
            continue;
        memmove(&registered[i], &registered[i + 1], (nregistered - i - 1) * sizeof(*registered));
        nregistered--;
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

/* ==== Finding a driver ==== */

/* Whether entry (a scheme, or "NAME:*" for one with a sub-scheme)
 * names scheme; *sub says which form it was. */
static bool names(const char *entry, const char *scheme, bool *sub)
{
    size_t n = strlen(scheme);
    *sub = strncmp(entry, scheme, n) == 0 && strcmp(entry + n, ":*") == 0;
    return *sub || strcmp(entry, scheme) == 0;
}

static bool claims(const pm_driver *d, const char *scheme, bool want_sub)
{
    bool sub;
    for (const char *const *s = d->schemes; *s; s++)
        if (names(*s, scheme, &sub) && (sub || !want_sub))
            return true;
    return false;
}

/* Every driver, registered first; stops when fn returns true. */
static const pm_driver *first_driver(bool (*fn)(const pm_driver *, const char *, bool),
                                     const char *scheme, bool want_sub)
{
    const pm_driver *found = NULL;
    pthread_mutex_lock(&registry_lock);
    for (size_t i = nregistered; i-- > 0 && !found;)
        if (fn(registered[i], scheme, want_sub))
            found = registered[i];
    pthread_mutex_unlock(&registry_lock);
    const pm_driver *const *builtin = pm__builtin_drivers();
    for (size_t i = 0; builtin[i] && !found; i++)
        if (fn(builtin[i], scheme, want_sub))
            found = builtin[i];
    return found;
}

const pm_driver *pm__driver_find(const char *scheme)
{
    return first_driver(claims, scheme, false);
}

bool pm__scheme_takes_subscheme(const char *scheme)
{
    return first_driver(claims, scheme, true) != NULL;
}

/* Whether d reads connection strings with its own library (conninfo()). */
static bool reads_conninfo(const pm_driver *d)
{
    return PM__DRIVER_HAS(d, 9, conninfo);
}

const pm_driver *pm__scheme_reader(const char *scheme)
{
    const pm_driver *d = pm__driver_find(scheme);
    return d && reads_conninfo(d) ? d : NULL;
}

/* The drivers in search order, copied under the lock so that their
 * conninfo() runs outside it. Returns how many (at most max). */
static size_t search_order(const pm_driver **out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&registry_lock);
    for (size_t i = nregistered; i-- > 0 && n < max;)
        out[n++] = registered[i];
    pthread_mutex_unlock(&registry_lock);
    const pm_driver *const *builtin = pm__builtin_drivers();
    for (size_t i = 0; builtin[i] && n < max; i++)
        out[n++] = builtin[i];
    return n;
}

int pm__conninfo_reader(const pm_driver **out, const char *text, pm_error *why)
{
    const pm_driver *drivers[PM_MAX_REGISTERED + 16];
    size_t n = search_order(drivers, PM_ARRAY_LEN(drivers));
    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!reads_conninfo(drivers[i]))
            continue;
        int rc = drivers[i]->conninfo(text, NULL, NULL, NULL, why);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            *out = drivers[i];
            return 0;
        }
    }
    return 0;
}

static void append_schemes(pm_buf *b, const pm_driver *d)
{
    for (const char *const *s = d->schemes; *s; s++) {
        size_t n = strcspn(*s, ":");
        pm_buf_printf(b, "%s%.*s:%s", b->len ? ", " : "", (int)n, *s, (*s)[n] ? "<driver>:" : "");
    }
}

char *pm_db_known_schemes(void)
{
    pm_buf b = PM_BUF_INIT;
    pthread_mutex_lock(&registry_lock);
    for (size_t i = nregistered; i-- > 0;)
        append_schemes(&b, registered[i]);
    pthread_mutex_unlock(&registry_lock);
    const pm_driver *const *builtin = pm__builtin_drivers();
    for (size_t i = 0; builtin[i]; i++)
        append_schemes(&b, builtin[i]);
    return pm_buf_detach(&b);
}
