/* database.c: creating and dropping the database a URL names (`poblysh
 * database create|drop|reset`, `up --create-database`). The engine's own
 * SQL and where to connect meanwhile come from its backend; a database that
 * is a file comes from its driver (database_file()). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* What a URL's database is, found without connecting. */
typedef struct target {
    pm_url *parsed;
    const pm_driver *driver;
    const pm_backend *backend;
    char *name; /* the database's name on a server, or its file */
    bool is_file;
} target;

static void target_free(target *t)
{
    pm_url_free(t->parsed);
    free(t->name);
}

static const char *maintenance_of(const pm_backend *b)
{
    return PM__BACKEND_HAS(b, 5, database_maintenance);
}

static char *file_of(const target *t)
{
    return t->driver->version >= 10 && t->driver->database_file
               ? t->driver->database_file(t->parsed)
               : NULL;
}

/* The server database's name: the URL's path without its '/'. */
static int server_name(target *t, const char *shown, pm_error *err)
{
    if (t->parsed->is_conninfo)
        return pm_error_set(err, PM_EURL,
                            "cannot tell which database %s names: give a URL "
                            "(scheme://host/database) to create or drop it",
                            shown);
    const char *path = t->parsed->path;
    if (!path || path[0] != '/' || !path[1])
        return pm_error_set(err, PM_EURL,
                            "%s names no database: add it to the URL's path "
                            "(scheme://host/database)",
                            shown);
    t->name = pm__strdup(path + 1);
    return t->name ? 0 : pm_error_set(err, PM_ENOMEM, "out of memory");
}

static int target_find(target *t, const char *url, pm_error *err)
{
    memset(t, 0, sizeof(*t));
    int rc = pm__url_backend(url, &t->parsed, &t->driver, &t->backend, err);
    if (rc < 0)
        return rc;
    char *shown = pm_url_redact(url);
    if (!shown)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    if ((t->name = file_of(t))) {
        t->is_file = true;
    } else if (maintenance_of(t->backend) &&
               PM__BACKEND_HAS(t->backend, 4, scratch_database_create) &&
               t->backend->scratch_database_drop && t->backend->database_exists) {
        rc = server_name(t, shown, err);
    } else {
        rc = pm_error_set(err, PM_EUNSUPPORTED,
                          "%s has no database to create or drop (%s databases are neither files "
                          "nor made on a server)",
                          shown, t->backend->name);
    }
    free(shown);
    return rc;
}

int pm_database_name(const char *url, char **out, pm_error *err)
{
    *out = NULL;
    target t;
    int rc = target_find(&t, url, err);
    if (rc == 0) {
        *out = t.name;
        t.name = NULL;
    }
    target_free(&t);
    return rc;
}

/* ==== On a server ==== */

static int note_row(void *ctx, size_t n, const char *const *values)
{
    (void)n;
    (void)values;
    *(bool *)ctx = true;
    return 0;
}

/* A connection to the server of url, to its maintenance database. */
static int open_admin(pm_db **admin, const target *t, const char *url, const pm_db_options *opts,
                      pm_error *err)
{
    char *admin_url = pm__url_with_database(url, maintenance_of(t->backend));
    if (!admin_url)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    int rc = pm_db_open(admin, admin_url, opts, err);
    free(admin_url);
    return rc;
}

static int server_exists(pm_db *admin, const char *name, bool *out, pm_error *err)
{
    const char *params[] = {name};
    *out = false;
    return pm__db_query(admin, pm__db_backend(admin)->database_exists, params, 1, note_row, out,
                        err);
}

/* Runs fmt with its "%s" the name, quoted as an identifier. */
static int run_named(pm_db *admin, const char *fmt, const char *name, pm_error *err)
{
    pm_buf quoted = PM_BUF_INIT;
    pm__render_ident(&quoted, pm__db_dialect(admin), name);
    char *q = pm_buf_detach(&quoted);
    char *sql = q ? pm__format(fmt, q, q) : NULL;
    int rc = sql ? pm__db_exec(admin, sql, err) : pm_error_set(err, PM_ENOMEM, "out of memory");
    free(sql);
    free(q);
    return rc;
}

/* Creates (or drops, when create is false) t's database on its server;
 * *changed tells whether it did anything. */
static int server_change(const target *t, const char *url, const pm_db_options *opts, bool create,
                         bool *changed, pm_error *err)
{
    pm_db *admin = NULL;
    int rc = open_admin(&admin, t, url, opts, err);
    bool exists = false;
    if (rc == 0)
        rc = server_exists(admin, t->name, &exists, err);
    if (rc == 0 && exists != create) {
        const pm_backend *b = pm__db_backend(admin);
        rc = run_named(admin, create ? b->scratch_database_create : b->scratch_database_drop,
                       t->name, err);
        if (rc < 0)
            pm__error_prefix(err, "cannot %s database %s", create ? "create" : "drop", t->name);
        *changed = rc == 0;
    }
    pm_db_close(admin);
    return rc;
}

/* ==== A file ==== */

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int file_create(const target *t, const char *url, bool *changed, pm_error *err)
{
    if (file_exists(t->name))
        return 0;
    pm_db *db = NULL;
    int rc = pm_db_open(&db, url, NULL, err); /* opening makes the file */
    pm_db_close(db);
    *changed = rc == 0;
    return rc;
}

static int file_remove(const char *path, pm_error *err)
{
    if (unlink(path) == 0 || errno == ENOENT)
        return 0;
    return pm_error_set(err, PM_EDB, "cannot delete %s: %s", path, strerror(errno));
}

static int file_drop(const target *t, bool *changed, pm_error *err)
{
    if (!file_exists(t->name))
        return 0;
    int rc = file_remove(t->name, err);
    const char *const *suffixes = PM__BACKEND_HAS(t->backend, 5, database_files);
    for (size_t i = 0; rc == 0 && suffixes && suffixes[i]; i++) {
        char *companion = pm__format("%s%s", t->name, suffixes[i]);
        rc =
            companion ? file_remove(companion, err) : pm_error_set(err, PM_ENOMEM, "out of memory");
        free(companion);
    }
    *changed = rc == 0;
    return rc;
}

/* ==== Create and drop ==== */

static int change(const char *url, const pm_db_options *opts, bool create, bool *changed,
                  pm_error *err)
{
    bool ignored = false;
    if (!changed)
        changed = &ignored;
    *changed = false;
    if (!url)
        return pm_error_set(err, PM_EINVAL, "no database URL");
    target t;
    int rc = target_find(&t, url, err);
    if (rc == 0 && t.is_file)
        rc = create ? file_create(&t, url, changed, err) : file_drop(&t, changed, err);
    else if (rc == 0)
        rc = server_change(&t, url, opts, create, changed, err);
    target_free(&t);
    return rc;
}

int pm_database_create(const char *url, const pm_db_options *opts, bool *created, pm_error *err)
{
    return change(url, opts, true, created, err);
}

int pm_database_drop(const char *url, const pm_db_options *opts, bool *dropped, pm_error *err)
{
    return change(url, opts, false, dropped, err);
}
