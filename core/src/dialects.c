/* dialects.c: how each backend spells portable DDL, as data. They live in
 * the core, not in their drivers, because one backend can be reached by
 * several drivers (libdbi reaches SQLite, PostgreSQL and MySQL) and each
 * dialect is written once. */
#include "poblysh/sys/driver.h"

/* Storage choices are documented in docs/migrations.md: uuid, timestamptz,
 * date and json are TEXT (timestamps as RFC 3339 UTC with milliseconds),
 * booleans 0/1. */
const pm_dialect pm_dialect_sqlite = {
    .version = PM_DIALECT_VERSION,
    .name = "sqlite",
    .quote = '"',
    .types =
        {
            [PM_TYPE_UUID] = "TEXT",
            [PM_TYPE_TEXT] = "TEXT",
            [PM_TYPE_STRING] = "VARCHAR(%u)",
            [PM_TYPE_INTEGER] = "INTEGER",
            [PM_TYPE_BIGINT] = "BIGINT",
            [PM_TYPE_BOOLEAN] = "BOOLEAN",
            [PM_TYPE_DOUBLE] = "REAL",
            [PM_TYPE_TIMESTAMPTZ] = "TEXT",
            [PM_TYPE_DATE] = "TEXT",
            [PM_TYPE_JSON] = "TEXT",
            [PM_TYPE_BINARY] = "BLOB",
        },
    .string_default = "VARCHAR",
    .now = "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
    .bool_true = "1",
    .bool_false = "0",
    .drop_index_on_table = false,
    .drop_suffix = "",
    .fk_checks_off = "PRAGMA foreign_keys = OFF",
    .fk_checks_on = "PRAGMA foreign_keys = ON",
    .others_committed = "PRAGMA data_version",
};

const pm_dialect pm_dialect_postgres = {
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
    /* The client's time in up() (%s: statements sent before a catalog query
     * ran then) plus the final batch's: it arrives as one message, so
     * statement_timestamp() is when it did and clock_timestamp() is now. */
    .elapsed_ms = "(%s::bigint + (extract(epoch FROM clock_timestamp() - statement_timestamp()) "
                  "* 1000)::bigint)",
    .drop_suffix = " CASCADE",
    .scratch_create = "CREATE SCHEMA %s; SET search_path TO %s",
    .scratch_drop = "DROP SCHEMA %s CASCADE; RESET search_path",
    .database_create = "CREATE DATABASE %s TEMPLATE %s",
    .database_rename = "ALTER DATABASE %s RENAME TO %s",
    .database_drop = "DROP DATABASE IF EXISTS %s WITH (FORCE)",
    .database_exists = "SELECT 1 FROM pg_database WHERE datname = $1",
    .named_lock = "SELECT pg_advisory_lock(hashtext($1))",
    .named_unlock = "SELECT pg_advisory_unlock(hashtext($1))",
};

/* MySQL and MariaDB. TIMESTAMP(6) stores UTC and converts from the session
 * time zone, which the driver sets to UTC, so values read back as UTC. */
const pm_dialect pm_dialect_mysql = {
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
    .drop_suffix = "",
    .fk_checks_off = "SET FOREIGN_KEY_CHECKS = 0",
    .fk_checks_on = "SET FOREIGN_KEY_CHECKS = 1",
    .scratch_create = "CREATE DATABASE %s; USE %s",
    .scratch_drop = "DROP DATABASE %s",
};
