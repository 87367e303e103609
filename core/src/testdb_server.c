/* testdb_server.c: test databases on a server (PostgreSQL,
 * PM_CAP_CLONE_TEMPLATE). The template is a database named pm_tpl_<hash>,
 * built under a server-wide named lock so concurrent test processes migrate
 * it once; copies are made with CREATE DATABASE ... TEMPLATE. The SQL is the
 * backend's database_* and named_* statements. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "testdb_internal.h"

static unsigned long copy_serial;

/* Eight hex digits that tell this process from others on other hosts or in
 * other containers with the same PID, for names on a shared server. */
static const char *process_tag(void)
{
    static char tag[9];
    static pid_t tagged; /* a forked child makes a tag of its own */
    if (tagged != getpid()) {
        tagged = getpid();
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        uint64_t x = (uint64_t)now.tv_nsec ^ ((uint64_t)now.tv_sec << 20) ^
                     ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)&now;
        x ^= x >> 33; /* splitmix64's finaliser */
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 33;
        snprintf(tag, sizeof(tag), "%08x", (unsigned)(x & 0xffffffffu));
    }
    return tag;
}

/* ==== Statements on the server, with a name in them ==== */

static int exec_named(pm_db *db, const char *fmt, const char *a, const char *b, pm_error *err)
{
    char *sql = pm__format(fmt, a, b);
    if (!sql)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    int rc = pm__db_exec(db, sql, err);
    free(sql);
    return rc;
}

static int note_row(void *ctx, size_t ncolumns, const char *const *values)
{
    (void)ncolumns;
    (void)values;
    *(bool *)ctx = true;
    return 0;
}

static int database_exists(pm_db *admin, const char *name, bool *out, pm_error *err)
{
    const char *params[] = {name};
    *out = false;
    return pm__db_query(admin, pm__db_backend(admin)->database_exists, params, 1, note_row, out,
                        err);
}

/* ==== Preparing the template ==== */

/* Another process renamed its copy into place first: ours goes. */
static int lost_the_race(pm_template *t, const char *building, int rc, pm_error *err)
{
    bool exists = false;
    pm_error ignored = PM_ERROR_INIT;
    pm_db *admin = t->server.admin;
    if (database_exists(admin, t->server.template_name, &exists, &ignored) < 0 || !exists) {
        pm_error_clear(&ignored);
        return rc;
    }
    pm_error_clear(&ignored);
    pm_error_clear(err);
    exec_named(admin, pm__db_backend(admin)->database_drop, building, NULL, NULL);
    return 0;
}

/* Creates the blank database building and migrates it. */
static int migrate_new(pm_template *t, const char *building, const pm_migration *const *set,
                       size_t count, pm_error *err)
{
    const pm_backend *d = pm__db_backend(t->server.admin);
    char *url = pm__url_with_database(t->url, building);
    if (!url)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    int rc = exec_named(t->server.admin, d->database_create, building, d->database_blank, err);
    pm_db *db = NULL;
    if (rc == 0)
        rc = pm_db_open(&db, url, NULL, err);
    if (rc == 0 && (rc = pm_testdb__migrate(db, set, count, err)) < 0)
        pm__error_prefix(err, "cannot migrate the test template %s", pm_db_url(db));
    pm_db_close(db); /* nobody may be connected to a template while it is copied */
    free(url);
    return rc;
}

/* Migrates pm_tpl_<hash>_new_<tag> and renames it pm_tpl_<hash>, so a
 * process that dies half-way leaves no template that looks finished. The
 * name is this process's own: the named lock is per database on PostgreSQL,
 * so processes whose URLs name different databases can build at once, and
 * then the first rename wins. */
static int build_template(pm_template *t, const pm_migration *const *set, size_t count,
                          pm_error *err)
{
    const pm_backend *d = pm__db_backend(t->server.admin);
    char *building = pm__format("%s_new_%s", t->server.template_name, process_tag());
    if (!building)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    int rc = migrate_new(t, building, set, count, err);
    if (rc == 0 && (rc = exec_named(t->server.admin, d->database_rename, building,
                                    t->server.template_name, err)) < 0)
        rc = lost_the_race(t, building, rc, err);
    else if (rc < 0)
        exec_named(t->server.admin, d->database_drop, building, NULL, NULL);
    free(building);
    return rc;
}

/* The named lock makes concurrent processes take turns: the first builds
 * the template, the others find it. */
int pm_testdb__server_prepare(pm_template *t, pm_db *admin, const pm_migration *const *set,
                              size_t count, pm_error *err)
{
    const pm_backend *d = pm__db_backend(admin);
    t->server.admin = admin;
    if (!(t->server.template_name = pm__format("pm_tpl_%s", t->hash)))
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    const char *params[] = {t->server.template_name};
    int rc = pm__db_query(admin, d->named_lock, params, 1, NULL, NULL, err);
    if (rc < 0)
        return rc;
    bool exists = false;
    rc = database_exists(admin, t->server.template_name, &exists, err);
    if (rc == 0 && !exists)
        rc = build_template(t, set, count, err);
    pm_error ignored = PM_ERROR_INIT; /* the session's end releases it anyway */
    pm__db_query(admin, d->named_unlock, params, 1, NULL, NULL, &ignored);
    pm_error_clear(&ignored);
    return rc;
}

/* ==== Copies ==== */

int pm_testdb__server_copy(pm_template *t, pm_db **db, char **name, char **url, pm_error *err)
{
    *name = pm__format("pm_t_%s_%ld_%s_%lu", t->hash, (long)getpid(), process_tag(), ++copy_serial);
    *url = *name ? pm__url_with_database(t->url, *name) : NULL;
    if (!*url)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    const pm_backend *d = pm__db_backend(t->server.admin);
    int rc = exec_named(t->server.admin, d->database_create, *name, t->server.template_name, err);
    if (rc < 0) {
        pm__error_prefix(err, "cannot copy test template %s", t->server.template_name);
        return rc;
    }
    rc = pm_db_open(db, *url, NULL, err);
    if (rc < 0)
        exec_named(t->server.admin, d->database_drop, *name, NULL, NULL);
    return rc;
}

int pm_testdb__server_drop(pm_template *t, const char *name, pm_error *err)
{
    pm_db *admin = t->server.admin;
    return exec_named(admin, pm__db_backend(admin)->database_drop, name, NULL, err);
}

void pm_testdb__server_free(pm_template *t)
{
    pm_db_close(t->server.admin);
    free(t->server.template_name);
    t->server.admin = NULL;
    t->server.template_name = NULL;
}
