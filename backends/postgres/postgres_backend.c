/* postgres_backend.c: everything poblysh knows about PostgreSQL as an
 * engine, for every driver that reaches it (drivers/postgres on libpq,
 * libdbi's pgsql): its DDL spelling, its catalog (pg_catalog), the advisory
 * lock, the scratch schema of `verify` and the server templates of test
 * databases. Talks to the database only through the driver's query(). */
#include <string.h>

#include "poblysh/sys/driver.h"

static const pm_dialect postgres_dialect = {
    .version = PM_DIALECT_VERSION,
    .name = "postgres",
    .quote = '"',
    .types =
        {
            [PM_TYPE_UUID] = "UUID",
            [PM_TYPE_TEXT] = "TEXT",
            [PM_TYPE_STRING] = "VARCHAR(%u)",
            [PM_TYPE_INTEGER] = "INTEGER",
            [PM_TYPE_BIGINT] = "BIGINT",
            [PM_TYPE_BOOLEAN] = "BOOLEAN",
            [PM_TYPE_DOUBLE] = "DOUBLE PRECISION",
            [PM_TYPE_TIMESTAMPTZ] = "TIMESTAMPTZ",
            [PM_TYPE_DATE] = "DATE",
            [PM_TYPE_JSON] = "JSONB",
            [PM_TYPE_BINARY] = "BYTEA",
        },
    .string_default = "VARCHAR",
    .now = "now()",
    .bool_true = "TRUE",
    .bool_false = "FALSE",
    .drop_index_on_table = false,
};

/* ==== Catalog ==== */

#define PG_REGCLASS "(quote_ident(current_schema()) || '.' || quote_ident($1))::regclass"
#define PG_COLUMN_NAMES(keys, rel)                                                                 \
    "(SELECT string_agg(a.attname, ', ' ORDER BY k.ord) FROM unnest(" keys ") WITH ORDINALITY "    \
    "AS k(attnum, ord) JOIN pg_attribute a ON a.attrelid = " rel " AND a.attnum = k.attnum)"

static int read_table(pm_conn *c, pm_catalog *cat, const char *t, pm_error *err)
{
    pm_rows r;
    int rc = pm_rows_fetch(
        c,
        "SELECT a.attnum, a.attname, upper(format_type(a.atttypid, a.atttypmod)), "
        "a.attnotnull, pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a LEFT JOIN "
        "pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid "
        "= " PG_REGCLASS " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        t, &r, err);
    for (size_t i = 0; rc == 0 && i < r.nrows; i++)
        pm_catalog_column(cat, t, pm_rows_cell(&r, i, 0), pm_rows_cell(&r, i, 1),
                          pm_rows_cell(&r, i, 2), pm_catalog_truthy(pm_rows_cell(&r, i, 3)),
                          pm_rows_cell(&r, i, 4));
    pm_rows_free(&r);
    if (rc == 0)
        rc = pm_rows_fetch(
            c,
            "SELECT c.contype::text, " PG_COLUMN_NAMES(
                "c.conkey",
                "c.conrelid") ", cf.relname, " PG_COLUMN_NAMES("c.confkey",
                                                               "c.confrelid") ", "
                                                                              "c.confdeltype::text "
                                                                              "FROM pg_constraint "
                                                                              "c LEFT JOIN "
                                                                              "pg_class cf ON "
                                                                              "cf.oid = "
                                                                              "c.confrelid WHERE "
                                                                              "c.conrelid "
                                                                              "= " PG_REGCLASS
                                                                              " AND c.contype IN "
                                                                              "('p', 'u', 'f')",
            t, &r, err);
    for (size_t i = 0; rc == 0 && i < r.nrows; i++) {
        const char *type = pm_rows_cell(&r, i, 0),
                   *cols = pm_rows_cell(&r, i, 1) ? pm_rows_cell(&r, i, 1) : "?";
        if (strcmp(type, "p") == 0)
            pm_catalog_entry(cat, t, PM_CATALOG_PRIMARY_KEY, 0, "primary key (%s)", cols);
        else if (strcmp(type, "u") == 0)
            pm_catalog_entry(cat, t, PM_CATALOG_UNIQUE, 0, "unique (%s)", cols);
        else
            pm_catalog_entry(cat, t, PM_CATALOG_FOREIGN_KEY, 0,
                             "foreign key (%s) references %s (%s)%s", cols, pm_rows_cell(&r, i, 2),
                             pm_rows_cell(&r, i, 3) ? pm_rows_cell(&r, i, 3) : "?",
                             pm_catalog_on_delete(pm_rows_cell(&r, i, 4)));
    }
    pm_rows_free(&r);
    if (rc == 0)
        rc = pm_rows_fetch(
            c,
            "SELECT i.relname, ix.indisunique, " PG_COLUMN_NAMES(
                "ix.indkey::int2[]",
                "ix.indrelid") " FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid WHERE "
                               "ix.indrelid = " PG_REGCLASS
                               " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = "
                               "ix.indexrelid)",
            t, &r, err);
    for (size_t i = 0; rc == 0 && i < r.nrows; i++)
        pm_catalog_entry(cat, t, PM_CATALOG_INDEX, 0, "%sindex %s (%s)",
                         pm_catalog_truthy(pm_rows_cell(&r, i, 1)) ? "unique " : "",
                         pm_rows_cell(&r, i, 0),
                         pm_rows_cell(&r, i, 2) ? pm_rows_cell(&r, i, 2) : "expression");
    pm_rows_free(&r);
    return rc;
}

static int read_schema(pm_conn *c, pm_catalog *cat, pm_error *err)
{
    return pm_catalog_read(
        c, cat,
        "SELECT c.relname, CASE WHEN c.relkind IN ('r', 'p') THEN 'table' WHEN "
        "c.relkind IN ('v', 'm') THEN 'view' ELSE 'sequence' END FROM pg_class c JOIN "
        "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
        "AND c.relkind IN ('r', 'p', 'v', 'm', 'S') UNION ALL SELECT t.typname, 'type' "
        "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname "
        "= current_schema() AND t.typtype IN ('e', 'd', 'r') ORDER BY 1",
        read_table, err);
}

/* ==== fresh: what it drops ==== */

/* The schemas fresh manages: the connection's own, and every other schema
 * the session's role owns that is not a system schema, not public and not
 * an extension's; those are taken for schemas the migrations created. */
#define PG_MANAGED                                                                                 \
    "WITH managed AS (SELECT n.oid, n.nspname, n.nspname = current_schema() AS home FROM "         \
    "pg_namespace n WHERE n.nspname = current_schema() OR (pg_get_userbyid(n.nspowner) = "         \
    "current_user AND n.nspname NOT IN ('public', 'information_schema') AND n.nspname NOT LIKE "   \
    "'pg\\_%' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = "                        \
    "'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e'))) "
/* Not an object an extension made (dropped with the extension) nor one
 * another object made for itself (a range type's constructor functions). */
#define PG_OWN(catalog, oid)                                                                       \
    " AND NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = '" catalog "'::regclass AND "    \
    "x.objid = " oid " AND x.deptype IN ('e', 'i'))"

/* Event triggers whose function is in a managed schema come first (they
 * are per database, and would fire on the DROPs that follow). */
#define PG_FRESH_EVENT_TRIGGERS                                                                    \
    "SELECT 1 AS ord, 'event trigger' AS kind, quote_ident(e.evtname) AS name, format('DROP "      \
    "EVENT TRIGGER IF EXISTS %I', e.evtname) AS stmt FROM pg_event_trigger e JOIN pg_proc p ON "   \
    "p.oid = e.evtfoid JOIN managed m ON m.oid = p.pronamespace"
#define PG_FRESH_SCHEMAS                                                                           \
    "SELECT 2, 'schema', quote_ident(m.nspname), format('DROP SCHEMA IF EXISTS %I CASCADE', "      \
    "m.nspname) FROM managed m WHERE NOT m.home"
/* Partitions go with their parent. */
#define PG_FRESH_RELATIONS                                                                         \
    "SELECT 3, CASE c.relkind WHEN 'm' THEN 'materialized view' WHEN 'v' THEN 'view' ELSE "        \
    "'table' END, quote_ident(c.relname), format('DROP %s IF EXISTS %I.%I "                        \
    "CASCADE', CASE c.relkind WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'v' THEN 'VIEW' ELSE "        \
    "'TABLE' END, m.nspname, c.relname) FROM pg_class c JOIN managed m ON m.oid = "                \
    "c.relnamespace AND m.home WHERE c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition "  \
    "AND c.relname <> 'seaql_migrations'" PG_OWN("pg_class", "c.oid")
/* Sequences a column owns (serial; identity is 'i') go with their table. */
#define PG_FRESH_SEQUENCES                                                                         \
    "SELECT 4, 'sequence', quote_ident(c.relname), format('DROP SEQUENCE IF "                      \
    "EXISTS %I.%I CASCADE', m.nspname, c.relname) FROM pg_class c JOIN managed m ON m.oid = "      \
    "c.relnamespace AND m.home WHERE c.relkind = 'S' AND NOT EXISTS (SELECT 1 FROM pg_depend d "   \
    "WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = "                  \
    "'a')" PG_OWN("pg_class", "c.oid")
#define PG_FRESH_ROUTINES                                                                          \
    "SELECT 5, CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE "           \
    "'function' END, format('%I(%s)', p.proname, "                                                 \
    "pg_get_function_identity_arguments(p.oid)), format('DROP %s IF EXISTS %I.%I(%s) CASCADE', "   \
    "CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END, "     \
    "m.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) FROM pg_proc p JOIN "        \
    "managed m ON m.oid = p.pronamespace AND m.home WHERE p.prokind IN ('f', 'p', "                \
    "'a')" PG_OWN("pg_proc", "p.oid")
/* Enums, domains, ranges and stand-alone composite types. */
#define PG_FRESH_TYPES                                                                             \
    "SELECT 6, CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END, "                            \
    "quote_ident(t.typname), format('DROP %s IF EXISTS %I.%I CASCADE', CASE t.typtype WHEN 'd' "   \
    "THEN 'DOMAIN' ELSE 'TYPE' END, m.nspname, t.typname) FROM pg_type t JOIN managed m ON m.oid " \
    "= t.typnamespace AND m.home WHERE (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND "     \
    "(SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c'))" PG_OWN("pg_type",        \
                                                                                 "t.oid")

/* Triggers, indexes and constraints go with their tables. Objects of the
 * connection's schema are named without it, as on every backend. */
#define PG_FRESH_OBJECTS                                                                           \
    PG_MANAGED "SELECT kind, name, stmt FROM (" PG_FRESH_EVENT_TRIGGERS                            \
               " UNION ALL " PG_FRESH_SCHEMAS " UNION ALL " PG_FRESH_RELATIONS                     \
               " UNION ALL " PG_FRESH_SEQUENCES " UNION ALL " PG_FRESH_ROUTINES                    \
               " UNION ALL " PG_FRESH_TYPES ") o ORDER BY ord, name"

/* ==== The backend ==== */

/* The holder of the advisory lock with key $1 in this database (advisory
 * locks are per database; another database's runner holds a lock with the
 * same key and must not be named). */
#define PG_LOCK_HOLDER                                                                             \
    "SELECT 'PostgreSQL backend PID ' || l.pid || CASE WHEN coalesce(a.application_name, '') "     \
    "<> '' THEN ' (application \"' || a.application_name || '\")' ELSE '' END || '; see it "       \
    "with SELECT * FROM pg_stat_activity WHERE pid = ' || l.pid FROM pg_locks l LEFT JOIN "        \
    "pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND "         \
    "l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = "                \
    "current_database()) AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint LIMIT 1"

const pm_backend pm_backend_postgres = {
    .version = PM_BACKEND_VERSION,
    .name = "postgres",
    .dialect = &postgres_dialect,
    /* BEGIN_EXCLUDES: the migration lock is taken in each transaction
     * (lock_transaction below), never held by the session. */
    .conn_flags = PM_CONN_TRANSACTIONAL_DDL | PM_CONN_BEGIN_EXCLUDES,
    .session_setup = "SET client_min_messages = warning",
    .begin = "BEGIN",
    .has_table = "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
                 "c.relnamespace WHERE n.nspname = current_schema() AND c.relname = $1 AND "
                 "c.relkind IN ('r', 'p')",
    .has_column = "SELECT 1 FROM information_schema.columns WHERE table_schema = "
                  "current_schema() AND table_name = $1 AND column_name = $2",
    .read_schema = read_schema,
    /* The lock is per schema of the history table, so runners on different
     * schemas of one database do not block each other. Drivers of version
     * 8 take it per transaction (lock_transaction); the session lock below
     * is only what older drivers poll. Polled, never the blocking
     * pg_advisory_lock: a session waiting with it could deadlock against
     * CREATE INDEX CONCURRENTLY. */
    .lock_namespace = "SELECT current_schema()",
    .lock_no_namespace = "no schema to keep the migration history in: the search_path names no "
                         "existing schema (check ?options=-csearch_path%3D...)",
    .lock_key = "SELECT hashtextextended('poblysh:' || $1 || '.seaql_migrations', 0)::text",
    .lock_try = "SELECT pg_try_advisory_lock($1::bigint)",
    .lock_granted = "t",
    .lock_release = "SELECT pg_advisory_unlock($1::bigint)",
    .lock_holder = PG_LOCK_HOLDER,
    /* The client's time in up() (%s: statements sent before a catalog query
     * ran then) plus the final batch's: it arrives as one message, so
     * statement_timestamp() is when it did and clock_timestamp() is now. */
    .elapsed_ms = "(%s::bigint + (extract(epoch FROM clock_timestamp() - statement_timestamp()) "
                  "* 1000)::bigint)",
    .drop_suffix = " CASCADE",
    .scratch_create = "CREATE SCHEMA %s; SET search_path TO %s",
    .scratch_drop = "DROP SCHEMA %s CASCADE; RESET search_path",
    .database_create = "CREATE DATABASE %s TEMPLATE %s",
    .database_blank = "template1",
    .database_rename = "ALTER DATABASE %s RENAME TO %s",
    .database_drop = "DROP DATABASE IF EXISTS %s WITH (FORCE)",
    .database_exists = "SELECT 1 FROM pg_database WHERE datname = $1",
    .named_lock = "SELECT pg_advisory_lock(hashtext($1))",
    .named_unlock = "SELECT pg_advisory_unlock(hashtext($1))",
    /* The history's schema, read before any migration can SET search_path. */
    .session_schema = "SELECT current_schema()",
    /* A migration's SET ROLE would make the history write run as a role
     * that may not write it (RESET ALL leaves the role alone), and its SET
     * search_path would make the next migrations create their objects
     * elsewhere. */
    .session_restore = "RESET ROLE",
    .session_state = "SELECT current_setting('search_path')",
    .session_state_restore = "SELECT set_config('search_path', $1, false)",
    .lock_timeout_local = "SET LOCAL lock_timeout = %d",
    .lock_timeout_session = "SET lock_timeout = %d",
    .statement_timeout_local = "SET LOCAL statement_timeout = %d",
    .statement_timeout_session = "SET statement_timeout = %d",
    .timeouts_reset = "RESET lock_timeout; RESET statement_timeout",
    .lock_timeout_code = "55P03", /* lock_not_available */
    /* Long enough for a busy table's short transactions to end, short
     * enough that the queries queued behind the migration's lock request
     * are not held up for long. */
    .default_lock_timeout_ms = 5000,
    /* Taken right after BEGIN, waiting at most the lock timeout, and held
     * until COMMIT or ROLLBACK: nothing outlives the transaction, so it works
     * through PgBouncer's transaction pooling and a killed runner holds
     * nothing. Waiting here is safe: a CREATE INDEX CONCURRENTLY runs
     * outside this lock, and the transaction that holds it never waits for
     * one (see docs/postgres.md, "Poolers: PgBouncer and the migration
     * lock"). The migration's own statements keep the session's
     * lock_timeout. */
    .lock_transaction = "SET LOCAL lock_timeout = %d; SELECT pg_advisory_xact_lock(%s::bigint); "
                        "SET LOCAL lock_timeout = DEFAULT",
    .lock_transaction_timeout = "55P03",
    .scratch_database_create = "CREATE DATABASE %s",
    .scratch_database_drop = "DROP DATABASE IF EXISTS %s WITH (FORCE)",
    .scratch_database_allowed = "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = "
                                "current_user",
    .scratch_database_refused =
        "the role of this URL may not create databases (it has neither CREATEDB nor "
        "superuser), and verify runs in a scratch database of its own so that it never touches "
        "this one: give verify the URL of a role that may (ALTER ROLE name CREATEDB), on the "
        "same server",
    .fresh_objects = PG_FRESH_OBJECTS,
    /* template1 would do too, but CREATE DATABASE copies template1 and fails
     * while another session is connected to it. */
    .database_maintenance = "postgres",
    .schema_exists = "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1",
    .schema_use = "SET search_path TO %s",
    .schema_use_local = "SET LOCAL search_path TO %s",
    .has_table_in = "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
                    "c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND "
                    "c.relkind IN ('r', 'p')",
    .has_column_in = "SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND "
                     "table_name = $2 AND column_name = $3",
    .schema_create = "CREATE SCHEMA IF NOT EXISTS %s",
    /* pg_attribute rather than information_schema.columns, whose view
     * costs several milliseconds a query; the LEFT JOIN keeps a row for a
     * table without columns. */
    .table_columns = "SELECT a.attname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                     "ON n.oid = c.relnamespace LEFT JOIN pg_catalog.pg_attribute a ON "
                     "a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped WHERE "
                     "n.nspname = current_schema() AND c.relname = $1 AND c.relkind IN ('r', 'p')",
    .table_columns_in = "SELECT a.attname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace "
                        "n ON n.oid = c.relnamespace LEFT JOIN pg_catalog.pg_attribute a ON "
                        "a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped WHERE "
                        "n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
};
