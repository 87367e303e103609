/* sqlite_sql.h: the catalog statements every driver that reaches SQLite
 * sends (drivers/sqlite and libdbi's sqlite3 in drivers/dbi). Parameters are
 * written $1..$n. */
#ifndef PM_SQLITE_SQL_H
#define PM_SQLITE_SQL_H

#define SQLITE_SQL_HAS_TABLE "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1"
#define SQLITE_SQL_HAS_COLUMN "SELECT 1 FROM pragma_table_info($1) WHERE name = $2"

#endif
