/* testdb.c: migrated databases for tests (poblysh/testdb.h).
 *
 * Each (url, migration set) the process asks for gets a pm_template: the set
 * is migrated once into it, and tests get copies. Backends whose databases
 * live in the process (SQLite) keep the template as bytes and copy them
 * into a private in-memory database per test (driver->image_*). Servers
 * (PostgreSQL) keep the template as a database named pm_tpl_<hash>, made
 * under a server-wide lock so concurrent test processes migrate it once,
 * and copy it with CREATE DATABASE ... TEMPLATE (the dialect's database_*
 * statements). Rollback mode shares one such copy per process and wraps
 * each test in a transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "poblysh/testdb.h"

/* Bumped when what a template holds changes for the same set (the history
 * table's layout), so servers stop handing out old templates. */
#define PM_TESTDB_FORMAT "poblysh-testdb-1"
#define PM_TESTDB_HASH_LEN 16
#define PM_TESTDB_SAVEPOINT "pm_testdb"

typedef struct pm_template {
    struct pm_template *next;
    char *url; /* as given, password included: never printed */
    char hash[PM_TESTDB_HASH_LEN + 1];
    /* The set this template was last asked for, so asking again with the
     * same array skips checking and hashing it (sets are static arrays). */
    const pm_migration **set;
    size_t count;
    const pm_driver *driver;
    /* In-process backends: the migrated database as bytes. */
    void *image;
    size_t size;
    /* Servers: a connection to url's database that creates and drops the
     * others, and the template's name. */
    pm_db *admin;
    char *template_name;
    /* Rollback mode: the process's shared copy, and whether a test has it. */
    pm_db *shared;
    char *shared_name; /* its database on a server, or NULL */
    char *shared_url;
    bool shared_out;
} pm_template;

struct pm_testdb {
    pm_template *tpl;
    pm_testdb_mode mode;
    pm_db *db;
    char *name; /* clone mode on a server: the database to drop */
    char *url;  /* where it is, password included */
};

static pm_template *templates;
static pid_t templates_pid; /* the process the list belongs to */
static unsigned long serial;

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

/* ==== The set's identity ==== */

/* The first PM_TESTDB_HASH_LEN hex digits of SHA-256 over the set's names
 * and checksums: the same set gives the same template on every run. */
static int set_hash(char out[PM_TESTDB_HASH_LEN + 1], const pm_migration *const *set,
                    size_t count, pm_error *err)
{
    pm_buf text = PM_BUF_INIT;
    pm_buf_append(&text, PM_TESTDB_FORMAT "\n");
    for (size_t i = 0; i < count; i++)
        pm_buf_printf(&text, "%s %s\n", set[i]->name, set[i]->checksum ? set[i]->checksum : "-");
    const char *bytes = pm_buf_cstr(&text);
    if (!bytes) {
        pm_buf_free(&text);
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    }
    char sum[PM_CHECKSUM_SIZE];
    int rc = pm_checksum(sum, bytes, strlen(bytes), err);
    pm_buf_free(&text);
    if (rc < 0)
        return rc;
    memcpy(out, sum + strlen("sha256:"), PM_TESTDB_HASH_LEN);
    out[PM_TESTDB_HASH_LEN] = '\0';
    return 0;
}

/* url with its database (the path after host and port) replaced by name. */
static char *url_with_database(const char *url, const char *name)
{
    const char *authority = strstr(url, "://");
    if (!authority)
        return NULL;
    authority += 3;
    const char *path = authority + strcspn(authority, "/?#");
    const char *rest = path + strcspn(path, "?#");
    return pm__format("%.*s/%s%s", (int)(path - url), url, name, rest);
}

static int migrate(pm_db *db, const pm_migration *const *set, size_t count, pm_error *err)
{
    pm_engine *engine = NULL;
    int rc = pm_engine_new(&engine, db, set, count, NULL, err);
    if (rc == 0)
        rc = pm_engine_up(engine, PM_ALL, NULL, err);
    pm_engine_free(engine);
    return rc;
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

/* ==== Preparing a template ==== */

static int prepare_image(pm_template *t, pm_db *db, const pm_migration *const *set, size_t count,
                         pm_error *err)
{
    int rc = migrate(db, set, count, err);
    if (rc < 0) {
        pm__error_prefix(err, "cannot migrate the test template %s", pm_db_url(db));
        return rc;
    }
    return t->driver->image_save(db->conn, &t->image, &t->size, err);
}

/* Another process renamed its copy into place first: ours goes. */
static int lost_the_race(pm_template *t, const char *building, int rc, pm_error *err)
{
    bool exists = false;
    pm_error ignored = PM_ERROR_INIT;
    if (database_exists(t->admin, t->template_name, &exists, &ignored) < 0 || !exists) {
        pm_error_clear(&ignored);
        return rc;
    }
    pm_error_clear(&ignored);
    pm_error_clear(err);
    exec_named(t->admin, pm__db_backend(t->admin)->database_drop, building, NULL, NULL);
    return 0;
}

/* Migrates pm_tpl_<hash>_new_<tag> and renames it pm_tpl_<hash>, so a
 * process that dies half-way leaves no template that looks finished. The
 * name is this process's own: the named lock is per database on PostgreSQL,
 * so processes whose URLs name different databases can build at once, and
 * then the first rename wins. */
static int build_server_template(pm_template *t, const pm_migration *const *set, size_t count,
                                 pm_error *err)
{
    const pm_backend *d = pm__db_backend(t->admin);
    char *building = pm__format("%s_new_%s", t->template_name, process_tag());
    char *url = building ? url_with_database(t->url, building) : NULL;
    if (!url) {
        free(building);
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    }
    int rc = exec_named(t->admin, d->database_create, building, d->database_blank, err);
    pm_db *db = NULL;
    if (rc == 0)
        rc = pm_db_open(&db, url, NULL, err);
    if (rc == 0) {
        rc = migrate(db, set, count, err);
        if (rc < 0)
            pm__error_prefix(err, "cannot migrate the test template %s", pm_db_url(db));
    }
    pm_db_close(db); /* nobody may be connected to a template while it is copied */
    if (rc == 0 && (rc = exec_named(t->admin, d->database_rename, building, t->template_name,
                                    err)) < 0)
        rc = lost_the_race(t, building, rc, err);
    else if (rc < 0)
        exec_named(t->admin, d->database_drop, building, NULL, NULL);
    free(url);
    free(building);
    return rc;
}

/* Makes sure pm_tpl_<hash> exists on the server. The named lock makes
 * concurrent processes take turns: the first builds it, the others find it. */
static int prepare_server(pm_template *t, const pm_migration *const *set, size_t count,
                          pm_error *err)
{
    const pm_backend *d = pm__db_backend(t->admin);
    if (!(t->template_name = pm__format("pm_tpl_%s", t->hash)))
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    const char *params[] = {t->template_name};
    int rc = pm__db_query(t->admin, d->named_lock, params, 1, NULL, NULL, err);
    if (rc < 0)
        return rc;
    bool exists = false;
    rc = database_exists(t->admin, t->template_name, &exists, err);
    if (rc == 0 && !exists)
        rc = build_server_template(t, set, count, err);
    pm_error ignored = PM_ERROR_INIT; /* the session's end releases it anyway */
    pm__db_query(t->admin, d->named_unlock, params, 1, NULL, NULL, &ignored);
    pm_error_clear(&ignored);
    return rc;
}

static bool can_copy_in_process(const pm_driver *driver)
{
    return PM__DRIVER_HAS(driver, 5, image_save) && PM__DRIVER_HAS(driver, 5, image_open);
}

static bool can_copy_on_server(const pm_backend *d)
{
    return d->database_create && d->database_blank && d->database_rename && d->database_drop && d->database_exists &&
           d->named_lock && d->named_unlock;
}

static int prepare(pm_template *t, const pm_migration *const *set, size_t count, pm_error *err)
{
    pm_db *db = NULL;
    int rc = pm_db_open(&db, t->url, NULL, err);
    if (rc < 0)
        return rc;
    t->driver = db->driver;
    if (can_copy_in_process(db->driver)) {
        rc = prepare_image(t, db, set, count, err);
        pm_db_close(db);
        return rc;
    }
    if (can_copy_on_server(pm__db_backend(db))) {
        t->admin = db;
        return prepare_server(t, set, count, err);
    }
    rc = pm_error_set(err, PM_EUNSUPPORTED,
                      "test databases need a backend that can copy a database (SQLite, "
                      "PostgreSQL); %s through driver %s cannot",
                      pm_db_url(db), db->driver->name);
    pm_db_close(db);
    return rc;
}

static void template_free(pm_template *t)
{
    if (!t)
        return;
    free(t->image);
    pm_db_close(t->admin);
    free(t->template_name);
    free(t->set);
    free(t->url);
    free(t);
}

/* Remembers set as the array t was asked for last. */
static int remember_set(pm_template *t, const pm_migration *const *set, size_t count,
                        pm_error *err)
{
    const pm_migration **copy = malloc((count ? count : 1) * sizeof(*copy));
    if (!copy)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    if (count)
        memcpy(copy, set, count * sizeof(*copy));
    free(t->set);
    t->set = copy;
    t->count = count;
    return 0;
}

static bool same_set(const pm_template *t, const pm_migration *const *set, size_t count)
{
    return t->count == count && (count == 0 || memcmp(t->set, set, count * sizeof(*set)) == 0);
}

/* The process's template for (url, set), prepared on first use. */
static int template_for(pm_template **out, const char *url, const pm_migration *const *set,
                        size_t count, pm_error *err)
{
    if (templates_pid != getpid()) {
        /* A forked child: the parent's connections are not its to use or
         * close, so it starts a list of its own. */
        templates = NULL;
        templates_pid = getpid();
    }
    for (pm_template *t = templates; t; t = t->next) {
        if (same_set(t, set, count) && strcmp(t->url, url) == 0) {
            *out = t;
            return 0;
        }
    }
    char hash[PM_TESTDB_HASH_LEN + 1];
    int rc = pm_migration_set_check(set, count, err);
    if (rc == 0)
        rc = set_hash(hash, set, count, err);
    if (rc < 0)
        return rc;
    for (pm_template *t = templates; t; t = t->next) {
        if (strcmp(t->url, url) == 0 && strcmp(t->hash, hash) == 0) {
            *out = t;
            return remember_set(t, set, count, err);
        }
    }
    pm_template *t = calloc(1, sizeof(*t));
    if (!t || !(t->url = pm__strdup(url))) {
        free(t);
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    }
    memcpy(t->hash, hash, sizeof(hash));
    if ((rc = remember_set(t, set, count, err)) < 0 || (rc = prepare(t, set, count, err)) < 0) {
        template_free(t);
        return rc;
    }
    t->next = templates;
    templates = t;
    *out = t;
    return 0;
}

/* ==== Copies ==== */

/* A new copy of t's template: *db connected to it, *name its database on a
 * server (NULL in process), *url where it is. */
static int copy_template(pm_template *t, pm_db **db, char **name, char **url, pm_error *err)
{
    *db = NULL;
    *name = NULL;
    *url = NULL;
    if (t->image) {
        *url = pm__format("%s::memory:", t->driver->schemes[0]);
        if (!*url)
            return pm_error_set(err, PM_ENOMEM, "out of memory");
        return pm__db_open_image(db, t->driver, t->image, t->size, err);
    }
    *name = pm__format("pm_t_%s_%ld_%s_%lu", t->hash, (long)getpid(), process_tag(), ++serial);
    *url = *name ? url_with_database(t->url, *name) : NULL;
    if (!*url)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    const pm_backend *d = pm__db_backend(t->admin);
    int rc = exec_named(t->admin, d->database_create, *name, t->template_name, err);
    if (rc < 0) {
        pm__error_prefix(err, "cannot copy test template %s", t->template_name);
        return rc;
    }
    rc = pm_db_open(db, *url, NULL, err);
    if (rc < 0)
        exec_named(t->admin, d->database_drop, *name, NULL, NULL);
    return rc;
}

/* Closes a copy and drops its database on the server. */
static int drop_copy(pm_template *t, pm_db *db, const char *name, pm_error *err)
{
    pm_db_close(db);
    if (!name)
        return 0;
    return exec_named(t->admin, pm__db_backend(t->admin)->database_drop, name, NULL, err);
}

static void drop_shared(pm_template *t)
{
    drop_copy(t, t->shared, t->shared_name, NULL);
    free(t->shared_name);
    free(t->shared_url);
    t->shared = NULL;
    t->shared_name = NULL;
    t->shared_url = NULL;
    t->shared_out = false;
}

/* ==== Acquire and release ==== */

static int acquire_clone(pm_testdb *tdb, pm_error *err)
{
    return copy_template(tdb->tpl, &tdb->db, &tdb->name, &tdb->url, err);
}

static int acquire_shared(pm_testdb *tdb, pm_error *err)
{
    pm_template *t = tdb->tpl;
    if (!PM__DRIVER_HAS(t->driver, 5, in_transaction))
        return pm_error_set(err, PM_EUNSUPPORTED,
                            "rollback-mode test databases need a driver that reports open "
                            "transactions; %s cannot: use clone mode",
                            t->driver->name);
    if (t->shared_out)
        return pm_error_set(err, PM_EMISUSE,
                            "the rollback-mode test database of this migration set is still in "
                            "use: release it before acquiring it again");
    if (!t->shared) {
        int rc = copy_template(t, &t->shared, &t->shared_name, &t->shared_url, err);
        if (rc < 0) { /* copy_template() dropped what it made */
            free(t->shared_name);
            free(t->shared_url);
            t->shared_name = t->shared_url = NULL;
            return rc;
        }
    }
    if (!(tdb->url = pm__strdup(t->shared_url)))
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    /* The savepoint marks poblysh's transaction: a test that commits and
     * begins again leaves a transaction, but not this savepoint. */
    int rc = pm__db_exec(t->shared, "BEGIN; SAVEPOINT " PM_TESTDB_SAVEPOINT, err);
    if (rc < 0) { /* e.g. the connection was lost: start again next time */
        drop_shared(t);
        return rc;
    }
    t->shared_out = true;
    tdb->db = t->shared;
    return 0;
}

int pm_testdb_acquire(pm_testdb **out, const char *url, const pm_migration *const *set,
                      size_t count, pm_testdb_mode mode, pm_error *err)
{
    if (!out || !url || (!set && count))
        return pm_error_set(err, PM_EINVAL, "pm_testdb_acquire: out, url or set is NULL");
    *out = NULL;
    if (mode != PM_TESTDB_CLONE && mode != PM_TESTDB_ROLLBACK)
        return pm_error_set(err, PM_EINVAL, "pm_testdb_acquire: unknown mode %d", (int)mode);
    pm_testdb *tdb = calloc(1, sizeof(*tdb));
    if (!tdb)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    tdb->mode = mode;
    int rc = template_for(&tdb->tpl, url, set, count, err);
    if (rc == 0)
        rc = mode == PM_TESTDB_CLONE ? acquire_clone(tdb, err) : acquire_shared(tdb, err);
    if (rc < 0) { /* copy_template() and acquire_shared() left nothing open */
        free(tdb->name);
        free(tdb->url);
        free(tdb);
        return rc;
    }
    *out = tdb;
    return 0;
}

pm_db *pm_testdb_db(pm_testdb *tdb)
{
    return tdb ? tdb->db : NULL;
}

char *pm_testdb_url(const pm_testdb *tdb, int with_password)
{
    if (!tdb || !tdb->url)
        return NULL;
    return with_password ? pm__strdup(tdb->url) : pm_url_redact(tdb->url);
}

static const char misuse_message[] =
    "the test ended the transaction its rollback-mode test database runs in (a COMMIT, ROLLBACK "
    "or END of its own), so its writes may have been committed; that database was discarded and "
    "the next test gets a fresh copy. In rollback mode a test must not commit or start "
    "transactions (SAVEPOINTs are fine); use clone mode for tests that do";

/* Rollback mode: the test's writes go. A test that ended poblysh's
 * transaction is reported, and the copy it may have changed is discarded;
 * a lost connection is reported as such. */
static int release_shared(pm_testdb *tdb, pm_error *err)
{
    pm_template *t = tdb->tpl;
    int rc = 0;
    if (!t->driver->in_transaction(t->shared->conn)) {
        rc = pm__db_exec(t->shared, "SELECT 1", err); /* is it the connection? */
        if (rc == 0)
            rc = pm_error_set(err, PM_EMISUSE, "%s", misuse_message);
        drop_shared(t);
        return rc;
    }
    pm_error lost = PM_ERROR_INIT;
    if (pm__db_exec(t->shared, "ROLLBACK TO SAVEPOINT " PM_TESTDB_SAVEPOINT, &lost) < 0) {
        /* The savepoint is gone: the test committed and began again. */
        rc = pm_error_set(err, PM_EMISUSE, "%s", misuse_message);
        pm_error_clear(&lost);
        drop_shared(t);
        return rc;
    }
    rc = pm__db_exec(t->shared, "ROLLBACK", err);
    if (rc < 0)
        drop_shared(t);
    t->shared_out = false;
    return rc;
}

/* Writes an in-memory copy to a file in $TMPDIR, for KEEP. */
static int keep_image(pm_testdb *tdb, char **where, pm_error *err)
{
    void *image = NULL;
    size_t size = 0;
    int rc = tdb->tpl->driver->image_save(tdb->db->conn, &image, &size, err);
    if (rc < 0)
        return rc;
    const char *dir = getenv("TMPDIR");
    char *path = pm__format("%s/poblysh-test-%ld-%lu.db", dir && *dir ? dir : "/tmp",
                            (long)getpid(), ++serial);
    FILE *f = path ? fopen(path, "wbx") : NULL; /* never through a link planted there */
    bool written = f && fwrite(image, 1, size, f) == size;
    if (f && fclose(f) != 0)
        written = false;
    free(image);
    if (!written) {
        rc = pm_error_set(err, PM_ERROR, "cannot keep the test database: cannot write %s",
                          path ? path : "a file in $TMPDIR");
        free(path);
        return rc;
    }
    *where = pm__format("%s://%s", tdb->tpl->driver->schemes[0], path);
    free(path);
    return *where ? 0 : pm_error_set(err, PM_ENOMEM, "out of memory");
}

static int release_clone(pm_testdb *tdb, unsigned int flags, pm_error *err)
{
    int rc = 0;
    if (flags & PM_TESTDB_KEEP) {
        char *where = NULL;
        if (tdb->tpl->image)
            rc = keep_image(tdb, &where, err);
        else
            where = pm_url_redact(tdb->url);
        if (where)
            fprintf(stderr, "poblysh: kept test database %s\n", where);
        free(where);
        pm_db_close(tdb->db);
        return rc;
    }
    return drop_copy(tdb->tpl, tdb->db, tdb->name, err);
}

int pm_testdb_release(pm_testdb *tdb, unsigned int flags, pm_error *err)
{
    if (!tdb)
        return 0;
    int rc = tdb->mode == PM_TESTDB_CLONE ? release_clone(tdb, flags, err)
                                          : release_shared(tdb, err);
    free(tdb->name);
    free(tdb->url);
    free(tdb);
    return rc;
}

void pm_testdb_cleanup(void)
{
    if (templates_pid != getpid())
        templates = NULL; /* a forked child's copy of its parent's list */
    while (templates) {
        pm_template *t = templates;
        templates = t->next;
        if (t->shared)
            drop_shared(t);
        template_free(t);
    }
}
