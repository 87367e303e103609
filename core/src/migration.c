/* migration.c: validation of migration names and sets, done before anything
 * runs so a bad set never touches the database. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Digits of "YYYY_MM_DD_HHMMSS" after the leading 'm'. */
#define PM_VERSION_LEN 17

static int digits(const char *s, size_t n, int *value)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *value = v;
    return 1;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return days[month - 1] + (month == 2 && leap);
}

/* YYYY_MM_DD_HHMMSS with a month, day, hour, minute and second in range. */
static int version_ok(const char *v)
{
    int year, month, day, hour, minute, second;
    return digits(v, 4, &year) && v[4] == '_' && digits(v + 5, 2, &month) && v[7] == '_' &&
           digits(v + 8, 2, &day) && v[10] == '_' && digits(v + 11, 2, &hour) &&
           digits(v + 13, 2, &minute) && digits(v + 15, 2, &second) && year >= 1970 && month >= 1 &&
           month <= 12 && day >= 1 && day <= days_in_month(year, month) && hour <= 23 &&
           minute <= 59 && second <= 59;
}

static int description_ok(const char *d)
{
    if (!*d)
        return 0;
    for (; *d; d++)
        if (!((*d >= 'a' && *d <= 'z') || (*d >= '0' && *d <= '9') || *d == '_'))
            return 0;
    return 1;
}

/* "<digits>_<description>": dbmate's and golang-migrate's names, the version
 * a timestamp or a sequence number, the description [A-Za-z0-9_-] starting
 * with a letter. */
static int numbered_ok(const char *name)
{
    size_t n = strspn(name, "0123456789");
    if (n == 0 || n > 20 || name[n] != '_')
        return 0;
    char first = name[n + 1];
    if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z')))
        return 0; /* the description starts with a letter: 2024_01_01_x is neither form */
    for (const char *d = name + n + 1; *d; d++)
        if (!((*d >= 'a' && *d <= 'z') || (*d >= 'A' && *d <= 'Z') || (*d >= '0' && *d <= '9') ||
              *d == '_' || *d == '-'))
            return 0;
    return 1;
}

static int dated_ok(const char *name)
{
    size_t len = strlen(name);
    return name[0] == 'm' && len >= 1 + PM_VERSION_LEN + 2 && version_ok(name + 1) &&
           name[1 + PM_VERSION_LEN] == '_' && description_ok(name + 2 + PM_VERSION_LEN);
}

/* Compares the digit runs at a and b as numbers: 9 < 10. */
static int compare_numbers(const char *a, size_t na, const char *b, size_t nb)
{
    while (na > 1 && *a == '0')
        a++, na--;
    while (nb > 1 && *b == '0')
        b++, nb--;
    if (na != nb)
        return na < nb ? -1 : 1;
    return strncmp(a, b, na);
}

static bool starts_with_digit(const char *s)
{
    return *s >= '0' && *s <= '9';
}

/* Called for every pair the engine merges and sorts (status, up): the
 * common mYYYY_... names go straight to strcmp, without measuring digit
 * runs. */
int pm_migration_name_cmp(const char *a, const char *b)
{
    if (!starts_with_digit(a) || !starts_with_digit(b))
        return strcmp(a, b);
    size_t na = strspn(a, "0123456789"), nb = strspn(b, "0123456789");
    int cmp = compare_numbers(a, na, b, nb);
    return cmp ? cmp : strcmp(a + na, b + nb);
}

/* Whether a and b carry the same version: equal digits, or the same
 * mYYYY_MM_DD_HHMMSS. */
static bool same_version(const char *a, const char *b)
{
    if (starts_with_digit(a) && starts_with_digit(b))
        return compare_numbers(a, strspn(a, "0123456789"), b, strspn(b, "0123456789")) == 0;
    return a[0] == 'm' && b[0] == 'm' && strlen(a) > 1 + PM_VERSION_LEN &&
           strlen(b) > 1 + PM_VERSION_LEN && strncmp(a, b, 1 + PM_VERSION_LEN) == 0;
}

int pm_migration_name_check(const char *name, pm_error *err)
{
    if (!name || !*name)
        return pm_error_set(err, PM_ESET, "a migration has no name");
    if (!dated_ok(name) && !numbered_ok(name)) {
        pm_error_set(err, PM_ESET,
                     "migration name \"%s\" is invalid: expected mYYYY_MM_DD_HHMMSS_description "
                     "with a valid date and time and a description of [a-z0-9_] (or, from a "
                     "migrations folder, <digits>_<description>)",
                     name);
        pm__error_set_migration(err, name);
        return PM_ESET;
    }
    return 0;
}

static int fail(pm_error *err, const char *migration, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *message = pm__vformat(fmt, ap);
    va_end(ap);
    pm_error_set(err, PM_ESET, "%s", message ? message : "invalid migration set");
    free(message);
    pm__error_set_migration(err, migration);
    return PM_ESET;
}

int pm_migration_set_check(const pm_migration *const *set, size_t count, pm_error *err)
{
    if (count && !set)
        return pm_error_set(err, PM_ESET, "migration set is NULL but its count is %zu", count);
    for (size_t i = 0; i < count; i++) {
        const pm_migration *m = set[i];
        if (!m)
            return pm_error_set(err, PM_ESET, "migration set entry %zu is NULL", i);
        int rc = pm_migration_name_check(m->name, err);
        if (rc < 0)
            return rc;
        if (!m->up)
            return fail(err, m->name, "migration %s has no up()", m->name);
        if (!m->down)
            return fail(err, m->name,
                        "migration %s has no down(): every migration must be reversible", m->name);
        if (i > 0) {
            int cmp = pm_migration_name_cmp(set[i - 1]->name, m->name);
            if (cmp == 0)
                return fail(err, m->name, "migration %s appears twice in the set", m->name);
            if (cmp > 0)
                return fail(err, m->name,
                            "migration %s is listed after %s: the set must be in increasing order",
                            m->name, set[i - 1]->name);
            if (same_version(set[i - 1]->name, m->name))
                return fail(err, m->name, "migrations %s and %s have the same version",
                            set[i - 1]->name, m->name);
        }
    }
    return 0;
}
