/* fleet_targets.c: the targets of a fleet: added one by one, from a
 * targets file's text (one URL a line, with name= and schema= fields), or
 * from the rows of a query on a control database; and the names made for
 * those given none. Lists are added whole or not at all. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fleet_internal.h"

/* ==== Targets ==== */

static void target_free(pm__fleet_target *t)
{
    if (!t)
        return;
    free(t->url);
    free(t->redacted);
    free(t->name_given);
    free(t->name_from_url);
    free(t->name_if_clash);
    free(t->schema);
    free(t->origin);
    pm_error_clear(&t->error);
    pm_status_free(t->status);
    free(t);
}

size_t pm__fleet_mark(const pm_fleet *fleet)
{
    return fleet->ntargets;
}

static void rebuild_index(pm_fleet *fleet, size_t want);

void pm__fleet_rollback(pm_fleet *fleet, size_t mark)
{
    while (fleet->ntargets > mark)
        target_free(fleet->targets[--fleet->ntargets]);
    fleet->names_settled = false;
    if (mark == 0) {
        free(fleet->twins.slots);
        free(fleet->given_names.slots);
        fleet->twins = fleet->given_names = (pm__fleet_index){NULL, 0};
    } else {
        rebuild_index(fleet, fleet->twins.cap);
    }
}

/* The last part of a path, without its extension ("tenant_3" of
 * "/srv/tenant_3.db"): malloc'd. */
static char *file_stem(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot > base ? (size_t)(dot - base) : strlen(base);
    return pm__strndup(base, n);
}

/* The name made from url and schema: the schema, else the database's name
 * (a database file's stem), else the redacted URL. NULL when out of memory. */
static char *made_name(const char *url, const char *schema, const char *redacted)
{
    if (schema)
        return pm__strdup(schema);
    char *name = NULL;
    pm_error ignored = PM_ERROR_INIT;
    if (pm_database_name(url, &name, &ignored) < 0 || !name || !*name) {
        pm_error_clear(&ignored);
        free(name);
        return pm__strdup(redacted);
    }
    pm_error_clear(&ignored);
    pm_url *parsed = NULL;
    const pm_driver *driver = NULL;
    const pm_backend *backend = NULL;
    if (pm__url_backend(url, &parsed, &driver, &backend, &ignored) == 0 &&
        PM__BACKEND_HAS(backend, 5, database_files)) {
        char *stem = file_stem(name);
        free(name);
        name = stem;
    }
    pm_url_free(parsed);
    pm_error_clear(&ignored);
    if (name && !*name) { /* a path ending in '/' */
        free(name);
        name = pm__strdup(redacted);
    }
    return name;
}

/* ==== Names and duplicates: sorted once, hashed as added ==== */

/* The name a target claims: the one given, else the one made. */
static const char *claimed_name(const pm__fleet_target *t)
{
    return t->name_given ? t->name_given : t->name_from_url;
}

static int compare_claimed(const void *a, const void *b)
{
    const pm__fleet_target *const *x = a, *const *y = b;
    return strcmp(claimed_name(*x), claimed_name(*y));
}

/* Gives every target its name: the given one, else the one made from its
 * URL, else (a made name another target claims too) the redacted URL. One
 * sort, so O(n log n) however the targets were added. */
void pm__fleet_settle_names(pm_fleet *fleet)
{
    if (fleet->names_settled)
        return;
    size_t n = fleet->ntargets;
    pm__fleet_target **sorted = malloc((n ? n : 1) * sizeof(*sorted));
    if (!sorted) { /* out of memory: every target named, clashes or not */
        for (size_t i = 0; i < n; i++)
            fleet->targets[i]->result.name = claimed_name(fleet->targets[i]);
        return;
    }
    memcpy(sorted, fleet->targets, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), compare_claimed);
    for (size_t i = 0; i < n;) {
        size_t end = i + 1;
        while (end < n && strcmp(claimed_name(sorted[i]), claimed_name(sorted[end])) == 0)
            end++;
        for (size_t j = i; j < end; j++) {
            pm__fleet_target *t = sorted[j];
            t->result.name = t->name_given || end - i == 1 ? claimed_name(t) : t->name_if_clash;
        }
        i = end;
    }
    free(sorted);
    fleet->names_settled = true;
}

/* FNV-1a over a string and its terminating NUL, continuing from h. */
static uint64_t hash_text(uint64_t h, const char *s)
{
    do {
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    } while (*s++);
    return h;
}

#define HASH_SEED 14695981039346656037u

static uint64_t twin_hash(const char *redacted, const char *schema)
{
    return hash_text(hash_text(HASH_SEED, redacted), schema ? schema : "");
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The slots of index to probe for h, in order: returns the first one
 * holding a target for which matches() is true, or the empty one. */
static size_t *probe(const pm_fleet *fleet, const pm__fleet_index *index, uint64_t h,
                     bool (*matches)(const pm__fleet_target *, const void *), const void *key)
{
    size_t mask = index->cap - 1;
    for (size_t at = (size_t)h & mask;; at = (at + 1) & mask) {
        size_t *slot = &index->slots[at];
        if (*slot == 0 || matches(fleet->targets[*slot - 1], key))
            return slot;
    }
}

typedef struct twin_key {
    const char *redacted, *schema;
} twin_key;

static bool is_twin(const pm__fleet_target *t, const void *key)
{
    const twin_key *k = key;
    return same_text(t->schema, k->schema) && strcmp(t->redacted, k->redacted) == 0;
}

static bool has_given(const pm__fleet_target *t, const void *key)
{
    return t->name_given && strcmp(t->name_given, key) == 0;
}

/* Records target i in the indexes (they have room). */
static void index_target(pm_fleet *fleet, size_t i)
{
    const pm__fleet_target *t = fleet->targets[i];
    twin_key k = {t->redacted, t->schema};
    *probe(fleet, &fleet->twins, twin_hash(t->redacted, t->schema), is_twin, &k) = i + 1;
    if (t->name_given)
        *probe(fleet, &fleet->given_names, hash_text(HASH_SEED, t->name_given), has_given,
               t->name_given) = i + 1;
}

/* Makes the indexes anew with want slots each (a power of two, at least
 * twice the targets); on failure leaves them empty (cap 0). */
static void rebuild_index(pm_fleet *fleet, size_t want)
{
    free(fleet->twins.slots);
    free(fleet->given_names.slots);
    fleet->twins = fleet->given_names = (pm__fleet_index){NULL, 0};
    if (want == 0)
        return;
    size_t *a = calloc(want, sizeof(*a)), *b = calloc(want, sizeof(*b));
    if (!a || !b) {
        free(a);
        free(b);
        return;
    }
    fleet->twins = (pm__fleet_index){a, want};
    fleet->given_names = (pm__fleet_index){b, want};
    for (size_t i = 0; i < fleet->ntargets; i++)
        index_target(fleet, i);
}

/* Room in the indexes for one more target. */
static int reserve_index(pm_fleet *fleet)
{
    if ((fleet->ntargets + 1) * 2 <= fleet->twins.cap)
        return 0;
    size_t want = fleet->twins.cap ? fleet->twins.cap * 2 : 64;
    rebuild_index(fleet, want);
    return fleet->twins.cap ? 0 : PM_ENOMEM;
}

/* The target listed with the same redacted URL and schema, or NULL. */
static const pm__fleet_target *find_twin(const pm_fleet *fleet, const char *redacted,
                                         const char *schema)
{
    twin_key k = {redacted, schema};
    size_t at = *probe(fleet, &fleet->twins, twin_hash(redacted, schema), is_twin, &k);
    return at ? fleet->targets[at - 1] : NULL;
}

/* The target given name, or NULL. */
static const pm__fleet_target *find_given(const pm_fleet *fleet, const char *name)
{
    size_t at = *probe(fleet, &fleet->given_names, hash_text(HASH_SEED, name), has_given, name);
    return at ? fleet->targets[at - 1] : NULL;
}

/* Refuses a target already listed, or a name already given. */
static int check_unique(const pm_fleet *fleet, const pm__fleet_target *t, pm_error *err)
{
    const pm__fleet_target *twin = find_twin(fleet, t->redacted, t->schema);
    if (twin)
        return pm_error_set(err, PM_EINVAL, "%s%s%s is listed twice (also at %s)", t->redacted,
                            t->schema ? " schema=" : "", t->schema ? t->schema : "", twin->origin);
    const pm__fleet_target *named = t->name_given ? find_given(fleet, t->name_given) : NULL;
    if (named)
        return pm_error_set(err, PM_EINVAL, "name \"%s\" is taken twice (also at %s)",
                            t->name_given, named->origin);
    return 0;
}

static int grow(pm_fleet *fleet)
{
    if (fleet->ntargets < fleet->cap)
        return 0;
    size_t cap = fleet->cap ? fleet->cap * 2 : 16;
    pm__fleet_target **targets = realloc(fleet->targets, cap * sizeof(*targets));
    if (!targets)
        return PM_ENOMEM;
    fleet->targets = targets;
    fleet->cap = cap;
    return 0;
}

/* The target's strings, copied; false when out of memory. */
static bool fill_target(pm__fleet_target *t, const char *url, const char *name, const char *schema,
                        const char *origin)
{
    t->url = pm__strdup(url);
    t->redacted = pm_url_redact(url);
    t->name_given = pm__strdup(name);
    t->schema = pm__strdup(schema);
    t->origin = pm__strdup(origin);
    if (!t->url || !t->redacted || (name && !t->name_given) || (schema && !t->schema) || !t->origin)
        return false;
    t->name_from_url = name ? pm__strdup("") : made_name(url, schema, t->redacted);
    t->name_if_clash = schema ? pm__format("%s#%s", t->redacted, schema) : pm__strdup(t->redacted);
    return t->name_from_url && t->name_if_clash;
}

/* A URL pm_db_open() would take up to connecting: parsed, its scheme known. */
static int check_url(const char *url, pm_error *err)
{
    pm_url *parsed = NULL;
    int rc = pm_url_parse(&parsed, url, err);
    if (rc == 0 && !pm__driver_find(parsed->scheme)) {
        char *known = pm_db_known_schemes();
        rc = pm_error_set(err, PM_ENODRIVER,
                          "no driver for URL scheme \"%s:\"; this build knows: %s", parsed->scheme,
                          known ? known : "(none)");
        free(known);
    }
    pm_url_free(parsed);
    return rc;
}

int pm__fleet_add(pm_fleet *fleet, const char *url, const char *name, const char *schema,
                  const char *origin, pm_error *err)
{
    if (!fleet || !url)
        return pm_error_set(err, PM_EINVAL, "pm_fleet_add: %s is NULL", fleet ? "url" : "fleet");
    if (fleet->ran)
        return pm_error_set(err, PM_EMISUSE, "pm_fleet_add: the fleet has already run");
    if ((name && !*name) || (schema && !*schema))
        return pm_error_set(err, PM_EINVAL, "an empty %s", name && !*name ? "name" : "schema");
    int rc = check_url(url, err);
    if (rc < 0)
        return rc;
    pm__fleet_target *t = calloc(1, sizeof(*t));
    if (!t || grow(fleet) < 0 || reserve_index(fleet) < 0 ||
        !fill_target(t, url, name, schema, origin)) {
        target_free(t);
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    }
    rc = check_unique(fleet, t, err);
    if (rc < 0) {
        target_free(t);
        return rc;
    }
    t->result.index = fleet->ntargets;
    t->result.url = t->redacted;
    t->result.schema = t->schema;
    t->result.origin = t->origin;
    t->result.outcome = PM_FLEET_WAITING;
    fleet->targets[fleet->ntargets++] = t;
    index_target(fleet, fleet->ntargets - 1);
    fleet->names_settled = false;
    return 0;
}

int pm_fleet_add(pm_fleet *fleet, const char *url, const char *name, const char *schema,
                 pm_error *err)
{
    return pm__fleet_add(fleet, url, name, schema, "added", err);
}

/* ==== A targets file's text ==== */

#define MAX_FIELDS 8

typedef struct line_fields {
    char *field[MAX_FIELDS];
    size_t n;
} line_fields;

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Splits line (modified in place) on blanks, up to a comment: a '#' at the
 * line's start or after a blank. false when it has too many fields. */
static bool split_line(char *line, line_fields *out)
{
    out->n = 0;
    char *p = line;
    for (;;) {
        while (*p && is_blank(*p))
            p++;
        if (!*p || *p == '#')
            return true;
        if (out->n == MAX_FIELDS)
            return false;
        out->field[out->n++] = p;
        while (*p && !is_blank(*p))
            p++;
        if (*p)
            *p++ = '\0';
    }
}

/* Whether text is a key=value connection string rather than a URL: an '='
 * before any "scheme:". */
static bool is_conninfo(const char *text)
{
    const char *eq = strchr(text, '=');
    if (!eq || strstr(text, "://"))
        return false;
    const char *colon = strchr(text, ':');
    return !colon || colon > eq;
}

/* Whether key (keylen bytes) is a plain identifier short enough to be a
 * field's name rather than a piece of something else. */
static bool plain_key(const char *key, size_t keylen)
{
    if (keylen == 0 || keylen > 20)
        return false;
    for (size_t i = 0; i < keylen; i++)
        if (!((key[i] >= 'a' && key[i] <= 'z') || key[i] == '_'))
            return false;
    return true;
}

/* Whether a field after the URL holds an '@': the rest of a URL whose
 * password has a blank, so no field of the line may be echoed. */
static bool url_split_by_blank(const line_fields *f)
{
    for (size_t i = 1; i < f->n; i++)
        if (strchr(f->field[i], '@'))
            return true;
    return false;
}

/* An error naming field i, which is neither name= nor schema=, by its
 * position; never its text (it may be a piece of a password that has a
 * blank), only its key when that is a plain identifier and no field looks
 * like the rest of a URL. */
static int bad_field(const char *where, const line_fields *f, size_t i, pm_error *err)
{
    const char *field = f->field[i];
    const char *eq = strchr(field, '=');
    size_t keylen = eq ? (size_t)(eq - field) : 0;
    bool show_key = eq && plain_key(field, keylen) && !url_split_by_blank(f);
    return pm_error_set(err, PM_EINVAL,
                        "%s: field %zu%s%.*s%s is unknown: a line is URL [name=NAME] "
                        "[schema=SCHEMA]; a URL with blanks in its password must "
                        "percent-encode them (%%20)",
                        where, i + 1, show_key ? " (\"" : "", show_key ? (int)keylen : 0,
                        show_key ? field : "", show_key ? "=...\")" : "");
}

/* Reads name= and schema= fields. */
static int read_fields(const line_fields *f, const char *where, const char **name,
                       const char **schema, pm_error *err)
{
    *name = *schema = NULL;
    for (size_t i = 1; i < f->n; i++) {
        const char *field = f->field[i];
        const char **slot = strncmp(field, "name=", 5) == 0     ? name
                            : strncmp(field, "schema=", 7) == 0 ? schema
                                                                : NULL;
        if (!slot)
            return bad_field(where, f, i, err);
        const char *value = strchr(field, '=') + 1;
        if (*slot)
            return pm_error_set(err, PM_EINVAL, "%s: %.*s= given twice", where,
                                (int)(value - field - 1), field);
        if (!*value)
            return pm_error_set(err, PM_EINVAL, "%s: %s has no value", where, field);
        *slot = value;
    }
    return 0;
}

/* Adds the target of one line (already split). */
static int add_line(pm_fleet *fleet, const line_fields *f, const char *where, pm_error *err)
{
    if (is_conninfo(f->field[0]))
        return pm_error_set(err, PM_EINVAL,
                            "%s: a key=value connection string is not a target (it has blanks "
                            "of its own): write it as a postgres:// URL",
                            where);
    const char *name, *schema;
    int rc = read_fields(f, where, &name, &schema, err);
    if (rc == 0)
        rc = pm__fleet_add(fleet, f->field[0], name, schema, where, err);
    if (rc < 0 && err && err->message && strncmp(err->message, where, strlen(where)) != 0)
        pm__error_prefix(err, "%s", where);
    return rc;
}

/* Adds every line of text; on the first error stops, leaving the caller to
 * roll back. */
static int add_lines(pm_fleet *fleet, const char *text, size_t length, const char *origin,
                     pm_error *err)
{
    size_t lineno = 0;
    for (size_t at = 0; at < length;) {
        const char *nl = memchr(text + at, '\n', length - at);
        size_t end = nl ? (size_t)(nl - text) : length;
        lineno++;
        char *line = pm__strndup(text + at, end - at);
        char *where = pm__format("%s:%zu", origin, lineno);
        line_fields f;
        int rc = 0;
        if (!line || !where)
            rc = pm_error_set(err, PM_ENOMEM, "out of memory");
        else if (memchr(text + at, '\0', end - at))
            rc = pm_error_set(err, PM_EINVAL, "%s: a NUL byte in the line", where);
        else if (!split_line(line, &f))
            rc = pm_error_set(err, PM_EINVAL, "%s: too many fields (a URL, name=, schema=)", where);
        else if (f.n > 0)
            rc = add_line(fleet, &f, where, err);
        free(line);
        free(where);
        if (rc < 0)
            return rc;
        at = end + 1;
    }
    return 0;
}

int pm_fleet_add_text(pm_fleet *fleet, const char *text, size_t length, const char *origin,
                      pm_error *err)
{
    if (!fleet || (!text && length))
        return pm_error_set(err, PM_EINVAL, "pm_fleet_add_text: %s is NULL",
                            fleet ? "text" : "fleet");
    if (!origin)
        origin = "targets";
    size_t mark = pm__fleet_mark(fleet);
    int rc = add_lines(fleet, text ? text : "", length, origin, err);
    if (rc == 0 && pm__fleet_mark(fleet) == mark)
        rc = pm_error_set(err, PM_EINVAL, "%s lists no targets (only comments and blank lines)",
                          origin);
    if (rc < 0)
        pm__fleet_rollback(fleet, mark);
    return rc;
}

/* Reads all of f into *out (malloc'd). */
static int read_stream(FILE *f, char **out, size_t *length)
{
    pm_buf b = PM_BUF_INIT;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        pm_buf_appendn(&b, chunk, n);
    bool failed = ferror(f) != 0;
    *length = b.len;
    *out = pm_buf_detach(&b);
    if (!*out && !failed)
        return PM_ENOMEM;
    return failed ? PM_ERROR : 0;
}

int pm_fleet_add_file(pm_fleet *fleet, const char *path, pm_error *err)
{
    if (!fleet || !path)
        return pm_error_set(err, PM_EINVAL, "pm_fleet_add_file: %s is NULL",
                            fleet ? "path" : "fleet");
    bool standard = strcmp(path, "-") == 0;
    FILE *f = standard ? stdin : fopen(path, "rb");
    if (!f)
        return pm_error_set(err, PM_ENOTFOUND, "cannot open the targets file %s: %s", path,
                            strerror(errno));
    char *text = NULL;
    size_t length = 0;
    int rc = read_stream(f, &text, &length);
    int saved = errno;
    if (!standard)
        fclose(f);
    if (rc == PM_ENOMEM)
        rc = pm_error_set(err, PM_ENOMEM, "out of memory reading %s", path);
    else if (rc < 0)
        rc = pm_error_set(err, PM_ERROR, "cannot read the targets file %s: %s", path,
                          strerror(saved));
    if (rc == 0)
        rc = pm_fleet_add_text(fleet, text, length, standard ? "stdin" : path, err);
    free(text);
    return rc;
}

/* ==== A control database's query ==== */

typedef struct query_rows {
    pm_fleet *fleet;
    size_t row;
    pm_error *err;
    int rc;
} query_rows;

static int take_target_row(void *ctx, size_t n, const char *const *values)
{
    query_rows *q = ctx;
    q->row++;
    char *where = pm__format("query row %zu", q->row);
    if (!where)
        return q->rc = pm_error_set(q->err, PM_ENOMEM, "out of memory");
    if (n == 0 || !values[0] || !*values[0])
        q->rc = pm_error_set(q->err, PM_EINVAL, "%s: the first column (the URL) is %s", where,
                             n == 0 ? "missing" : "empty");
    else if (n > 3)
        q->rc = pm_error_set(q->err, PM_EINVAL,
                             "%s: %zu columns (the query returns url[, name[, schema]])", where, n);
    else
        q->rc = pm__fleet_add(q->fleet, values[0], n > 1 ? values[1] : NULL,
                              n > 2 ? values[2] : NULL, where, q->err);
    if (q->rc < 0 && q->err && q->err->message &&
        strncmp(q->err->message, where, strlen(where)) != 0)
        pm__error_prefix(q->err, "%s", where);
    free(where);
    return q->rc;
}

int pm_fleet_add_query(pm_fleet *fleet, const char *url, const char *sql, pm_error *err)
{
    if (!fleet || !url || !sql)
        return pm_error_set(err, PM_EINVAL, "pm_fleet_add_query: %s is NULL",
                            !fleet ? "fleet"
                            : !url ? "url"
                                   : "sql");
    pm_db_options opts = fleet->db;
    opts.version = PM_DB_OPTIONS_VERSION;
    opts.flags |= PM_DB_OPEN_EXISTING;
    opts.interrupt = &fleet->interrupt_flag;
    pm_db *db = NULL;
    int rc = pm_db_open(&db, url, &opts, err);
    if (rc < 0)
        return rc;
    size_t mark = pm__fleet_mark(fleet);
    query_rows q = {fleet, 0, err, 0};
    rc = pm__db_query(db, sql, NULL, 0, take_target_row, &q, err);
    if (rc < 0 && q.rc < 0)
        rc = q.rc;
    if (rc == 0 && q.row == 0)
        rc = pm_error_set(err, PM_EINVAL, "the targets query returned no rows");
    if (rc < 0)
        pm__fleet_rollback(fleet, mark);
    pm_db_close(db);
    return rc;
}
