/* migrations.h: the compiled-in migration set of this project, in order. */
#ifndef POBLYSH_MIGRATIONS_H
#define POBLYSH_MIGRATIONS_H

#include <stddef.h>

#include "poblysh/migration.h"

/* The migrations listed in migrations/registry.def, oldest first. Static:
 * never freed. *count receives the number of migrations. */
const pm_migration *const *pm_builtin_migrations(size_t *count);

#endif
