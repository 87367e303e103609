/* schema.h: the portable schema builder and the schema manager that a
 * migration's up() and down() receive (the C counterpart of SeaORM's
 * SchemaManager).
 *
 * Tables, columns and indexes are described with plain const structs and
 * designated initializers; the driver's dialect renders them to SQL with every
 * identifier quoted. Raw SQL remains available through pm_schema_exec().
 *
 * Threads: a pm_schema is valid only during the up() or down() it is handed
 * to, on that thread; do not keep it or give it to another thread. The
 * description structs are plain data. */
#ifndef POBLYSH_SCHEMA_H
#define POBLYSH_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Portable column types. How each is stored per backend is documented in
 * docs/migrations.md ("Types per backend"). */
typedef enum pm_type {
    PM_TYPE_UUID, /* SQLite TEXT (36-char canonical form), PostgreSQL UUID */
    PM_TYPE_TEXT,
    PM_TYPE_STRING,  /* VARCHAR(length); length 0 means the backend's default */
    PM_TYPE_INTEGER, /* 32-bit */
    PM_TYPE_BIGINT,  /* 64-bit */
    PM_TYPE_BOOLEAN, /* SQLite BOOLEAN, stored 0/1 */
    PM_TYPE_DOUBLE,
    PM_TYPE_TIMESTAMPTZ, /* SQLite TEXT, RFC 3339 UTC: 2024-01-01T00:00:00.000Z */
    PM_TYPE_DATE,
    PM_TYPE_JSON,
    PM_TYPE_BINARY,
    PM_TYPE__COUNT
} pm_type;

/* Column flags. Columns are nullable unless PM_NOT_NULL or PM_PRIMARY_KEY;
 * PM_NULL only makes the NULL explicit in the rendered SQL. */
#define PM_NOT_NULL (1u << 0)
#define PM_NULL (1u << 1)
#define PM_PRIMARY_KEY (1u << 2)
#define PM_UNIQUE (1u << 3)

typedef enum pm_default_kind {
    PM_DEFAULT_NONE = 0,
    PM_DEFAULT_NOW,    /* the current time, rendered per dialect */
    PM_DEFAULT_STRING, /* value is a string literal; quoted and escaped */
    PM_DEFAULT_NUMBER, /* value is a number literal, written as is */
    PM_DEFAULT_BOOL,   /* value is "true" or "false" */
    PM_DEFAULT_EXPR    /* value is an SQL expression, written as is: not portable */
} pm_default_kind;

typedef enum pm_fk_action {
    PM_FK_NO_ACTION = 0,
    PM_FK_CASCADE,
    PM_FK_SET_NULL,
    PM_FK_RESTRICT
} pm_fk_action;

typedef struct pm_column {
    const char *name;
    pm_type type;
    unsigned int length; /* PM_TYPE_STRING only */
    unsigned int flags;  /* PM_NOT_NULL | PM_PRIMARY_KEY | ... */
    pm_default_kind default_kind;
    const char *default_value; /* see pm_default_kind */
    const char *ref_table;     /* foreign key target table, or NULL */
    const char *ref_column;    /* foreign key target column */
    pm_fk_action on_delete;
} pm_column;

typedef struct pm_table {
    const char *name;
    const pm_column *columns;
    size_t ncolumns;
    /* A composite primary key; NULL when a column carries PM_PRIMARY_KEY. */
    const char *const *primary_key;
    size_t nprimary_key;
} pm_table;

typedef struct pm_index {
    const char *name;
    const char *table;
    const char *const *columns;
    size_t ncolumns;
    bool unique;
} pm_index;

/* Flags for create and drop. */
#define PM_IF_NOT_EXISTS (1u << 0)
#define PM_IF_EXISTS (1u << 1)

/* The schema manager handed to up() and down(). Borrowed: valid only during
 * the call. Every function returns 0 or a negative PM_E* code; the failure's
 * details are kept by the engine, which reports them with the migration's
 * name, so a migration simply returns the code. */
typedef struct pm_schema pm_schema;

int pm_schema_create_table(pm_schema *s, const pm_table *table, unsigned int flags);
int pm_schema_drop_table(pm_schema *s, const char *table, unsigned int flags);
int pm_schema_add_column(pm_schema *s, const char *table, const pm_column *column);
int pm_schema_drop_column(pm_schema *s, const char *table, const char *column);
int pm_schema_rename_column(pm_schema *s, const char *table, const char *from, const char *to);
int pm_schema_create_index(pm_schema *s, const pm_index *index, unsigned int flags);
int pm_schema_drop_index(pm_schema *s, const char *table, const char *index, unsigned int flags);

/* Runs raw SQL (one or more statements) as is. */
int pm_schema_exec(pm_schema *s, const char *sql);

int pm_schema_has_table(pm_schema *s, const char *table, bool *out);
int pm_schema_has_column(pm_schema *s, const char *table, const char *column, bool *out);

/* Limits how long the migration's statements that follow may wait for a
 * lock (lock_timeout_ms) and run (statement_timeout_ms), in milliseconds;
 * 0 means no limit and a negative value leaves that one as it is. Call it
 * first thing in up() or down(): it overrides the run's --ddl-lock-timeout
 * and --statement-timeout for this migration only (PostgreSQL: SET LOCAL
 * inside its transaction; without one, SET and RESET after it). A statement
 * stopped by the lock timeout makes the engine roll a transactional
 * migration back and retry it (docs/postgres.md). On a database without
 * such settings (SQLite, MySQL) it does nothing and returns 0. */
int pm_schema_set_timeouts(pm_schema *s, int lock_timeout_ms, int statement_timeout_ms);

/* The dialect in use: "sqlite", "postgres", "mysql"; for raw SQL that must
 * differ per backend. Static string. */
const char *pm_schema_dialect(const pm_schema *s);

#ifdef __cplusplus
}
#endif
#endif
