/* m2024_01_01_000001_create_tenants: the baseline tenants table for tenant
 * isolation, taken over from the Rust service's first SeaORM migration:
 *   tenants (id UUID PRIMARY KEY NOT NULL, name TEXT NULL,
 *            created_at TIMESTAMPTZ NOT NULL DEFAULT now()) */
#include "poblysh/poblysh.h"

static const pm_column tenants_columns[] = {
    {.name = "id", .type = PM_TYPE_UUID, .flags = PM_PRIMARY_KEY | PM_NOT_NULL},
    {.name = "name", .type = PM_TYPE_TEXT, .flags = PM_NULL},
    {.name = "created_at",
     .type = PM_TYPE_TIMESTAMPTZ,
     .flags = PM_NOT_NULL,
     .default_kind = PM_DEFAULT_NOW},
};

static const pm_table tenants = {
    .name = "tenants",
    .columns = tenants_columns,
    .ncolumns = PM_ARRAY_LEN(tenants_columns),
};

static int up(pm_schema *schema, const void *data)
{
    (void)data;
    return pm_schema_create_table(schema, &tenants, 0);
}

static int down(pm_schema *schema, const void *data)
{
    (void)data;
    return pm_schema_drop_table(schema, "tenants", 0);
}

PM_MIGRATION(m2024_01_01_000001_create_tenants, up, down, PM_MIGRATION_DEFAULT);
