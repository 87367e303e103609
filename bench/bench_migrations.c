/* bench_migrations.c: what every benchmark migration shares (up, down, the
 * column list, the naming scheme, the checksum) and the run-time set builder.
 * The generator of the compiled-in set uses the same functions, so both sets
 * have the same names, SQL and checksums. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_set.h"

/* 2024-01-01T00:00:00Z: migration i is i seconds later. */
#define BENCH_EPOCH 1704067200L

const pm_column bench_columns[BENCH_NCOLUMNS] = {
    {.name = "id", .type = PM_TYPE_BIGINT, .flags = PM_PRIMARY_KEY | PM_NOT_NULL},
    /* VARCHAR(255), as the dbmate folder of cases 9-15 has it: TEXT would
     * give every table a TOAST table and its index on PostgreSQL, twice the
     * server's work of the folder's CREATE TABLE. */
    {.name = "name", .type = PM_TYPE_STRING, .length = 255, .flags = PM_NOT_NULL},
    {.name = "created_at",
     .type = PM_TYPE_TIMESTAMPTZ,
     .flags = PM_NOT_NULL,
     .default_kind = PM_DEFAULT_NOW},
};
const char *const bench_index_columns[1] = {"name"};

int bench_up(pm_schema *schema, const void *data)
{
    const bench_item *item = data;
    int rc = pm_schema_create_table(schema, item->table, 0);
    return rc < 0 ? rc : pm_schema_create_index(schema, item->index, 0);
}

int bench_down(pm_schema *schema, const void *data)
{
    const bench_item *item = data;
    return pm_schema_drop_table(schema, item->table->name, 0);
}

/* ==== Names ==== */

/* Copies text into out[size], cut if need be (the names are far shorter). */
static void copy_name(char *out, size_t size, const char *text)
{
    size_t n = strlen(text);
    n = n < size ? n : size - 1;
    memcpy(out, text, n);
    out[n] = '\0';
}

void bench_migration_name(char *out, size_t i)
{
    time_t t = (time_t)(BENCH_EPOCH + (long)i);
    struct tm tm;
    char text[128];
    gmtime_r(&t, &tm);
    snprintf(text, sizeof(text), "m%04d_%02d_%02d_%02d%02d%02d_create_bench_%06zu",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, i);
    copy_name(out, BENCH_NAME_SIZE, text);
}

void bench_table_name(char *out, size_t i)
{
    char text[64];
    snprintf(text, sizeof(text), "bench_%06zu", i);
    copy_name(out, BENCH_TABLE_SIZE, text);
}

void bench_index_name(char *out, size_t i)
{
    char text[64];
    snprintf(text, sizeof(text), "bench_%06zu_name", i);
    copy_name(out, BENCH_INDEX_SIZE, text);
}

int bench_checksum(char out[PM_CHECKSUM_SIZE], size_t i)
{
    char text[160];
    int n = snprintf(text, sizeof(text),
                     "create table bench_%06zu (id, name, created_at) and index bench_%06zu_name",
                     i, i);
    return pm_checksum(out, text, (size_t)n, NULL);
}

/* ==== A set built at run time ==== */

/* Everything migration i needs, in one array element. */
typedef struct bench_entry {
    char name[BENCH_NAME_SIZE];
    char table_name[BENCH_TABLE_SIZE];
    char index_name[BENCH_INDEX_SIZE];
    char checksum[PM_CHECKSUM_SIZE];
    pm_table table;
    pm_index index;
    bench_item item;
} bench_entry;

struct bench_set {
    bench_entry *entries;          /* count of them */
    pm_migration *migrations;      /* count of them, pointing into entries */
    const pm_migration **pointers; /* the set handed to the engine */
    size_t count;
};

static int fill_entry(bench_entry *e, pm_migration *m, size_t i)
{
    bench_migration_name(e->name, i);
    bench_table_name(e->table_name, i);
    bench_index_name(e->index_name, i);
    if (bench_checksum(e->checksum, i) < 0)
        return -1;
    e->table =
        (pm_table){.name = e->table_name, .columns = bench_columns, .ncolumns = BENCH_NCOLUMNS};
    e->index = (pm_index){.name = e->index_name,
                          .table = e->table_name,
                          .columns = bench_index_columns,
                          .ncolumns = 1};
    e->item = (bench_item){&e->table, &e->index};
    *m = (pm_migration){e->name, bench_up, bench_down, PM_MIGRATION_DEFAULT, e->checksum, &e->item};
    return 0;
}

int bench_set_new(bench_set **out, size_t count)
{
    *out = NULL;
    bench_set *set = calloc(1, sizeof(*set));
    if (!set)
        return -1;
    set->count = count;
    set->entries = calloc(count, sizeof(*set->entries));
    set->migrations = calloc(count, sizeof(*set->migrations));
    set->pointers = calloc(count, sizeof(*set->pointers));
    int rc = set->entries && set->migrations && set->pointers ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        rc = fill_entry(&set->entries[i], &set->migrations[i], i + 1);
        set->pointers[i] = &set->migrations[i];
    }
    if (rc < 0) {
        bench_set_free(set);
        return -1;
    }
    *out = set;
    return 0;
}

void bench_set_free(bench_set *set)
{
    if (!set)
        return;
    free(set->entries);
    free(set->migrations);
    free(set->pointers);
    free(set);
}

const pm_migration *const *bench_set_migrations(const bench_set *set, size_t *count)
{
    *count = set->count;
    return set->pointers;
}
