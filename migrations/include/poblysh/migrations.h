/* migrations.h: the compiled-in migration set of this project, in order. */
#ifndef POBLYSH_MIGRATIONS_H
#define POBLYSH_MIGRATIONS_H

#include <stddef.h>

#include "poblysh/migration.h"

/* The migrations listed in migrations/registry.def and the SQL files of
 * migrations/ embedded at build time, ordered by version. Built on first
 * use, never freed; NULL with *count 0 only when memory ran out. */
const pm_migration *const *pm_builtin_migrations(size_t *count);

#endif
