/* bench_db.h: the databases pm_bench works on: their URLs, fresh PostgreSQL
 * databases, the baseline's SQL script (poblysh's own dry run, so the
 * baseline runs exactly the statements poblysh sends) and the check that
 * poblysh and the baseline left the same result. */
#ifndef PM_BENCH_DB_H
#define PM_BENCH_DB_H

#include <stddef.h>

#include "bench.h"
#include "poblysh/poblysh.h"

/* "sqlite:<path>" (malloc'd). */
char *bench_sqlite_url(const char *path);

/* postgresql://poblysh@<socket dir>:<port>/<dbname>, over the unix socket
 * of the throwaway cluster (local connections are trusted: no password in
 * it). malloc'd. */
char *bench_pg_url(const bench_env *env, const char *dbname);

/* Drops dbname if it exists and creates it empty. */
int bench_pg_recreate(const bench_env *env, const char *dbname);

/* Writes to path the statements poblysh sends for `up` of the first count
 * migrations of set on url (an empty database like the one the timed run
 * gets), taken from the engine's dry run: the history table, then per
 * migration BEGIN, its DDL, its history row and COMMIT, each statement
 * followed by ";\n". begin replaces the dry run's "BEGIN" with what the
 * driver really sends ("BEGIN IMMEDIATE" on SQLite). */
int bench_write_baseline(const char *path, const char *url, const pm_migration *const *set,
                         size_t count, const char *begin);

/* Whether the databases at a and b hold the same schema (pm_db_schema) and
 * both record the first count migrations of set as applied, with their
 * checksums: the baseline did the work poblysh did. Prints what differs. */
int bench_check_same(const char *url_a, const char *url_b, const pm_migration *const *set,
                     size_t count);

#endif
