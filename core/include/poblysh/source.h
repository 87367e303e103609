/* source.h: migration sets that are not compiled C: SQL files, loaded from a
 * folder at run time (the layouts of dbmate, golang-migrate, goose, sqlx,
 * diesel and Flyway) or embedded in
 * the binary at build time, merged with C migrations into one ordered set.
 *
 * An SQL migration is a file with sections:
 *   -- migrate:up [transaction:false] [dialect=sqlite|postgres|mysql]
 *   CREATE TABLE ...;
 *   -- migrate:down [dialect=...]
 *   DROP TABLE ...;
 * The section whose dialect matches the connection's is used, else the one
 * without a dialect. goose's -- +goose Up / Down markers work as well
 * (StatementBegin/End are accepted and not needed: statements are found by
 * the lexer; NO TRANSACTION is transaction:false), and a file without
 * markers is up only. golang-migrate's NAME.up.sql / NAME.down.sql pairs
 * are one migration each.
 *
 * Threads: a pm_source is used by one thread at a time while migrations are
 * added. Once loaded, pm_source_migrations() and the migrations it returns
 * are only read, so engines in several threads may use them at once as long
 * as no thread adds to or frees the source. Different sources are
 * independent. */
#ifndef POBLYSH_SOURCE_H
#define POBLYSH_SOURCE_H

#include <stddef.h>

#include "errors.h"
#include "migration.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pm_source pm_source;

/* An SQL file compiled into the binary (pm_embed_sql, run by
 * poblysh_add_migrations()). */
typedef struct pm_embedded_sql {
    const char *name; /* the migration name: the file name without .sql */
    const char *text;
    size_t length;
} pm_embedded_sql;

int pm_source_new(pm_source **out, pm_error *err);

/* The largest migration file pm_source_add_dir() reads: 16 MiB. */
#define PM_SQL_FILE_MAX (16u * 1024u * 1024u)

/* Loads the migrations of dir, laid out as the tool that wrote them lays
 * them out, each entry recognised by its name:
 *   <version>_<name>.sql            one file with sections: dbmate's
 *                                   -- migrate:up/down or goose's
 *                                   -- +goose Up/Down markers; without
 *                                   markers an up-only migration (sqlx)
 *   <version>_<name>.up.sql         golang-migrate and sqlx, with an
 *                                   optional <version>_<name>.down.sql
 *   <version>_<name>/up.sql         diesel, with an optional down.sql
 *   V<version>__<desc>.sql          Flyway, undone by U<version>__<desc>.sql
 * Versions (pm_migration_name_check) order the set as numbers, timestamps
 * or dotted parts. A folder must hold one family (numbered files, diesel
 * folders or Flyway files) unless pm_source_add_dir_as() names its format.
 * Nothing is added unless the whole folder is valid; the error lists every
 * entry that is not, each with the file (and line) and the rule it breaks.
 * Each file must be a regular file (a symbolic link to one is followed) of
 * at most PM_SQL_FILE_MAX bytes: a FIFO, a device or a directory named *.sql
 * is an error at once, never waited on or read without end. */
int pm_source_add_dir(pm_source *src, const char *dir, pm_error *err);
/* pm_source_add_dir() reading dir as one tool's layout: format is "auto"
 * (or NULL), "dbmate", "goose", "golang-migrate", "sqlx", "diesel" or
 * "flyway"; an entry that does not fit it is an error. PM_EINVAL for an
 * unknown format. */
int pm_source_add_dir_as(pm_source *src, const char *dir, const char *format, pm_error *err);
/* 0 when format is a layout pm_source_add_dir_as() knows (or NULL), else
 * PM_EINVAL with a message listing the known ones. */
int pm_source_format_check(const char *format, pm_error *err);

/* Adds one SQL migration from its text; file names it in errors. */
int pm_source_add_sql(pm_source *src, const char *name, const char *text, size_t length,
                      const char *file, pm_error *err);

/* Adds migrations compiled into the binary. */
int pm_source_add_embedded(pm_source *src, const pm_embedded_sql *files, size_t count,
                           pm_error *err);

/* Adds C migrations (borrowed: they must outlive src). */
int pm_source_add_migrations(pm_source *src, const pm_migration *const *set, size_t count,
                             pm_error *err);

/* Every migration added, ordered by name (pm_migration_name_cmp). Borrowed:
 * valid until src changes or is freed. Two migrations with the same version
 * are refused by pm_migration_set_check and pm_engine_new. */
const pm_migration *const *pm_source_migrations(pm_source *src, size_t *count);

void pm_source_free(pm_source *src);

#ifdef __cplusplus
}
#endif
#endif
