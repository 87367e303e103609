/* mysql_backend.c: everything poblysh knows about MySQL and MariaDB as an
 * engine (reached through libdbi's mysql driver): its DDL spelling, its
 * catalog (information_schema), the named lock, its lexical rules and the
 * scratch database of `verify`. Talks to the database only through the
 * driver's query(). */
#include <string.h>

#include "poblysh/sys/driver.h"

/* TIMESTAMP(6) stores UTC and converts from the session time zone, which
 * session_setup sets to UTC, so values read back as UTC. */
static const pm_dialect mysql_dialect = {
    .version = PM_DIALECT_VERSION,
    .name = "mysql",
    .quote = '`',
    .types =
        {
            [PM_TYPE_UUID] = "CHAR(36)",
            [PM_TYPE_TEXT] = "TEXT",
            [PM_TYPE_STRING] = "VARCHAR(%u)",
            [PM_TYPE_INTEGER] = "INT",
            [PM_TYPE_BIGINT] = "BIGINT",
            [PM_TYPE_BOOLEAN] = "BOOLEAN",
            [PM_TYPE_DOUBLE] = "DOUBLE",
            [PM_TYPE_TIMESTAMPTZ] = "TIMESTAMP(6)",
            [PM_TYPE_DATE] = "DATE",
            [PM_TYPE_JSON] = "JSON",
            [PM_TYPE_BINARY] = "LONGBLOB",
        },
    .string_default = "VARCHAR(255)",
    .now = "CURRENT_TIMESTAMP(6)",
    .bool_true = "TRUE",
    .bool_false = "FALSE",
    .drop_index_on_table = true,
    .backslash_escapes = true,
};

/* ==== Catalog ==== */

static int read_table(pm_conn *c, pm_catalog *cat, const char *t, pm_error *err)
{
    pm_rows r, fk;
    int rc = pm_rows_fetch(
        c,
        "SELECT ORDINAL_POSITION, COLUMN_NAME, UPPER(COLUMN_TYPE), IS_NULLABLE, "
        "COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
        "AND TABLE_NAME = $1 ORDER BY ORDINAL_POSITION",
        t, &r, err);
    for (size_t i = 0; rc == 0 && i < r.nrows; i++)
        pm_catalog_column(cat, t, pm_rows_cell(&r, i, 0), pm_rows_cell(&r, i, 1),
                          pm_rows_cell(&r, i, 2), !pm_catalog_truthy(pm_rows_cell(&r, i, 3)),
                          pm_rows_cell(&r, i, 4));
    pm_rows_free(&r);
    memset(&fk, 0, sizeof(fk));
    if (rc == 0)
        rc = pm_rows_fetch(
            c,
            "SELECT GROUP_CONCAT(k.COLUMN_NAME ORDER BY k.ORDINAL_POSITION SEPARATOR ', '), "
            "k.REFERENCED_TABLE_NAME, GROUP_CONCAT(k.REFERENCED_COLUMN_NAME ORDER BY "
            "k.ORDINAL_POSITION SEPARATOR ', '), r.DELETE_RULE FROM "
            "information_schema.KEY_COLUMN_USAGE k JOIN "
            "information_schema.REFERENTIAL_CONSTRAINTS r ON r.CONSTRAINT_SCHEMA = "
            "k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME WHERE "
            "k.TABLE_SCHEMA = DATABASE() AND k.TABLE_NAME = $1 AND k.REFERENCED_TABLE_NAME "
            "IS NOT NULL GROUP BY k.CONSTRAINT_NAME, k.REFERENCED_TABLE_NAME, r.DELETE_RULE",
            t, &fk, err);
    for (size_t i = 0; rc == 0 && i < fk.nrows; i++)
        pm_catalog_entry(cat, t, PM_CATALOG_FOREIGN_KEY, 0, "foreign key (%s) references %s (%s)%s",
                         pm_rows_cell(&fk, i, 0), pm_rows_cell(&fk, i, 1), pm_rows_cell(&fk, i, 2),
                         pm_catalog_on_delete(pm_rows_cell(&fk, i, 3)));
    if (rc == 0) /* indexes, except those MySQL made for a foreign key */
        rc = pm_rows_fetch(
            c,
            "SELECT s.INDEX_NAME, MIN(s.NON_UNIQUE), GROUP_CONCAT(s.COLUMN_NAME ORDER BY "
            "s.SEQ_IN_INDEX SEPARATOR ', ') FROM information_schema.STATISTICS s WHERE "
            "s.TABLE_SCHEMA = DATABASE() AND s.TABLE_NAME = $1 AND s.INDEX_NAME NOT IN "
            "(SELECT CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE "
            "CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = s.TABLE_NAME) GROUP BY "
            "s.INDEX_NAME",
            t, &r, err);
    for (size_t i = 0; rc == 0 && i < r.nrows; i++) {
        const char *name = pm_rows_cell(&r, i, 0);
        bool implicit = false;
        for (size_t k = 0; pm_catalog_truthy(pm_rows_cell(&r, i, 1)) && k < fk.nrows && !implicit;
             k++)
            implicit = pm_rows_cell(&fk, k, 0) && pm_rows_cell(&r, i, 2) &&
                       strcmp(pm_rows_cell(&fk, k, 0), pm_rows_cell(&r, i, 2)) == 0;
        if (implicit)
            continue;
        if (strcmp(name, "PRIMARY") == 0)
            pm_catalog_entry(cat, t, PM_CATALOG_PRIMARY_KEY, 0, "primary key (%s)",
                             pm_rows_cell(&r, i, 2));
        else
            pm_catalog_entry(cat, t, PM_CATALOG_INDEX, 0, "%sindex %s (%s)",
                             pm_catalog_truthy(pm_rows_cell(&r, i, 1)) ? "" : "unique ", name,
                             pm_rows_cell(&r, i, 2));
    }
    pm_rows_free(&r);
    pm_rows_free(&fk);
    return rc;
}

static int read_schema(pm_conn *c, pm_catalog *cat, pm_error *err)
{
    return pm_catalog_read(
        c, cat,
        "SELECT TABLE_NAME, CASE WHEN TABLE_TYPE = 'VIEW' THEN 'view' ELSE 'table' END "
        "FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY "
        "TABLE_NAME",
        read_table, err);
}

/* ==== fresh: what it drops ==== */

#define MY_QUOTED(column) "CONCAT('`', REPLACE(" column ", '`', '``'), '`')"

/* Events and stored routines first, then views, then tables (their
 * triggers go with them) and MariaDB's sequences, all of this database. */
#define MY_FRESH_OBJECTS                                                                           \
    "SELECT kind, name, stmt FROM (SELECT 1 AS ord, 'event' AS kind, EVENT_NAME AS name, "         \
    "CONCAT('DROP EVENT IF EXISTS ', " MY_QUOTED(                                                  \
        "EVENT_NAME") ") AS stmt FROM "                                                            \
                      "information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE() UNION ALL "       \
                      "SELECT 2, "                                                                 \
                      "LOWER(ROUTINE_TYPE), ROUTINE_NAME, CONCAT('DROP ', ROUTINE_TYPE, ' IF "     \
                      "EXISTS ', " MY_QUOTED(                                                      \
                          "ROUTINE_NAME") ") FROM information_schema.ROUTINES WHERE "              \
                                          "ROUTINE_SCHEMA = DATABASE() "                           \
                                          "UNION ALL SELECT 3, 'view', TABLE_NAME, CONCAT('DROP "  \
                                          "VIEW IF EXISTS ', " MY_QUOTED(                          \
                                              "TABLE_NAME") ") FROM information_schema.VIEWS "     \
                                                            "WHERE TABLE_SCHEMA = DATABASE() "     \
                                                            "UNION ALL SELECT 4, CASE TABLE_TYPE " \
                                                            "WHEN 'SEQUENCE' THEN 'sequence' "     \
                                                            "ELSE 'table' END, TABLE_NAME, "       \
                                                            "CONCAT(CASE TABLE_TYPE WHEN "         \
                                                            "'SEQUENCE' THEN 'DROP SEQUENCE IF "   \
                                                            "EXISTS ' ELSE 'DROP TABLE IF "        \
                                                            "EXISTS ' END, " MY_QUOTED(            \
                                                                "TABLE_NAME") ") FROM "            \
                                                                              "information_"       \
                                                                              "schema.TABLES "     \
                                                                              "WHERE "             \
                                                                              "TABLE_SCHEMA = "    \
                                                                              "DATABASE() AND "    \
                                                                              "TABLE_TYPE IN "     \
                                                                              "('BASE "            \
                                                                              "TABLE', "           \
                                                                              "'SEQUENCE') AND "   \
                                                                              "TABLE_NAME <> "     \
                                                                              "'seaql_migrations'" \
                                                                              ") o ORDER BY ord, " \
                                                                              "name"

/* ==== The backend ==== */

const pm_backend pm_backend_mysql = {
    .version = PM_BACKEND_VERSION,
    .name = "mysql",
    .dialect = &mysql_dialect,
    .conn_flags = 0, /* DDL commits implicitly */
    .lexer_flags = PM_SQL_MYSQL,
    .session_setup = "SET time_zone = '+00:00'",
    .begin = "START TRANSACTION",
    .has_table = "SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND "
                 "table_name = $1 AND table_type = 'BASE TABLE'",
    .has_column = "SELECT 1 FROM information_schema.columns WHERE table_schema = DATABASE() AND "
                  "table_name = $1 AND column_name = $2",
    .read_schema = read_schema,
    /* A named lock per database, GET_LOCK polled with timeout 0. */
    .lock_namespace = "SELECT DATABASE()",
    .lock_no_namespace = "no database selected: name it in the URL, e.g. mysql://user@host/app",
    .lock_key = "SELECT CONCAT('poblysh:', SHA1(CONCAT($1, '.seaql_migrations')))",
    .lock_try = "SELECT GET_LOCK($1, 0)",
    .lock_granted = "1",
    .lock_release = "SELECT RELEASE_LOCK($1)",
    .lock_holder = "SELECT CONCAT('MySQL/MariaDB connection ID ', IS_USED_LOCK($1), '; see it "
                   "with SELECT * FROM information_schema.PROCESSLIST WHERE ID = ', "
                   "IS_USED_LOCK($1)) FROM DUAL WHERE IS_USED_LOCK($1) IS NOT NULL",
    .drop_suffix = "",
    .fk_checks_off = "SET FOREIGN_KEY_CHECKS = 0",
    .fk_checks_on = "SET FOREIGN_KEY_CHECKS = 1",
    .scratch_create = "CREATE DATABASE %s; USE %s",
    .scratch_drop = "DROP DATABASE %s",
    .scratch_home = "SELECT DATABASE()",
    .scratch_return = "USE `%s`",
    /* The history's database, read before any migration can USE another. */
    .session_schema = "SELECT DATABASE()",
    .scratch_database_create = "CREATE DATABASE %s",
    .scratch_database_drop = "DROP DATABASE IF EXISTS %s",
    .scratch_database_refused =
        "verify runs in a scratch database of its own so that it never "
        "touches this one, and this account may not create one: give "
        "verify the URL of an account that may (GRANT CREATE, DROP ON *.*), on the same "
        "server",
    .fresh_objects = MY_FRESH_OBJECTS,
    .database_maintenance = "", /* a connection that names no database */
    .database_exists = "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = $1",
    .schemas_elsewhere = "mysql has no schemas apart from databases: name the database in the URL",
    /* Column names compare without case in MySQL: lower-cased for the core.
     * The constants are repeated on both tables: MariaDB then reads only
     * this table's definition; joined on t's columns instead, it opens every
     * table of every database (34 ms with 100 tables). A table always has a
     * column, so an inner join has no row exactly when there is no table. */
    .table_columns = "SELECT LOWER(c.column_name) FROM information_schema.tables t JOIN "
                     "information_schema.columns c ON c.table_schema = DATABASE() AND "
                     "c.table_name = $1 WHERE t.table_schema = DATABASE() AND "
                     "t.table_name = $1 AND t.table_type = 'BASE TABLE'",
    .table_columns_in = "SELECT LOWER(c.column_name) FROM information_schema.tables t JOIN "
                        "information_schema.columns c ON c.table_schema = $1 AND "
                        "c.table_name = $2 WHERE t.table_schema = $1 AND "
                        "t.table_name = $2 AND t.table_type = 'BASE TABLE'",
};
