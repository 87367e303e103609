/* pm_registry.c: a program's compiled-in migration set,
 * pm_builtin_migrations(): the C migrations its registry.def lists and the
 * SQL files pm_embed_sql embedded at build time (the array
 * pm_embedded_migrations), merged into one set ordered by version.
 * Installed with the package and compiled into each program that has a set:
 * poblysh_add_migrations() does it in CMake; by hand, compile it with
 * -DPM_REGISTRY_FILE='"path/to/registry.def"' (see examples/service). */
#include <pthread.h>

#include "poblysh/migrations.h"
#include "poblysh/source.h"

#ifndef PM_REGISTRY_FILE
#error "define PM_REGISTRY_FILE as the quoted path of the registry.def to compile"
#endif

#define PM_REGISTER(ident) extern const pm_migration ident;
#include PM_REGISTRY_FILE
#undef PM_REGISTER

#define PM_REGISTER(ident) &ident,
static const pm_migration *const registry[] = {
#include PM_REGISTRY_FILE
    NULL, /* never counted; keeps the array valid C when the registry lists nothing */
};
#undef PM_REGISTER

extern const pm_embedded_sql pm_embedded_migrations[];
extern const size_t pm_embedded_migrations_count;

static pm_source *builtin;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

/* Built once per process; the embedded files were checked at build time,
 * so only memory can run out here. */
static void build(void)
{
    pm_error err = PM_ERROR_INIT;
    if (pm_source_new(&builtin, &err) < 0 ||
        pm_source_add_migrations(builtin, registry, PM_ARRAY_LEN(registry) - 1, &err) < 0 ||
        pm_source_add_embedded(builtin, pm_embedded_migrations, pm_embedded_migrations_count,
                               &err) < 0) {
        pm_source_free(builtin);
        builtin = NULL;
    }
    pm_error_clear(&err);
}

const pm_migration *const *pm_builtin_migrations(size_t *count)
{
    pthread_once(&builtin_once, build);
    if (!builtin) {
        *count = 0;
        return NULL;
    }
    return pm_source_migrations(builtin, count);
}
