/* migrations.h: a program's own compiled-in migration set.
 *
 * CMake's poblysh_add_migrations(<target> REGISTRY <registry.def>
 * [SQL_DIR <dir>]) (from find_package(poblysh)) compiles the C migrations
 * the registry lists and embeds the SQL files of SQL_DIR into <target>,
 * with their checksums computed at build time, and defines
 * pm_builtin_migrations() for that target alone: two targets of one project
 * may have different sets. A program built without it has no such function;
 * it declares nothing else. */
#ifndef POBLYSH_MIGRATIONS_H
#define POBLYSH_MIGRATIONS_H

#include <stddef.h>

#include "poblysh/migration.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The target's migrations (the C ones its registry.def lists and its SQL
 * files), ordered by version. Built on first use (thread-safe: any thread
 * may call it, at any time), never freed; NULL with *count 0 only when
 * memory ran out. */
const pm_migration *const *pm_builtin_migrations(size_t *count);

#ifdef __cplusplus
}
#endif
#endif
