/* m2025_01_15_000000_create_widgets: the widgets table, written with the
 * portable schema builder so it runs on SQLite, PostgreSQL and MySQL. */
#include "poblysh/poblysh.h"

static const pm_column widgets_columns[] = {
    {.name = "id", .type = PM_TYPE_UUID, .flags = PM_PRIMARY_KEY | PM_NOT_NULL},
    {.name = "name", .type = PM_TYPE_TEXT, .flags = PM_NOT_NULL},
    {.name = "created_at",
     .type = PM_TYPE_TIMESTAMPTZ,
     .flags = PM_NOT_NULL,
     .default_kind = PM_DEFAULT_NOW},
};

static const pm_table widgets = {
    .name = "widgets",
    .columns = widgets_columns,
    .ncolumns = PM_ARRAY_LEN(widgets_columns),
};

static int up(pm_schema *schema, const void *data)
{
    (void)data;
    return pm_schema_create_table(schema, &widgets, 0);
}

static int down(pm_schema *schema, const void *data)
{
    (void)data;
    return pm_schema_drop_table(schema, "widgets", 0);
}

PM_MIGRATION(m2025_01_15_000000_create_widgets, up, down, PM_MIGRATION_DEFAULT);
