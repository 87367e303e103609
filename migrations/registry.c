/* registry.c: turns registry.def into the ordered migration set the CLI and
 * services use. */
#include "poblysh/migrations.h"

#define PM_REGISTER(ident) extern const pm_migration ident;
#include "registry.def"
#undef PM_REGISTER

#define PM_REGISTER(ident) &ident,
static const pm_migration *const registry[] = {
#include "registry.def"
};
#undef PM_REGISTER

const pm_migration *const *pm_builtin_migrations(size_t *count)
{
    *count = PM_ARRAY_LEN(registry);
    return registry;
}
