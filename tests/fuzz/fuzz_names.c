/* fuzz_names.c: migration names, whose versions order every set and match
 * other tools' histories (pm_migration_name_check, pm_migration_name_cmp,
 * pm__version_parse, pm__version_of_text). The input holds up to three names
 * separated by NUL bytes. Oracles besides the sanitizers: a name is valid
 * exactly when its version parses; the order is total and consistent (equal
 * only for equal names, antisymmetric, transitive on the three); a refused
 * name's message quotes it; a bare version read back from a valid numbered
 * or dotted name equals the name's own. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

static void check_one(const char *name)
{
    pm__version v;
    const char *problem = pm__version_parse(name, &v);
    pm_error err = PM_ERROR_INIT;
    int rc = pm_migration_name_check(name, &err);
    if ((rc == 0) != (problem == NULL) || (!*name && rc == 0))
        abort();
    if (rc < 0 && *name && (!err.message || !strstr(err.message, name)))
        abort();
    pm_error_clear(&err);
    if (problem || v.kind == PM__VERSION_TIMESTAMP)
        return;
    /* The version text, read back as a bare version, is the same version. */
    pm__version bare;
    if (pm__version_of_text(v.text, v.kind, &bare) != NULL || pm__version_cmp(&v, &bare) != 0)
        abort();
}

static void check_pair(const char *a, const char *b)
{
    int ab = pm_migration_name_cmp(a, b), ba = pm_migration_name_cmp(b, a);
    if (sign(ab) != -sign(ba) || (ab == 0) != (strcmp(a, b) == 0))
        abort();
}

static void check_three(const char *a, const char *b, const char *c)
{
    if (pm_migration_name_cmp(a, b) < 0 && pm_migration_name_cmp(b, c) < 0 &&
        pm_migration_name_cmp(a, c) >= 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 3);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = copy[size + 1] = copy[size + 2] = '\0';
    const char *a = copy, *b = a + strlen(a) + 1;
    const char *c = b <= copy + size ? b + strlen(b) + 1 : copy + size + 2;
    if (b > copy + size + 2)
        b = copy + size + 2;
    if (c > copy + size + 2)
        c = copy + size + 2;
    check_one(a);
    check_one(b);
    check_one(c);
    check_pair(a, b);
    check_pair(b, c);
    check_pair(a, c);
    check_three(a, b, c);
    check_three(c, b, a);
    check_three(b, a, c);
    free(copy);
    return 0;
}
