/* testdb_internal.h: what the three files of test databases share: the
 * template a (url, migration set) is copied from, and the two ways of
 * copying it (testdb_image.c in the process, testdb_server.c on a server). */
#ifndef PM_TESTDB_INTERNAL_H
#define PM_TESTDB_INTERNAL_H

#include "internal.h"
#include "poblysh/testdb.h"

#define PM_TESTDB_HASH_LEN 16

typedef struct pm_template {
    struct pm_template *next;
    char *url; /* as given, password included: never printed */
    char hash[PM_TESTDB_HASH_LEN + 1];
    /* The set this template was last asked for, so asking again with the
     * same array skips checking and hashing it (sets are static arrays). */
    const pm_migration **set;
    size_t count;
    unsigned int caps;       /* pm_db_capabilities() of url's connection */
    const char *driver_name; /* pm_db_driver_name() of it, for messages */
    /* In-process backends (PM_CAP_CLONE_IMAGE): the migrated database as
     * bytes, and the driver that opens copies of them. */
    struct {
        void *bytes;
        size_t size;
        const pm_driver *driver; /* only handed to pm__db_open_image() */
    } image;
    /* Servers (PM_CAP_CLONE_TEMPLATE): a connection to url's database that
     * creates and drops the others, and the template's name. */
    struct {
        pm_db *admin;
        char *template_name;
    } server;
    /* Rollback mode: the process's shared copy, and whether a test has it. */
    pm_db *shared;
    char *shared_name; /* its database on a server, or NULL */
    char *shared_url;
    bool shared_out;
} pm_template;

/* testdb.c: migrates db with every migration of set. */
int pm_testdb__migrate(pm_db *db, const pm_migration *const *set, size_t count, pm_error *err);

/* ==== testdb_image.c: templates as bytes, copies in memory ==== */

/* Migrates db (url's database, which stays the caller's) and keeps it as
 * t's image. */
int pm_testdb__image_prepare(pm_template *t, pm_db *db, const pm_migration *const *set,
                             size_t count, pm_error *err);
/* A new private in-memory copy of t's image: *db connected to it, *url
 * where it is (malloc'd). */
int pm_testdb__image_copy(pm_template *t, pm_db **db, char **url, pm_error *err);
/* Writes db's database to a new file in $TMPDIR (or /tmp); *where is a URL
 * that opens it (malloc'd). */
int pm_testdb__image_keep(pm_db *db, char **where, pm_error *err);
void pm_testdb__image_free(pm_template *t);

/* ==== testdb_server.c: templates and copies as databases on a server ==== */

/* Makes sure t's template database exists on admin's server, migrating it
 * when no process has; t takes admin. */
int pm_testdb__server_prepare(pm_template *t, pm_db *admin, const pm_migration *const *set,
                              size_t count, pm_error *err);
/* A new database copied from t's template: *db connected to it, *name its
 * name and *url where it is (malloc'd; on failure nothing is left on the
 * server, and what the three hold is the caller's to free). */
int pm_testdb__server_copy(pm_template *t, pm_db **db, char **name, char **url, pm_error *err);
/* Drops the database name (a copy, closed) from t's server. */
int pm_testdb__server_drop(pm_template *t, const char *name, pm_error *err);
void pm_testdb__server_free(pm_template *t);

#endif
