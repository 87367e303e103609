/* testdb.c: migrated databases for tests (poblysh/testdb.h): the API, the
 * process's templates, and the two modes.
 *
 * Each (url, migration set) the process asks for gets a pm_template: the set
 * is migrated once into it, and tests get copies, made in the process from
 * the template's bytes (testdb_image.c, SQLite) or on the server from a
 * template database (testdb_server.c, PostgreSQL). Rollback mode shares one
 * such copy per process and wraps each test in a transaction. Drivers are
 * reached only through the db.c wrappers. */
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "testdb_internal.h"

/* Bumped when what a template holds changes for the same set (the history
 * table's layout), so servers stop handing out old templates. */
#define PM_TESTDB_FORMAT "poblysh-testdb-1"
#define PM_TESTDB_SAVEPOINT "pm_testdb"

struct pm_testdb {
    pm_template *tpl;
    pm_testdb_mode mode;
    pm_db *db;
    char *name; /* clone mode on a server: the database to drop */
    char *url;  /* where it is, password included */
};

static pm_template *templates;
static pid_t templates_pid; /* the process the list belongs to */

/* ==== The set's identity ==== */

/* The first PM_TESTDB_HASH_LEN hex digits of SHA-256 over the set's names
 * and checksums: the same set gives the same template on every run. */
static int set_hash(char out[PM_TESTDB_HASH_LEN + 1], const pm_migration *const *set, size_t count,
                    pm_error *err)
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

int pm_testdb__migrate(pm_db *db, const pm_migration *const *set, size_t count, pm_error *err)
{
    pm_engine *engine = NULL;
    int rc = pm_engine_new(&engine, db, set, count, NULL, err);
    if (rc == 0)
        rc = pm_engine_up(engine, PM_ALL, NULL, err);
    pm_engine_free(engine);
    return rc;
}

/* ==== The process's templates ==== */

static int prepare(pm_template *t, const pm_migration *const *set, size_t count, pm_error *err)
{
    pm_db *db = NULL;
    int rc = pm_db_open(&db, t->url, NULL, err);
    if (rc < 0)
        return rc;
    t->caps = pm_db_capabilities(db);
    t->driver_name = pm_db_driver_name(db);
    if (t->caps & PM_CAP_CLONE_IMAGE) {
        rc = pm_testdb__image_prepare(t, db, set, count, err);
        pm_db_close(db);
        return rc;
    }
    if (t->caps & PM_CAP_CLONE_TEMPLATE)
        return pm_testdb__server_prepare(t, db, set, count, err); /* t takes db */
    rc = pm_error_set(err, PM_EUNSUPPORTED,
                      "test databases need a backend that can copy a database (SQLite, "
                      "PostgreSQL); %s through driver %s cannot",
                      pm_db_url(db), pm_db_driver_name(db));
    pm_db_close(db);
    return rc;
}

static void template_free(pm_template *t)
{
    if (!t)
        return;
    pm_testdb__image_free(t);
    pm_testdb__server_free(t);
    free(t->set);
    free(t->url);
    free(t);
}

/* Remembers set as the array t was asked for last. */
static int remember_set(pm_template *t, const pm_migration *const *set, size_t count, pm_error *err)
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
    if (t->image.bytes)
        return pm_testdb__image_copy(t, db, url, err);
    return pm_testdb__server_copy(t, db, name, url, err);
}

/* Closes a copy and drops its database on the server. */
static int drop_copy(pm_template *t, pm_db *db, const char *name, pm_error *err)
{
    pm_db_close(db);
    return name ? pm_testdb__server_drop(t, name, err) : 0;
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

/* ==== Acquire ==== */

static int acquire_clone(pm_testdb *tdb, pm_error *err)
{
    return copy_template(tdb->tpl, &tdb->db, &tdb->name, &tdb->url, err);
}

static int make_shared(pm_template *t, pm_error *err)
{
    int rc = copy_template(t, &t->shared, &t->shared_name, &t->shared_url, err);
    if (rc < 0) { /* copy_template() dropped what it made */
        free(t->shared_name);
        free(t->shared_url);
        t->shared_name = t->shared_url = NULL;
    }
    return rc;
}

/* Opens poblysh's transaction through the driver's own begin(), so a
 * driver that tracks its transactions agrees with the server, then the
 * savepoint that marks it: a test that commits and begins again leaves a
 * transaction, but not this savepoint. */
static int begin_test(pm_template *t, pm_error *err)
{
    int rc = pm__db_begin(t->shared, err);
    if (rc == 0 && (rc = pm__db_savepoint(t->shared, PM_TESTDB_SAVEPOINT, err)) < 0)
        pm__db_rollback(t->shared, err);
    return rc;
}

static int acquire_shared(pm_testdb *tdb, pm_error *err)
{
    pm_template *t = tdb->tpl;
    if (!(t->caps & PM_CAP_ROLLBACK_TESTDB))
        return pm_error_set(err, PM_EUNSUPPORTED,
                            "rollback-mode test databases need a driver that reports open "
                            "transactions; %s cannot: use clone mode",
                            t->driver_name);
    if (t->shared_out)
        return pm_error_set(err, PM_EMISUSE,
                            "the rollback-mode test database of this migration set is still in "
                            "use: release it before acquiring it again");
    int rc = t->shared ? 0 : make_shared(t, err);
    if (rc < 0)
        return rc;
    if (!(tdb->url = pm__strdup(t->shared_url)))
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    if ((rc = begin_test(t, err)) < 0) { /* e.g. the connection was lost: start again next time */
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

/* ==== Release ==== */

static const char misuse_message[] =
    "the test ended the transaction its rollback-mode test database runs in (a COMMIT, ROLLBACK "
    "or END of its own), so its writes may have been committed; that database was discarded and "
    "the next test gets a fresh copy. In rollback mode a test must not commit or start "
    "transactions (SAVEPOINTs are fine); use clone mode for tests that do";

/* Rolls poblysh's transaction back through the driver's rollback(); 0 or
 * its error, moved to err. */
static int end_test(pm_db *db, pm_error *err)
{
    pm_error failed = PM_ERROR_INIT;
    pm__db_rollback(db, &failed);
    int rc = failed.code;
    if (rc && err) {
        pm_error_clear(err);
        *err = failed;
    } else {
        pm_error_clear(&failed);
    }
    return rc;
}

/* Whether the test left poblysh's transaction and savepoint in place;
 * when not, *rc says why (a lost connection, or PM_EMISUSE). */
static bool test_kept_its_transaction(pm_db *db, int *rc, pm_error *err)
{
    if (!pm__db_in_transaction(db)) {
        *rc = pm__db_exec(db, "SELECT 1", err); /* is it the connection? */
        if (*rc == 0)
            *rc = pm_error_set(err, PM_EMISUSE, "%s", misuse_message);
        return false;
    }
    pm_error lost = PM_ERROR_INIT;
    if (pm__db_rollback_to(db, PM_TESTDB_SAVEPOINT, &lost) < 0) {
        /* The savepoint is gone: the test committed and began again. */
        pm_error_clear(&lost);
        *rc = pm_error_set(err, PM_EMISUSE, "%s", misuse_message);
        return false;
    }
    return true;
}

/* Rollback mode: the test's writes go. A test that ended poblysh's
 * transaction is reported, and the copy it may have changed is discarded;
 * a lost connection is reported as such. */
static int release_shared(pm_testdb *tdb, pm_error *err)
{
    pm_template *t = tdb->tpl;
    int rc = 0;
    if (!test_kept_its_transaction(t->shared, &rc, err)) {
        drop_shared(t);
        return rc;
    }
    rc = end_test(t->shared, err);
    if (rc < 0)
        drop_shared(t);
    t->shared_out = false;
    return rc;
}

/* Clone mode, keeping the database: *where says where it is. */
static int keep_clone(pm_testdb *tdb, char **where, int with_password, pm_error *err)
{
    int rc = 0;
    if (tdb->tpl->image.bytes)
        rc = pm_testdb__image_keep(tdb->db, where, err);
    else if (!(*where = with_password ? pm__strdup(tdb->url) : pm_url_redact(tdb->url)))
        rc = pm_error_set(err, PM_ENOMEM, "out of memory");
    pm_db_close(tdb->db);
    return rc;
}

static int release(pm_testdb *tdb, char **kept, int with_password, pm_error *err)
{
    int rc = 0;
    if (tdb->mode == PM_TESTDB_ROLLBACK)
        rc = release_shared(tdb, err);
    else if (kept)
        rc = keep_clone(tdb, kept, with_password, err);
    else
        rc = drop_copy(tdb->tpl, tdb->db, tdb->name, err);
    free(tdb->name);
    free(tdb->url);
    free(tdb);
    return rc;
}

int pm_testdb_release(pm_testdb *tdb, unsigned int flags, pm_error *err)
{
    if (!tdb)
        return 0;
    char *kept = NULL;
    int rc = release(tdb, flags & PM_TESTDB_KEEP ? &kept : NULL, 0, err);
    free(kept);
    return rc;
}

int pm_testdb_keep(char **out, pm_testdb *tdb, int with_password, pm_error *err)
{
    if (!out)
        return pm_error_set(err, PM_EINVAL, "pm_testdb_keep: out is NULL");
    *out = NULL;
    return tdb ? release(tdb, out, with_password, err) : 0;
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
