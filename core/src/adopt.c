/* adopt.c: taking over a database another migration tool migrated. It finds
 * the history table of dbmate, golang-migrate, goose, sqlx, diesel or Flyway
 * (through the driver: has_table, has_column, query; never by backend name),
 * reads which versions the tool applied, matches them to the set by version,
 * and records those migrations in seaql_migrations (pm_engine_adopt). The
 * same reading lets up, down and status refuse while such a history is there
 * and poblysh has recorded nothing (pm_engine__refuse_foreign). The other
 * tool's table is only ever read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "engine_internal.h"

/* ==== The tools ==== */

/* Each tool's SELECT yields the same four columns: the version as written,
 * 1 when the row says applied (0: failed, dirty, or rolled back), the time
 * it records (or NULL), and Flyway's row type (or NULL). Rows come in the
 * order the tool wrote them where that matters (goose, Flyway): the last
 * row of a version decides. '@name@' is a quoted identifier. */
typedef enum fold {
    FOLD_EACH,  /* every row a version: dbmate, sqlx, diesel; goose and Flyway by last row */
    FOLD_UP_TO, /* golang-migrate: one row, every version up to it applied */
    FOLD_FLYWAY /* Flyway's row types: BASELINE, DELETE, UNDO_*, SCHEMA */
} fold;

typedef struct tool {
    const char *name;
    const char *table;
    const char *needs_column; /* the table is this tool's only with this column */
    const char *lacks_column; /* ... or only without it (dbmate shares golang-migrate's table) */
    pm__version_kind kind;
    fold fold;
    const char *select;
    const char *failed_note; /* error_message of a failed version recorded with ALLOW_FAILED */
} tool;

static const tool tools[] = {
    {"dbmate", "schema_migrations", NULL, "dirty", PM__VERSION_NUMBER, FOLD_EACH,
     "SELECT @version@, 1, NULL, NULL FROM @schema_migrations@", NULL},
    {"golang-migrate", "schema_migrations", "dirty", NULL, PM__VERSION_NUMBER, FOLD_UP_TO,
     "SELECT @version@, CASE WHEN @dirty@ THEN 0 ELSE 1 END, NULL, NULL FROM @schema_migrations@",
     "golang-migrate marked it dirty: it failed midway (recorded by adopt)"},
    {"goose", "goose_db_version", NULL, NULL, PM__VERSION_NUMBER, FOLD_EACH,
     "SELECT @version_id@, CASE WHEN @is_applied@ THEN 1 ELSE 0 END, @tstamp@, NULL FROM "
     "@goose_db_version@ ORDER BY @id@",
     NULL},
    {"sqlx", "_sqlx_migrations", NULL, NULL, PM__VERSION_NUMBER, FOLD_EACH,
     "SELECT @version@, CASE WHEN @success@ THEN 1 ELSE 0 END, @installed_on@, NULL FROM "
     "@_sqlx_migrations@",
     "sqlx recorded it as failed (success = false; recorded by adopt)"},
    {"diesel", "__diesel_schema_migrations", NULL, NULL, PM__VERSION_NUMBER, FOLD_EACH,
     "SELECT @version@, 1, @run_on@, NULL FROM @__diesel_schema_migrations@", NULL},
    {"flyway", "flyway_schema_history", NULL, NULL, PM__VERSION_DOTTED, FOLD_FLYWAY,
     "SELECT @version@, CASE WHEN @success@ THEN 1 ELSE 0 END, @installed_on@, @type@ FROM "
     "@flyway_schema_history@ ORDER BY @installed_rank@",
     "Flyway recorded it as failed (success = false; recorded by adopt)"},
};
#define PM_NTOOLS PM_ARRAY_LEN(tools)

const char *const *pm_adopt_tools(void)
{
    static const char *const names[] = {"dbmate", "golang-migrate", "goose", "sqlx",
                                        "diesel", "flyway",         NULL};
    return names;
}

static const tool *tool_named(const char *name)
{
    for (size_t i = 0; i < PM_NTOOLS; i++)
        if (strcasecmp(tools[i].name, name) == 0)
            return &tools[i];
    return NULL;
}

/* Whether db holds t's history table. */
static int tool_present(pm_db *db, const tool *t, bool *out, pm_error *err)
{
    bool column = false;
    int rc = pm__db_has_table(db, t->table, out, err);
    if (rc < 0 || !*out || (!t->needs_column && !t->lacks_column))
        return rc;
    rc = pm__db_has_column(db, t->table, t->needs_column ? t->needs_column : t->lacks_column,
                           &column, err);
    *out = t->needs_column ? column : !column;
    return rc;
}

/* ==== Reading a tool's history ==== */

typedef struct foreign_row {
    pm__version v;
    bool parsed;  /* v holds the version; else raw is not one */
    char raw[64]; /* as the tool wrote it (cut), for messages */
    bool applied; /* the row says applied (else failed, dirty or rolled back) */
    bool removed; /* Flyway: DELETE or UNDO, the version is no longer applied */
    bool up_to;   /* golang-migrate, Flyway's BASELINE: every version up to it applied */
    bool skip;    /* not a migration: goose's version 0, Flyway's SCHEMA and repeatables */
    int64_t at;   /* unix seconds, -1 when the tool records no time */
    size_t seq;   /* place in the table's order: the last row of a version decides */
} foreign_row;

typedef struct foreign {
    const tool *tool;
    foreign_row *rows;
    size_t count, cap;
} foreign;

static void foreign_free(foreign *f)
{
    free(f->rows);
    f->rows = NULL;
    f->count = f->cap = 0;
}

static bool digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* "+02", "+0200", "-05:30" at s: the offset in seconds east of UTC. */
static bool zone_offset(const char *s, long *out)
{
    int h = 0, m = 0;
    if ((s[0] != '+' && s[0] != '-') || !digits(s + 1, 2, &h))
        return false;
    const char *rest = s + 3 + (s[3] == ':');
    if (*rest && !digits(rest, 2, &m))
        return false;
    *out = (s[0] == '-' ? -1L : 1L) * (h * 3600L + m * 60L);
    return true;
}

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (timegm() is not
 * POSIX): Howard Hinnant's days_from_civil. */
static int64_t days_since_epoch(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* A time as the backends print a timestamp column ("2024-01-02 03:04:05",
 * "2024-01-02T03:04:05.123456+00", "...Z"), taken as UTC without a zone;
 * -1 for NULL or anything else. */
static int64_t parse_time(const char *s)
{
    int y, mo, d, h, mi, se;
    if (!s || strlen(s) < 19 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
        s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != ' ' && s[10] != 'T') ||
        !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
        !digits(s + 17, 2, &se))
        return -1;
    const char *rest = s + 19;
    if (*rest == '.')
        rest += 1 + strspn(rest + 1, "0123456789");
    long offset = 0;
    if (*rest && strcmp(rest, "Z") != 0 && !zone_offset(rest, &offset))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    return days_since_epoch(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset;
}

/* Flyway's row types: what a row says about its version. */
static void flyway_type(foreign_row *row, const char *type)
{
    if (!type || !row->raw[0] || strcmp(type, "SCHEMA") == 0)
        row->skip = true; /* a repeatable (no version), or the schema-creation marker */
    else if (strcmp(type, "BASELINE") == 0)
        row->up_to = true;
    else if (strcmp(type, "DELETE") == 0 || strncmp(type, "UNDO_", 5) == 0)
        row->removed = true;
}

typedef struct reader {
    foreign *f;
    pm_error *err;
} reader;

static int read_row(void *ctx, size_t ncolumns, const char *const *values)
{
    reader *r = ctx;
    foreign *f = r->f;
    if (ncolumns < 4)
        return pm_error_set(r->err, PM_EDB, "reading %s: expected 4 columns, got %zu",
                            f->tool->table, ncolumns);
    if (f->count == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 32;
        foreign_row *rows = realloc(f->rows, cap * sizeof(*rows));
        if (!rows)
            return pm_error_set(r->err, PM_ENOMEM, "out of memory");
        f->rows = rows;
        f->cap = cap;
    }
    foreign_row *row = &f->rows[f->count];
    memset(row, 0, sizeof(*row));
    snprintf(row->raw, sizeof(row->raw), "%s", values[0] ? values[0] : "");
    row->parsed = values[0] && !pm__version_of_text(values[0], f->tool->kind, &row->v);
    row->applied = values[1] && strcmp(values[1], "1") == 0;
    row->at = parse_time(values[2]);
    row->seq = f->count;
    row->up_to = f->tool->fold == FOLD_UP_TO;
    if (f->tool->fold == FOLD_UP_TO && values[0] && values[0][0] == '-')
        row->skip = true; /* golang-migrate's -1: nothing applied */
    if (f->tool->fold == FOLD_FLYWAY)
        flyway_type(row, values[3]);
    if (strcmp(f->tool->name, "goose") == 0 && row->parsed && strcmp(row->v.text, "0") == 0)
        row->skip = true; /* the row goose writes when it creates its table */
    f->count++;
    return 0;
}

/* Renders fmt with each @name@ quoted for db's dialect, table qualified by
 * the schema pm_db_use_schema() chose, if any. */
static char *render_sql(pm_db *db, const char *fmt, const char *table)
{
    const char *schema = pm_db_schema_name(db); /* -s: named, never left to the search_path */
    pm_buf b = PM_BUF_INIT;
    for (const char *p = fmt; *p; p++) {
        const char *end = *p == '@' ? strchr(p + 1, '@') : NULL;
        if (!end) {
            pm_buf_appendc(&b, *p);
            continue;
        }
        char ident[64];
        snprintf(ident, sizeof(ident), "%.*s", (int)(end - p - 1), p + 1);
        if (schema && strcmp(ident, table) == 0) {
            pm__render_ident(&b, pm__db_dialect(db), schema);
            pm_buf_appendc(&b, '.');
        }
        pm__render_ident(&b, pm__db_dialect(db), ident);
        p = end;
    }
    return pm_buf_detach(&b);
}

static int foreign_cmp(const void *a, const void *b)
{
    const foreign_row *x = a, *y = b;
    if (x->parsed != y->parsed)
        return x->parsed ? -1 : 1;
    int c = x->parsed ? pm__version_cmp(&x->v, &y->v) : strcmp(x->raw, y->raw);
    return c ? c : (x->seq < y->seq ? -1 : x->seq > y->seq);
}

static bool same_version(const foreign_row *a, const foreign_row *b)
{
    if (a->parsed != b->parsed)
        return false;
    return a->parsed ? pm__version_cmp(&a->v, &b->v) == 0 : strcmp(a->raw, b->raw) == 0;
}

/* Keeps one row per version, the last the tool wrote, dropping skipped ones
 * and versions rolled back or deleted since. Rows end sorted by version. */
static void fold_rows(foreign *f)
{
    qsort(f->rows, f->count, sizeof(*f->rows), foreign_cmp);
    bool goose = strcmp(f->tool->name, "goose") == 0;
    size_t out = 0;
    for (size_t i = 0; i < f->count; i++) {
        const foreign_row *row = &f->rows[i];
        if (i + 1 < f->count && same_version(row, &f->rows[i + 1]))
            continue; /* a later row of the same version decides */
        /* goose appends is_applied = false when it rolls a version back */
        if (row->skip || row->removed || (goose && !row->applied))
            continue;
        f->rows[out++] = *row;
    }
    f->count = out;
    if (f->tool->fold == FOLD_UP_TO && out > 1) { /* it writes one row; take the newest */
        f->rows[0] = f->rows[out - 1];
        f->count = 1;
    }
}

static int foreign_read(pm_db *db, const tool *t, foreign *out, pm_error *err)
{
    memset(out, 0, sizeof(*out));
    out->tool = t;
    char *sql = render_sql(db, t->select, t->table);
    if (!sql)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    reader r = {out, err};
    int rc = pm__db_query(db, sql, NULL, 0, read_row, &r, err);
    free(sql);
    if (rc < 0) {
        pm__error_prefix(err, "reading %s's history (%s)", t->name, t->table);
        foreign_free(out);
        return rc;
    }
    fold_rows(out);
    return 0;
}

/* ==== Matching it to the set ==== */

/* One migration of the set the foreign history covers. */
typedef struct claim {
    const pm_migration *m;
    bool failed;
    int64_t at;
} claim;

typedef struct plan {
    claim *claims;
    size_t nclaims;
    const foreign_row **unmatched; /* rows of versions the set lacks */
    size_t nunmatched;
    size_t nfailed;
} plan;

static void plan_free(plan *p)
{
    free(p->claims);
    free((void *)p->unmatched);
    memset(p, 0, sizeof(*p));
}

/* m's version as the tool would write it: Flyway reads a plain number as
 * the dotted version of one part. */
static bool set_version(const pm_migration *m, pm__version_kind kind, pm__version *v)
{
    if (pm__version_parse(m->name, v))
        return false;
    if (kind == PM__VERSION_DOTTED && v->kind == PM__VERSION_NUMBER)
        v->kind = PM__VERSION_DOTTED;
    return v->kind == kind;
}

/* The row whose version is v, by binary search of the folded rows. */
static const foreign_row *row_of(const foreign *f, const pm__version *v)
{
    size_t lo = 0, hi = f->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const foreign_row *row = &f->rows[mid];
        int c = row->parsed ? pm__version_cmp(&row->v, v) : 1;
        if (c == 0)
            return row;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The highest up-to row (golang-migrate's version, Flyway's baseline): it
 * covers every version up to its own. NULL when there is none. */
static const foreign_row *highest_cover(const foreign *f)
{
    for (size_t i = f->count; i-- > 0;)
        if (f->rows[i].up_to && f->rows[i].parsed)
            return &f->rows[i];
    return NULL;
}

/* A migration of the set with its version as the tool would write it. */
typedef struct versioned {
    pm__version v;
    const pm_migration *m;
} versioned;

static int versioned_cmp(const void *a, const void *b)
{
    return pm__version_cmp(&((const versioned *)a)->v, &((const versioned *)b)->v);
}

/* The set's migrations whose versions are of kind, sorted by version (a
 * set mixing numbers and Flyway names is sorted again once numbers read as
 * dotted). *n says how many; NULL when out of memory. */
static versioned *set_versions(const pm_engine *e, pm__version_kind kind, size_t *n)
{
    versioned *out = calloc(e->count + 1, sizeof(*out));
    *n = 0;
    for (size_t i = 0; out && i < e->count; i++)
        if (set_version(e->set[i], kind, &out[*n].v))
            out[(*n)++].m = e->set[i];
    if (out)
        qsort(out, *n, sizeof(*out), versioned_cmp);
    return out;
}

static bool in_set(const versioned *sv, size_t n, const foreign_row *row)
{
    versioned key = {.v = row->v};
    return row->parsed && bsearch(&key, sv, n, sizeof(*sv), versioned_cmp) != NULL;
}

/* Which migrations of the set f says were run, in version order, and
 * which of its versions the set lacks (a baseline needs no migration of
 * its own). */
static int make_plan(const pm_engine *e, const foreign *f, plan *p, pm_error *err)
{
    memset(p, 0, sizeof(*p));
    size_t n = 0;
    versioned *sv = set_versions(e, f->tool->kind, &n);
    p->claims = calloc(e->count + 1, sizeof(*p->claims));
    p->unmatched = calloc(f->count + 1, sizeof(*p->unmatched));
    if (!sv || !p->claims || !p->unmatched) {
        free(sv);
        plan_free(p);
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    }
    const foreign_row *cover = highest_cover(f);
    for (size_t i = 0; i < n; i++) {
        const foreign_row *row = row_of(f, &sv[i].v);
        if (!row && !(cover && pm__version_cmp(&cover->v, &sv[i].v) >= 0))
            continue;
        /* golang-migrate's dirty flag is about its current version only */
        bool failed = row && !row->applied;
        p->claims[p->nclaims++] = (claim){sv[i].m, failed, row ? row->at : -1};
        p->nfailed += failed;
    }
    bool flyway = f->tool->fold == FOLD_FLYWAY;
    for (size_t i = 0; i < f->count; i++)
        if (!(flyway && f->rows[i].up_to) && !in_set(sv, n, &f->rows[i]))
            p->unmatched[p->nunmatched++] = &f->rows[i];
    free(sv);
    return 0;
}

/* ==== Describing it ==== */

static const char *plural(size_t n)
{
    return n == 1 ? "" : "s";
}

/* "schema_migrations: version 42, clean" and the like. */
static void describe_table(pm_buf *b, const foreign *f)
{
    if (f->tool->fold == FOLD_UP_TO) {
        const foreign_row *row = f->count ? &f->rows[0] : NULL;
        pm_buf_printf(b, "%s: version %s, %s", f->tool->table, row ? row->raw : "none",
                      row && !row->applied ? "dirty" : "clean");
        return;
    }
    pm_buf_printf(b, "%s: %zu version%s", f->tool->table, f->count, plural(f->count));
    size_t failed = 0;
    for (size_t i = 0; i < f->count; i++)
        failed += !f->rows[i].applied;
    if (failed)
        pm_buf_printf(b, ", %zu of them failed", failed);
}

/* "7, 8 and 9" (at most PM_LIST_MAX, then "and N more"). */
static void list_unmatched(pm_buf *b, const plan *p)
{
    for (size_t i = 0; i < p->nunmatched; i++)
        pm__list_add(b, i, p->unmatched[i]->raw);
    pm__list_end(b, p->nunmatched, NULL);
}

static void list_failed(pm_buf *b, const plan *p)
{
    size_t shown = 0;
    for (size_t i = 0; i < p->nclaims; i++)
        if (p->claims[i].failed)
            pm__list_add(b, shown++, p->claims[i].m->name);
    pm__list_end(b, shown, NULL);
}

/* ==== Refusing up, down and status ==== */

static int note_row(void *ctx, size_t ncolumns, const char *const *values)
{
    (void)ncolumns;
    (void)values;
    *(bool *)ctx = true;
    return 0;
}

/* Whether seaql_migrations exists and has a row. */
static int own_history_recorded(pm_db *db, bool *out, pm_error *err)
{
    *out = false;
    bool exists = false;
    int rc = pm__db_has_table(db, PM_HISTORY_TABLE, &exists, err);
    if (rc < 0 || !exists)
        return rc;
    char *sql = render_sql(db, "SELECT 1 FROM @" PM_HISTORY_TABLE "@ LIMIT 1", PM_HISTORY_TABLE);
    if (!sql)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    rc = pm__db_query(db, sql, NULL, 0, note_row, out, err);
    free(sql);
    return rc;
}

/* Reads every foreign history present with at least one version into
 * found[] (up to PM_NTOOLS); *n says how many. */
static int find_foreign(pm_db *db, foreign *found, size_t *n, pm_error *err)
{
    *n = 0;
    for (size_t i = 0; i < PM_NTOOLS; i++) {
        bool present = false;
        int rc = tool_present(db, &tools[i], &present, err);
        if (rc == 0 && present)
            rc = foreign_read(db, &tools[i], &found[*n], err);
        if (rc < 0) {
            for (size_t j = 0; j < *n; j++)
                foreign_free(&found[j]);
            *n = 0;
            return rc;
        }
        if (present && found[*n].count)
            (*n)++;
        else if (present)
            foreign_free(&found[*n]);
    }
    return 0;
}

static void free_found(foreign *found, size_t n)
{
    for (size_t i = 0; i < n; i++)
        foreign_free(&found[i]);
}

/* "golang-migrate's history (schema_migrations: version 42, clean), 42
 * migrations of this set" */
static int describe_found(const pm_engine *e, pm_buf *b, const foreign *f, pm_error *err)
{
    plan p;
    int rc = make_plan(e, f, &p, err);
    if (rc < 0)
        return rc;
    pm_buf_printf(b, "%s's history (", f->tool->name);
    describe_table(b, f);
    pm_buf_printf(b, "), %zu migration%s of this set", p.nclaims, plural(p.nclaims));
    plan_free(&p);
    return 0;
}

static int refuse(const pm_engine *e, const foreign *found, size_t n, pm_error *err)
{
    pm_buf msg = PM_BUF_INIT, hint = PM_BUF_INIT;
    int rc = 0;
    pm_buf_append(&msg, "the database holds ");
    for (size_t i = 0; i < n && rc == 0; i++) {
        pm_buf_append(&msg, i == 0 ? "" : i + 1 == n ? " and " : ", ");
        rc = describe_found(e, &msg, &found[i], err);
    }
    pm_buf_append(&msg, "; poblysh has recorded none, so nothing was run");
    if (n == 1)
        pm_buf_printf(&hint,
                      "record them as applied first: poblysh migrate adopt %s (--dry-run shows "
                      "what it records); see docs/adopting.md",
                      found[0].tool->name);
    else
        pm_buf_printf(&hint,
                      "adopt the one that migrated this database: poblysh migrate adopt %s or "
                      "poblysh migrate adopt %s; see docs/adopting.md",
                      found[0].tool->name, found[1].tool->name);
    if (rc == 0 && (msg.oom || hint.oom))
        rc = pm_error_set(err, PM_ENOMEM, "out of memory");
    if (rc == 0) {
        rc = pm_error_set(err, PM_EFOREIGN, "%s", pm_buf_cstr(&msg));
        pm_error_set_detail(err, NULL, pm_buf_cstr(&hint));
    }
    pm_buf_free(&msg);
    pm_buf_free(&hint);
    return rc;
}

int pm_engine__refuse_foreign(pm_engine *e, pm_error *err)
{
    bool recorded = false;
    int rc = own_history_recorded(e->db, &recorded, err);
    if (rc < 0 || recorded)
        return rc;
    foreign found[PM_NTOOLS];
    size_t n = 0;
    rc = find_foreign(e->db, found, &n, err);
    if (rc == 0 && n)
        rc = refuse(e, found, n, err);
    free_found(found, n);
    return rc;
}

/* ==== adopt ==== */

/* The one foreign history to adopt: the tool named, or the only one. */
static int choose(pm_engine *e, const char *name, foreign *out, pm_error *err)
{
    if (name) {
        const tool *t = tool_named(name);
        bool present = false;
        if (!t)
            return pm_error_set(err, PM_EINVAL,
                                "unknown tool \"%s\" (expected dbmate, golang-migrate, goose, "
                                "sqlx, diesel or flyway)",
                                name);
        int rc = tool_present(e->db, t, &present, err);
        if (rc < 0)
            return rc;
        if (!present)
            return pm_error_set(err, PM_ENOTFOUND,
                                "the database has no %s history: no table %s%s%s", t->name,
                                t->table, t->needs_column ? " with a column " : "",
                                t->needs_column ? t->needs_column : "");
        return foreign_read(e->db, t, out, err);
    }
    foreign found[PM_NTOOLS];
    size_t n = 0;
    int rc = find_foreign(e->db, found, &n, err);
    if (rc == 0 && n == 0)
        rc = pm_error_set(err, PM_ENOTFOUND,
                          "the database holds no history of dbmate, golang-migrate, goose, sqlx, "
                          "diesel or Flyway with a version in it: nothing to adopt");
    else if (rc == 0 && n > 1)
        rc = pm_error_set(err, PM_EFOREIGN,
                          "the database holds the histories of %s (%s) and %s (%s)%s: say which "
                          "one to adopt",
                          found[0].tool->name, found[0].tool->table, found[1].tool->name,
                          found[1].tool->table, n > 2 ? " and more" : "");
    if (rc == 0) {
        *out = found[0];
        found[0].rows = NULL; /* moved to out */
    }
    free_found(found, n);
    return rc;
}

/* Refuses versions the set lacks and failed ones, unless flags allow. */
static int check_plan(const foreign *f, const plan *p, unsigned int flags, pm_error *err)
{
    pm_buf msg = PM_BUF_INIT;
    int code = 0;
    if (p->nunmatched && !(flags & PM_ADOPT_ALLOW_UNMATCHED)) {
        pm_buf_printf(&msg, "%s records %zu version%s this set lacks: ", f->tool->table,
                      p->nunmatched, plural(p->nunmatched));
        list_unmatched(&msg, p);
        code = PM_EDRIFT;
    }
    if (p->nfailed && !(flags & PM_ADOPT_ALLOW_FAILED)) {
        pm_buf_printf(&msg, "%s%s records %s as %s", code ? "; " : "", f->tool->table,
                      p->nfailed == 1 ? "one migration" : "migrations",
                      f->tool->fold == FOLD_UP_TO ? "dirty (failed midway)" : "failed");
        pm_buf_append(&msg, ": ");
        list_failed(&msg, p);
        code = code ? code : PM_EFAILED;
    }
    if (code)
        pm_error_set(err, code, "nothing was recorded: %s",
                     msg.oom ? "(out of memory)" : pm_buf_cstr(&msg));
    pm_buf_free(&msg);
    return code;
}

static int write_claims(pm_engine *e, const foreign *f, const plan *p, const pm_history *h,
                        pm_error *err)
{
    int rc = pm__history_ensure(e->db, err);
    if (rc == 0)
        rc = pm__db_begin(e->db, err);
    if (rc < 0)
        return rc;
    int64_t order = 0;
    for (size_t i = 0; i < h->count; i++)
        order = h->rows[i].apply_order > order ? h->rows[i].apply_order : order;
    for (size_t i = 0; i < p->nclaims && rc == 0; i++) {
        const claim *c = &p->claims[i];
        if (pm__history_find(h, c->m->name))
            continue;
        pm_history_row row = {(char *)c->m->name,
                              c->at >= 0 ? c->at : (int64_t)time(NULL),
                              (char *)c->m->checksum,
                              -1,
                              c->failed ? "failed" : "applied",
                              c->failed ? (char *)f->tool->failed_note : NULL,
                              NULL,
                              ++order};
        rc = pm__history_insert(e->db, &row, err);
        if (rc < 0)
            pm__error_set_migration(err, c->m->name);
    }
    if (rc == 0)
        return pm__db_commit(e->db, err);
    pm__db_rollback(e->db, err);
    return rc;
}

static void count_plan(const pm_engine *e, const plan *p, const pm_history *h, pm_adopt_report *r)
{
    r->covered = p->nclaims;
    r->unmatched = p->nunmatched;
    for (size_t i = 0; i < p->nclaims; i++) {
        if (pm__history_find(h, p->claims[i].m->name)) {
            r->already++;
        } else {
            r->recorded++;
            r->failed += p->claims[i].failed;
        }
    }
    size_t recorded_total = 0;
    for (size_t i = 0; i < e->count; i++)
        recorded_total += pm__history_find(h, e->set[i]->name) != NULL;
    r->pending = e->count - recorded_total - r->recorded;
}

typedef struct adopt_job {
    const char *tool;
    unsigned int flags;
    pm_adopt_report *report;
} adopt_job;

static int adopt_locked(pm_engine *e, adopt_job *job, pm_error *err)
{
    foreign f;
    pm_history h = {NULL, 0};
    plan p;
    memset(&p, 0, sizeof(p));
    int rc = choose(e, job->tool, &f, err);
    if (rc < 0)
        return rc;
    job->report->tool = f.tool->name;
    job->report->table = f.tool->table;
    rc = pm__history_read(e->db, &h, err);
    if (rc == 0)
        rc = make_plan(e, &f, &p, err);
    if (rc == 0) {
        count_plan(e, &p, &h, job->report);
        rc = check_plan(&f, &p, job->flags, err);
    }
    bool dry = (job->flags & PM_ADOPT_DRY_RUN) || e->dry_run;
    if (rc == 0 && !dry && job->report->recorded)
        rc = write_claims(e, &f, &p, &h, err);
    for (size_t i = 0; rc == 0 && i < p.nclaims; i++)
        if (!pm__history_find(&h, p.claims[i].m->name))
            pm_engine__report(e, PM_EVENT_ADOPTED, p.claims[i].m->name, 0);
    plan_free(&p);
    pm__history_free(&h);
    foreign_free(&f);
    return rc;
}

int pm_engine_adopt(pm_engine *e, const char *tool_name, unsigned int flags, pm_adopt_report *out,
                    pm_error *err)
{
    pm_error_clear(err);
    pm_adopt_report ignored;
    pm_adopt_report *report = out ? out : &ignored;
    memset(report, 0, sizeof(*report));
    adopt_job job = {tool_name, flags, report};
    int rc = pm__db_lock(e->db, e->lock_timeout_ms, err);
    if (rc < 0)
        return rc;
    rc = adopt_locked(e, &job, err);
    int unlock_rc = pm__db_unlock(e->db, err);
    return rc < 0 ? rc : unlock_rc;
}
