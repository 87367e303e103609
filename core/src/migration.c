/* migration.c: the names of migrations and the versions they carry, and the
 * validation of sets, done before anything runs so a bad set never touches
 * the database.
 *
 * A name is what the history records; its version orders the set and
 * matches other tools' histories:
 *   mYYYY_MM_DD_HHMMSS_desc, mYYYYMMDD_HHMMSS_desc   a timestamp (SeaORM's
 *                                                    two styles)
 *   <digits>[<separator><description>]               a number (dbmate,
 *                                                    golang-migrate, goose, sqlx)
 *   <dddd>-<dd>-<dd>-<dddddd>_desc                   a number, dashes dropped
 *                                                    (diesel)
 *   V<d>[.<d>...]__desc                              dotted parts (Flyway) */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The history's version column is VARCHAR(255) on MySQL. */
#define PM_NAME_MAX 255

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool all_digits(const char *s, size_t n, int *value)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *value = v;
    return true;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return days[month - 1] + (month == 2 && leap);
}

/* Reads YYYY_MM_DD_HHMMSS or YYYYMMDD_HHMMSS at s, every field in range,
 * into the 14 digits of v. Returns the length read, 0 when it is neither. */
static size_t read_timestamp(const char *s, pm__version *v)
{
    size_t len = strnlen(s, 17);
    bool long_form = len >= 17 && s[4] == '_';
    size_t date = long_form ? 10 : 8;
    const char *month = s + (long_form ? 5 : 4), *day = s + (long_form ? 8 : 6), *t = s + date + 1;
    int y, mo, d, h, mi, se;
    if (len < date + 7 || !all_digits(s, 4, &y) || !all_digits(month, 2, &mo) ||
        !all_digits(day, 2, &d) || (long_form && s[7] != '_') || s[date] != '_' ||
        !all_digits(t, 2, &h) || !all_digits(t + 2, 2, &mi) || !all_digits(t + 4, 2, &se))
        return 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        se > 59)
        return 0;
    /* every field has exactly its width of digits: the 14 digits in order */
    memcpy(v->text, s, 4);
    memcpy(v->text + 4, month, 2);
    memcpy(v->text + 6, day, 2);
    memcpy(v->text + 8, t, 6);
    v->text[14] = '\0';
    v->kind = PM__VERSION_TIMESTAMP;
    return date + 7;
}

/* The length of the leading version of a numbered name: its digits, or
 * diesel's digit groups joined by '-' when a '_' or the end follows. */
static size_t number_length(const char *s)
{
    size_t n = strspn(s, "0123456789"), total = n;
    bool dashed = false;
    while (s[total] == '-' && is_digit(s[total + 1])) {
        total += 1 + strspn(s + total + 1, "0123456789");
        dashed = true;
    }
    return dashed && (s[total] == '_' || s[total] == '\0') ? total : n;
}

/* The digits of s[0..n) without leading zeros ('-' between diesel's
 * groups skipped); more than 20 are refused (goose and sqlx keep versions
 * in 64 bits). */
static const char *read_number(const char *s, size_t n, pm__version *v)
{
    size_t len = 0;
    v->kind = PM__VERSION_NUMBER;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            continue;
        if (len == 1 && v->text[0] == '0')
            len = 0;
        if (len >= 20) {
            v->text[len] = '\0';
            return "its version has more than 20 digits";
        }
        v->text[len++] = s[i];
    }
    v->text[len] = '\0';
    return NULL;
}

/* Flyway's 1.2.3 (or 1_2_3): parts without leading zeros, trailing zero
 * parts dropped (Flyway treats 1.0 as 1). Returns the length read or 0. */
static size_t read_dotted(const char *s, pm__version *v)
{
    size_t i = 0, out = 0;
    v->kind = PM__VERSION_DOTTED;
    while (is_digit(s[i])) {
        size_t n = strspn(s + i, "0123456789");
        size_t skip = 0;
        while (skip + 1 < n && s[i + skip] == '0')
            skip++;
        if (out + (out ? 1 : 0) + n - skip >= sizeof(v->text))
            return 0;
        if (out)
            v->text[out++] = '.';
        memcpy(v->text + out, s + i + skip, n - skip);
        out += n - skip;
        i += n;
        if ((s[i] == '.' || (s[i] == '_' && s[i + 1] != '_')) && is_digit(s[i + 1]))
            i++;
        else
            break;
    }
    v->text[out] = '\0';
    while (out >= 2 && v->text[out - 1] == '0' && v->text[out - 2] == '.')
        v->text[out -= 2] = '\0';
    return i;
}

static const char *bad_text(const char *name)
{
    if (strlen(name) > PM_NAME_MAX)
        return "it is longer than 255 bytes";
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\')
            return "it holds a control character, '/' or '\\'";
    return NULL;
}

static bool seaorm_description(const char *d)
{
    if (!*d)
        return false;
    for (; *d; d++)
        if (!((*d >= 'a' && *d <= 'z') || is_digit(*d) || *d == '_'))
            return false;
    return true;
}

static const char *parse_timestamp_name(const char *name, pm__version *v)
{
    size_t n = read_timestamp(name + 1, v);
    if (n == 0)
        return "after 'm' it needs YYYY_MM_DD_HHMMSS or YYYYMMDD_HHMMSS with a valid date and time";
    if (name[1 + n] != '_' || !seaorm_description(name + 2 + n))
        return "after its timestamp it needs '_' and a description of [a-z0-9_]";
    v->description = name + 2 + n;
    return NULL;
}

static const char *parse_dotted_name(const char *name, pm__version *v)
{
    size_t n = read_dotted(name + 1, v);
    if (n == 0 || strncmp(name + 1 + n, "__", 2) != 0 || !name[3 + n])
        return "a Flyway name is V<version>__<description>, the version digits and dots";
    v->description = name + 3 + n;
    return NULL;
}

static const char *parse_number_name(const char *name, pm__version *v)
{
    size_t n = number_length(name);
    const char *problem = read_number(name, n, v);
    v->description = name[n] ? name + n + 1 : name + n;
    return problem;
}

const char *pm__version_parse(const char *name, pm__version *v)
{
    memset(v, 0, sizeof(*v));
    const char *problem = bad_text(name);
    if (problem)
        return problem;
    if (is_digit(name[0]))
        return parse_number_name(name, v);
    if (name[0] == 'm' && is_digit(name[1]))
        return parse_timestamp_name(name, v);
    if (name[0] == 'V' && is_digit(name[1]))
        return parse_dotted_name(name, v);
    return "it must start with a version: digits, mYYYY_MM_DD_HHMMSS, mYYYYMMDD_HHMMSS or "
           "V<digits>";
}

const char *pm__version_of_text(const char *text, pm__version_kind kind, pm__version *v)
{
    memset(v, 0, sizeof(*v));
    v->description = text + strlen(text);
    if (kind == PM__VERSION_DOTTED) {
        size_t n = read_dotted(text, v);
        return n && !text[n] ? NULL : "not a dotted version";
    }
    size_t n = number_length(text);
    if (n == 0 || text[n])
        return "not a number";
    return read_number(text, n, v);
}

/* Compares dotted versions part by part as numbers. */
static int dotted_cmp(const char *a, const char *b)
{
    while (*a || *b) {
        size_t na = strcspn(a, "."), nb = strcspn(b, ".");
        if (na != nb)
            return na < nb ? -1 : 1; /* no leading zeros: longer is larger; none is 0 */
        int c = strncmp(a, b, na);
        if (c)
            return c;
        a += na + (a[na] == '.');
        b += nb + (b[nb] == '.');
    }
    return 0;
}

int pm__version_cmp(const pm__version *a, const pm__version *b)
{
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->kind == PM__VERSION_DOTTED)
        return dotted_cmp(a->text, b->text);
    size_t na = strlen(a->text), nb = strlen(b->text);
    if (na != nb)
        return na < nb ? -1 : 1;
    return strcmp(a->text, b->text);
}

/* The 14 digits of a name shaped like a timestamp (either style), whether
 * or not its date is valid, so that every such name has a place. */
static const char long_form[] = "dddd_dd_dd_dddddd_", short_form[] = "dddddddd_dddddd_";

static bool timestamp_shape(const char *s, pm__version *v)
{
    const char *form = strnlen(s, 5) == 5 && s[4] == '_' ? long_form : short_form;
    size_t n = 0;
    for (size_t i = 0; form[i]; i++) {
        if (form[i] == 'd' ? !is_digit(s[i]) : s[i] != '_')
            return false;
        if (form[i] == 'd')
            v->text[n++] = s[i];
    }
    v->text[n] = '\0';
    v->kind = PM__VERSION_TIMESTAMP;
    return true;
}

/* The version that places name in the order: by its shape alone, so that
 * a name with an impossible date still sorts among its like. False for a
 * name without one. For a valid name it is pm__version_parse()'s. */
static bool sort_key(const char *name, pm__version *v)
{
    memset(v, 0, sizeof(*v));
    if (is_digit(name[0]))
        return read_number(name, number_length(name), v) == NULL;
    if (name[0] == 'm' && is_digit(name[1]))
        return timestamp_shape(name + 1, v);
    if (name[0] == 'V' && is_digit(name[1]))
        return read_dotted(name + 1, v) > 0;
    return false;
}

/* mYYYY_MM_DD_HHMMSS_...: fixed width, so text order is time order. */
static bool long_dated(const char *s)
{
    if (s[0] != 'm')
        return false;
    for (size_t i = 0; long_form[i]; i++)
        if (long_form[i] == 'd' ? !is_digit(s[i + 1]) : s[i + 1] != '_')
            return false;
    return true;
}

/* dbmate's, goose's and golang-migrate's names (digits, then '_' or the
 * end) whose digit runs have one width, as a folder's names mostly do: their
 * numbers compare as their text does, so no version is built. False when
 * the fast path does not apply. */
static bool same_width_numbers(const char *a, const char *b, int *cmp)
{
    if (!is_digit(a[0]) || !is_digit(b[0]))
        return false;
    size_t na = strspn(a, "0123456789"), nb = strspn(b, "0123456789");
    if (na != nb || na > 20 || a[na] == '-' || b[nb] == '-')
        return false; /* diesel's dashed versions take the long way */
    int c = memcmp(a, b, na);
    *cmp = c ? c : strcmp(a, b);
    return true;
}

/* Called for every pair the engine merges and sorts (status, up): the
 * common mYYYY_... names go straight to strcmp. Versions first, then the
 * whole names, so the order is total and only equal names compare equal
 * (bsearch over the history relies on it). A name without a version (a
 * history row no set can have) sorts first, among its like by text. */
int pm_migration_name_cmp(const char *a, const char *b)
{
    if (long_dated(a) && long_dated(b))
        return strcmp(a, b);
    int cmp;
    if (same_width_numbers(a, b, &cmp))
        return cmp;
    pm__version va, vb;
    bool keyed_a = sort_key(a, &va), keyed_b = sort_key(b, &vb);
    if (keyed_a != keyed_b)
        return keyed_a ? 1 : -1;
    cmp = keyed_a ? pm__version_cmp(&va, &vb) : 0;
    return cmp ? cmp : strcmp(a, b);
}

/* pm_migration_name_check() that also gives the name's version. */
static int name_version(const char *name, pm__version *v, pm_error *err)
{
    if (!name || !*name)
        return pm_error_set(err, PM_ESET, "a migration has no name");
    const char *problem = pm__version_parse(name, v);
    if (problem) {
        pm_error_set(err, PM_ESET, "migration name \"%s\" is invalid: %s", name, problem);
        pm__error_set_migration(err, name);
        return PM_ESET;
    }
    return 0;
}

int pm_migration_name_check(const char *name, pm_error *err)
{
    pm__version v;
    return name_version(name, &v, err);
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
    pm__version prev = {0}, cur = {0}; /* each name's version is read once */
    for (size_t i = 0; i < count; i++, prev = cur) {
        const pm_migration *m = set[i];
        if (!m)
            return pm_error_set(err, PM_ESET, "migration set entry %zu is NULL", i);
        int rc = name_version(m->name, &cur, err);
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
            if (pm__version_cmp(&prev, &cur) == 0)
                return fail(err, m->name, "migrations %s and %s have the same version",
                            set[i - 1]->name, m->name);
            if (cmp > 0)
                return fail(err, m->name,
                            "migration %s is listed after %s: the set must be in increasing order",
                            m->name, set[i - 1]->name);
        }
    }
    return 0;
}
