/* pg_sql.h: the catalog and lock statements every driver that reaches
 * PostgreSQL sends (drivers/postgres and libdbi's pgsql in drivers/dbi), kept
 * in one place so both behave alike: same lock key, same catalog rules.
 * Parameters are written $1..$n. */
#ifndef PM_PG_SQL_H
#define PM_PG_SQL_H

/* The migration lock's key: the schema the history table lives in and its
 * name, so runners on different schemas of one database do not block each
 * other. */
#define PG_SQL_SCHEMA "SELECT current_schema()"
#define PG_SQL_LOCK_KEY "SELECT hashtextextended('poblysh:' || $1 || '.seaql_migrations', 0)::text"
/* Polled, never the blocking pg_advisory_lock: a blocking wait could
 * deadlock against CREATE INDEX CONCURRENTLY. */
#define PG_SQL_TRY_LOCK "SELECT pg_try_advisory_lock($1::bigint)"
#define PG_SQL_UNLOCK "SELECT pg_advisory_unlock($1::bigint)"
/* One column (what) of the backend holding the lock with key $1 in this
 * database (advisory locks are per database; another database's runner
 * holds a lock with the same key and must not be named). */
#define PG_SQL_LOCK_HOLDER(what)                                                                   \
    "SELECT " what " FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "               \
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.database = "             \
    "(SELECT oid FROM pg_database WHERE datname = current_database()) "                             \
    "AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint LIMIT 1"

#define PG_SQL_HAS_TABLE                                                                           \
    "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "               \
    "c.relnamespace WHERE n.nspname = current_schema() AND c.relname = $1 AND "                     \
    "c.relkind IN ('r', 'p')"
#define PG_SQL_HAS_COLUMN                                                                          \
    "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "              \
    "AND table_name = $1 AND column_name = $2"

#endif
