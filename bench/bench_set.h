/* bench_set.h: the benchmark's migration set. Migration i (1-based) is
 * m2024_01_01_HHMMSS_create_bench_NNNNNN, i seconds after 2024-01-01 UTC; its
 * up() creates table bench_NNNNNN (id BIGINT primary key, name TEXT NOT NULL,
 * created_at TIMESTAMPTZ NOT NULL DEFAULT now) and index bench_NNNNNN_name on
 * (name) with the schema builder, as a C migration of a real project does;
 * down() drops the table.
 *
 * The same set exists twice: compiled in (bench_static_set_<N>.c, generated
 * at build time by pm_bench_gen from these functions and linked into
 * pm_bench_cli_<N>, the way a project's migrations/ is linked into its CLI)
 * and built at run time (bench_set_new: the in-process cases, and the
 * baseline's script). */
#ifndef PM_BENCH_SET_H
#define PM_BENCH_SET_H

#include <stddef.h>

#include "poblysh/poblysh.h"

/* What up() and down() of one migration work on (the migration's data). */
typedef struct bench_item {
    const pm_table *table;
    const pm_index *index;
} bench_item;

/* The up() and down() every benchmark migration shares. */
int bench_up(pm_schema *schema, const void *data);
int bench_down(pm_schema *schema, const void *data);

/* The columns every bench table has, and the one its index covers. */
#define BENCH_NCOLUMNS 3
extern const pm_column bench_columns[BENCH_NCOLUMNS];
extern const char *const bench_index_columns[1];

/* Names of migration i (1-based): buffers of at least 48, 24 and 32 bytes. */
#define BENCH_NAME_SIZE 48
#define BENCH_TABLE_SIZE 24
#define BENCH_INDEX_SIZE 32
void bench_migration_name(char *out, size_t i);
void bench_table_name(char *out, size_t i);
void bench_index_name(char *out, size_t i);

/* The checksum recorded for migration i: pm_checksum() of a text that names
 * its table and index, standing for the file text a real build hashes. */
int bench_checksum(char out[PM_CHECKSUM_SIZE], size_t i);

/* The compiled-in set of a pm_bench_cli_<N> (bench_static_set_<N>.c). */
const pm_migration *const *bench_static_set(size_t *count);

/* ==== A set built at run time ==== */

typedef struct bench_set bench_set;

/* Builds migrations 1..count. The caller frees *out with bench_set_free(). */
int bench_set_new(bench_set **out, size_t count);
void bench_set_free(bench_set *set);
/* Borrowed; lives as long as set. */
const pm_migration *const *bench_set_migrations(const bench_set *set, size_t *count);

#endif
