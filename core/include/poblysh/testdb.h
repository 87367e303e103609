/* testdb.h: migrated databases for a service's tests, nearly free.
 *
 * Re-running every migration for every test is what makes test suites slow.
 * Here a set is migrated once per process (SQLite) or once per server
 * (PostgreSQL), and each test then gets either
 *
 *   PM_TESTDB_CLONE     a database of its own, copied from that template:
 *                       SQLite copies the template's bytes into a private
 *                       in-memory database; PostgreSQL runs
 *                       CREATE DATABASE ... TEMPLATE pm_tpl_<hash> and drops
 *                       the copy when the test releases it;
 *   PM_TESTDB_ROLLBACK  one migrated database shared by the process's tests,
 *                       each test running inside a transaction that release
 *                       rolls back. The test must not COMMIT, ROLLBACK or
 *                       BEGIN a transaction of its own: release detects it
 *                       (poblysh's savepoint is gone), returns PM_EMISUSE and
 *                       replaces the shared database.
 *
 * In cmocka:
 *
 *   static int setup(void **state) {
 *       pm_error err = PM_ERROR_INIT;
 *       int rc = pm_testdb_acquire((pm_testdb **)state, "sqlite::memory:", set, count,
 *                                  PM_TESTDB_CLONE, &err);
 *       if (rc < 0)
 *           fprintf(stderr, "%s\n", err.message);
 *       pm_error_clear(&err);
 *       return rc < 0 ? -1 : 0;
 *   }
 *   static int teardown(void **state) {
 *       return pm_testdb_release(*state, 0, NULL) == 0 ? 0 : -1;
 *   }
 *
 * and call pm_testdb_cleanup() once before the program exits. See
 * docs/testing.md.
 *
 * Threads: not thread-safe. The process's templates are one list without a
 * lock (core/src/testdb.c), so pm_testdb_acquire(), pm_testdb_release(),
 * pm_testdb_keep() and pm_testdb_cleanup() must all be called from one
 * thread (cmocka runs tests one after another, which is enough). A
 * pm_testdb's pm_db is used like any pm_db: one thread at a time. A forked
 * child starts with no templates of its own and leaves its parent's
 * alone. */
#ifndef POBLYSH_TESTDB_H
#define POBLYSH_TESTDB_H

#include <stddef.h>

#include "db.h"
#include "errors.h"
#include "migration.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pm_testdb pm_testdb;

typedef enum pm_testdb_mode { PM_TESTDB_CLONE = 0, PM_TESTDB_ROLLBACK = 1 } pm_testdb_mode;

/* Gives the calling test a database with every migration of set applied.
 *
 * url says where: "sqlite::memory:" (the usual choice), "sqlite://file.db"
 * (the file itself is the template and is migrated in place; clones are
 * in-memory copies of it), or a PostgreSQL URL whose database is used only
 * to create and drop the others (PostgreSQL 13 or later; every process must
 * use the same role, with CREATEDB). The first call
 * for a (url, set) migrates the template; later calls reuse it. On
 * PostgreSQL the template is named after a hash of the set's names and
 * checksums, so processes running at once share it: one migrates while the
 * others wait for it.
 *
 * The set is borrowed for the call; asking again with the same array of
 * the same migrations skips checking and hashing it. A migration without a checksum is
 * known by its name only: change its name, or give it a checksum, when its
 * up() changes, or a PostgreSQL server keeps handing out the old template.
 *
 * Rollback mode gives out one database at a time per (url, set): acquiring
 * it again before releasing it is PM_EMISUSE. Drivers that cannot copy a
 * database or report an open transaction return PM_EUNSUPPORTED.
 * The caller frees *out with pm_testdb_release(). */
int pm_testdb_acquire(pm_testdb **out, const char *url, const pm_migration *const *set,
                      size_t count, pm_testdb_mode mode, pm_error *err);

/* The test's connection: pm_db_native_handle() gives the sqlite3 * or
 * PGconn *. Borrowed; it lives until pm_testdb_release(). */
pm_db *pm_testdb_db(pm_testdb *tdb);

/* A URL another connection can open to reach the same database (clone mode
 * on PostgreSQL; "sqlite::memory:" for in-memory clones, which no other
 * connection can reach), with its password redacted unless with_password.
 * Malloc'd; the caller frees it. NULL when out of memory. */
char *pm_testdb_url(const pm_testdb *tdb, int with_password);

/* pm_testdb_release() flags. */
/* Clone mode: keep the test's database, as pm_testdb_keep() does, without
 * saying where (nothing is printed: the library never prints). Use
 * pm_testdb_keep() to learn where it is. Ignored in rollback mode. */
#define PM_TESTDB_KEEP (1u << 0)

/* Ends the test: rolls its transaction back (rollback mode) or closes and
 * drops its database (clone mode). Frees tdb in every case. In rollback mode
 * returns PM_EMISUSE, naming what happened, when the test ended poblysh's
 * transaction: its writes may have been committed, so the shared database
 * is discarded and the next acquire starts from a fresh copy. err may be
 * NULL. pm_testdb_release(NULL, ...) returns 0. */
int pm_testdb_release(pm_testdb *tdb, unsigned int flags, pm_error *err);

/* Ends the test like pm_testdb_release(tdb, 0, err), but in clone mode keeps
 * its database to look at after a failed test, and stores in *out a URL that
 * opens it: PostgreSQL keeps the database (the caller drops it); an
 * in-memory SQLite clone is written to a new file in $TMPDIR (or /tmp),
 * "sqlite:///tmp/poblysh-test-<pid>-<n>.db" (the caller deletes it). The
 * URL's password is redacted unless with_password, as in pm_testdb_url().
 * *out is malloc'd and the caller frees it; it is NULL on failure and in
 * rollback mode, where nothing is kept (the test's writes are rolled back
 * and the return value is pm_testdb_release()'s). Frees tdb in every case;
 * pm_testdb_keep(out, NULL, ...) sets *out to NULL and returns 0. */
int pm_testdb_keep(char **out, pm_testdb *tdb, int with_password, pm_error *err);

/* Frees what the process keeps between tests: templates held in memory,
 * connections to the servers, the shared databases of rollback mode (on
 * PostgreSQL they are dropped). Server templates stay on the server for the
 * next run. Call once before exiting, after every release. */
void pm_testdb_cleanup(void);

#ifdef __cplusplus
}
#endif
#endif
