/* engine_tools.c: the engine's whole-schema tools, built on up and down:
 * fresh (drop everything, then apply all), reset, refresh, and verify (does
 * every down() restore the schema exactly? the difference shown object by
 * object). */
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

/* ==== fresh, reset, refresh ==== */

/* What fresh drops, in order: "kind name" to report and the statement. */
typedef struct drop_list {
    char **what;
    char **sql;
    size_t count, cap;
    int oom;
} drop_list;

static void drop_list_add(drop_list *l, char *what, char *sql)
{
    if (!l->oom && l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        char **w = realloc(l->what, cap * sizeof(*w));
        if (w)
            l->what = w;
        char **q = w ? realloc(l->sql, cap * sizeof(*q)) : NULL;
        if (q)
            l->sql = q;
        if (w && q)
            l->cap = cap;
        else
            l->oom = 1;
    }
    if (l->oom || !what || !sql) {
        l->oom = 1;
        free(what);
        free(sql);
        return;
    }
    l->what[l->count] = what;
    l->sql[l->count++] = sql;
}

static void drop_list_free(drop_list *l)
{
    for (size_t i = 0; i < l->count; i++) {
        free(l->what[i]);
        free(l->sql[i]);
    }
    free(l->what);
    free(l->sql);
}

/* The catalog's objects of kind, for backends without fresh_objects. */
static void list_kind(drop_list *l, const pm_backend *b, const pm_catalog *cat, const char *kind,
                      const char *sql_kind)
{
    size_t n = pm__catalog_objects(cat, kind, NULL, 0);
    const char **names = n ? calloc(n, sizeof(*names)) : NULL;
    if (n && !names) {
        l->oom = 1;
        return;
    }
    pm__catalog_objects(cat, kind, names, n);
    for (size_t i = 0; i < n; i++) {
        pm_buf sql = PM_BUF_INIT;
        pm_buf_printf(&sql, "DROP %s IF EXISTS ", sql_kind);
        pm__render_ident(&sql, b->dialect, names[i]);
        pm_buf_append(&sql, b->drop_suffix ? b->drop_suffix : "");
        drop_list_add(l, pm__format("%s %s", kind, names[i]), pm_buf_detach(&sql));
    }
    free(names);
}

static int list_from_catalog(pm_engine *e, drop_list *l, pm_error *err)
{
    pm_catalog *cat = NULL;
    int rc = pm__db_read_catalog(e->db, &cat, err);
    const pm_backend *b = pm__db_backend(e->db);
    if (rc == 0) {
        list_kind(l, b, cat, "view", "VIEW");
        list_kind(l, b, cat, "table", "TABLE");
        list_kind(l, b, cat, "sequence", "SEQUENCE");
        list_kind(l, b, cat, "type", "TYPE");
    }
    pm__catalog_free(cat);
    return rc;
}

/* The backend's own list: rows (kind, name, statement). */
static int list_from_backend(pm_engine *e, const char *sql, drop_list *l, pm_error *err)
{
    pm_rows rows;
    int rc = pm__db_fetch_rows(e->db, sql, &rows, err);
    for (size_t i = 0; rc == 0 && i < rows.nrows; i++) {
        const char *kind = pm_rows_cell(&rows, i, 0), *name = pm_rows_cell(&rows, i, 1),
                   *stmt = pm_rows_cell(&rows, i, 2);
        if (kind && name && stmt)
            drop_list_add(l, pm__format("%s %s", kind, name), pm__strdup(stmt));
    }
    if (rc == 0)
        pm_rows_free(&rows);
    return rc;
}

static int list_drops(pm_engine *e, drop_list *l, pm_error *err)
{
    const pm_backend *b = pm__db_backend(e->db);
    int rc = PM__BACKEND_HAS(b, 4, fresh_objects) ? list_from_backend(e, b->fresh_objects, l, err)
                                                  : list_from_catalog(e, l, err);
    if (rc == 0 && l->oom)
        rc = pm_error_set(err, PM_ENOMEM, "out of memory");
    return rc;
}

/* Drops everything list_drops() finds, foreign-key checks off; each object
 * is reported before the first is dropped. */
static int drop_everything(pm_engine *e, pm_error *err)
{
    drop_list l = {0};
    int rc = list_drops(e, &l, err);
    for (size_t i = 0; rc == 0 && i < l.count; i++)
        pm_engine__report(e, PM_EVENT_WILL_DROP, l.what[i], 0);
    const pm_backend *b = pm__db_backend(e->db);
    if (rc == 0 && b->fk_checks_off)
        rc = pm__db_exec(e->db, b->fk_checks_off, err);
    for (size_t i = 0; rc == 0 && i < l.count; i++) {
        rc = pm__db_exec(e->db, l.sql[i], err);
        if (rc == 0)
            pm_engine__report(e, PM_EVENT_DROPPED, l.what[i], 0);
    }
    if (rc == 0) { /* the history last, unreported: it is poblysh's, not the migrations' */
        pm_buf sql = PM_BUF_INIT;
        pm_buf_append(&sql, "DROP TABLE IF EXISTS ");
        pm__render_ident(&sql, b->dialect, PM_HISTORY_TABLE);
        rc = sql.oom ? pm_error_set(err, PM_ENOMEM, "out of memory")
                     : pm__db_exec(e->db, pm_buf_cstr(&sql), err);
        pm_buf_free(&sql);
    }
    if (b->fk_checks_on) {
        pm_error ignored = PM_ERROR_INIT;
        int on = pm__db_exec(e->db, b->fk_checks_on, rc < 0 ? &ignored : err);
        pm_error_clear(&ignored);
        rc = rc < 0 ? rc : on;
    }
    drop_list_free(&l);
    return rc;
}

/* Not a session: the history is dropped with everything else, so it is
 * neither created nor read first; up() then runs a session of its own.
 * Another tool's history is refused before anything is dropped. */
int pm_engine_fresh(pm_engine *e, size_t *applied, pm_error *err)
{
    pm_error_clear(err);
    if (applied)
        *applied = 0;
    if (e->dry_run)
        return pm_error_set(err, PM_EINVAL, "fresh has no dry run: it would drop everything");
    int rc = pm__db_lock(e->db, e->lock_timeout_ms, err);
    if (rc < 0)
        return rc;
    rc = pm_engine__refuse_foreign(e, err);
    if (rc == 0)
        rc = drop_everything(e, err);
    int unlock_rc = pm__db_unlock(e->db, err);
    rc = rc < 0 ? rc : unlock_rc;
    return rc < 0 ? rc : pm_engine_up(e, PM_ALL, applied, err);
}

int pm_engine_reset(pm_engine *e, size_t *reverted, pm_error *err)
{
    return pm_engine_down(e, PM_ALL, reverted, err);
}

int pm_engine_refresh(pm_engine *e, size_t *reverted, size_t *applied, pm_error *err)
{
    if (applied)
        *applied = 0;
    int rc = pm_engine_reset(e, reverted, err);
    return rc < 0 ? rc : pm_engine_up(e, PM_ALL, applied, err);
}

/* ==== verify ==== */

typedef struct verify_job {
    pm_verify_fn fn;
    void *ctx;
    size_t *problems;
} verify_job;

/* Lines of a that b lacks, each prefixed, appended to out. */
static void missing_lines(pm_buf *out, const char *a, const char *b, const char *prefix)
{
    for (const char *line = a; *line;) {
        size_t len = strcspn(line, "\n");
        bool found = false;
        for (const char *other = b; *other && !found;) {
            size_t olen = strcspn(other, "\n");
            found = olen == len && strncmp(line, other, len) == 0;
            other += olen + (other[olen] == '\n');
        }
        if (!found) {
            pm_buf_append(out, prefix);
            pm_buf_appendn(out, line, len);
            pm_buf_appendc(out, '\n');
        }
        line += len + (line[len] == '\n');
    }
}

/* ==== The difference of two snapshots, object by object ==== */

/* One object of a snapshot's text: its line, then its indented lines. */
typedef struct snapshot_object {
    const char *head; /* "table t" */
    size_t head_len;
    const char *body; /* the "  ..." lines after it, each with its '\n' */
    size_t body_len;
} snapshot_object;

/* Splits text into objects; *n is how many. Returns NULL when out of memory
 * (or when there are none). */
static snapshot_object *split_objects(const char *text, size_t *n)
{
    size_t count = 0, cap = 0;
    snapshot_object *objs = NULL;
    for (const char *line = text; *line;) {
        size_t len = strcspn(line, "\n");
        const char *next = line + len + (line[len] == '\n');
        if (line[0] != ' ' || count == 0) {
            if (count == cap) {
                cap = cap ? cap * 2 : 32;
                snapshot_object *grown = realloc(objs, cap * sizeof(*objs));
                if (!grown) {
                    free(objs);
                    *n = 0;
                    return NULL;
                }
                objs = grown;
            }
            objs[count++] = (snapshot_object){line, len, next, 0};
        } else {
            objs[count - 1].body_len = (size_t)(next - objs[count - 1].body);
        }
        line = next;
    }
    *n = count;
    return objs;
}

static const snapshot_object *find_object(const snapshot_object *objs, size_t n,
                                          const snapshot_object *o)
{
    for (size_t i = 0; i < n; i++)
        if (objs[i].head_len == o->head_len && memcmp(objs[i].head, o->head, o->head_len) == 0)
            return &objs[i];
    return NULL;
}

/* Every line of the object, each prefixed. */
static void whole_object(pm_buf *out, const snapshot_object *o, const char *prefix)
{
    pm_buf_printf(out, "%s%.*s\n", prefix, (int)o->head_len, o->head);
    char *body = pm__format("%.*s", (int)o->body_len, o->body);
    if (body)
        for (const char *line = body; *line;) {
            size_t len = strcspn(line, "\n");
            pm_buf_printf(out, "%s%.*s\n", prefix, (int)len, line);
            line += len + (line[len] == '\n');
        }
    free(body);
}

/* "- " or "+ " and the names of the object's columns, in order. */
static void column_order(pm_buf *out, const char *body, const char *prefix)
{
    pm_buf_append(out, prefix);
    pm_buf_append(out, "  columns:");
    const char *sep = " ";
    for (const char *line = body; *line;) {
        size_t len = strcspn(line, "\n");
        if (strncmp(line, "  column ", 9) == 0) {
            size_t name_len = strcspn(line + 9, " \n");
            pm_buf_printf(out, "%s%.*s", sep, (int)name_len, line + 9);
            sep = ", ";
        }
        line += len + (line[len] == '\n');
    }
    pm_buf_appendc(out, '\n');
}

typedef struct snapshot_diff {
    pm_buf text;
    bool changed;   /* an object differs in more than column order */
    bool reordered; /* some table only has its columns in another order */
} snapshot_diff;

/* One object found on both sides, with different text. */
static void diff_object(snapshot_diff *d, const snapshot_object *b, const snapshot_object *a)
{
    char *before = pm__format("%.*s", (int)b->body_len, b->body);
    char *after = pm__format("%.*s", (int)a->body_len, a->body);
    if (!before || !after) {
        d->text.oom = 1;
    } else {
        pm_buf lines = PM_BUF_INIT;
        missing_lines(&lines, before, after, "- ");
        missing_lines(&lines, after, before, "+ ");
        if (lines.len == 0) { /* the same lines in another order: columns moved */
            d->reordered = true;
            pm_buf_printf(&d->text, "  %.*s (the same columns in another order)\n",
                          (int)b->head_len, b->head);
            column_order(&d->text, before, "- ");
            column_order(&d->text, after, "+ ");
        } else {
            d->changed = true;
            pm_buf_printf(&d->text, "  %.*s\n%s", (int)b->head_len, b->head, pm_buf_cstr(&lines));
        }
        pm_buf_free(&lines);
    }
    free(before);
    free(after);
}

static void diff_snapshots(snapshot_diff *d, const char *before, const char *after)
{
    size_t nb = 0, na = 0;
    snapshot_object *b = split_objects(before, &nb), *a = split_objects(after, &na);
    if ((*before && !b) || (*after && !a))
        d->text.oom = 1;
    for (size_t i = 0; i < nb && !d->text.oom; i++) {
        const snapshot_object *other = find_object(a, na, &b[i]);
        if (!other) {
            whole_object(&d->text, &b[i], "- ");
            d->changed = true;
        } else if (other->body_len != b[i].body_len ||
                   memcmp(other->body, b[i].body, b[i].body_len) != 0) {
            diff_object(d, &b[i], other);
        }
    }
    for (size_t i = 0; i < na && !d->text.oom; i++)
        if (!find_object(b, nb, &a[i])) {
            whole_object(&d->text, &a[i], "+ ");
            d->changed = true;
        }
    free(b);
    free(a);
}

/* Reports whether the schema after down() is the one before up(). */
static void compare_schemas(const verify_job *v, const pm_migration *m, const char *before,
                            const char *after)
{
    if (strcmp(before, after) == 0) {
        v->fn(m->name, PM_VERIFY_OK, NULL, v->ctx);
        return;
    }
    snapshot_diff d = {PM_BUF_INIT, false, false};
    diff_snapshots(&d, before, after);
    const char *detail =
        d.text.oom ? "(out of memory showing the difference)\n" : pm_buf_cstr(&d.text);
    if (d.changed || d.text.oom || !d.reordered) {
        v->fn(m->name, PM_VERIFY_NOT_RESTORED, detail, v->ctx);
        (*v->problems)++;
    } else {
        v->fn(m->name, PM_VERIFY_COLUMN_ORDER, detail, v->ctx);
    }
    pm_buf_free(&d.text);
}

/* Hands a failed up or down to fn as a finding. */
static void report_failure(const verify_job *v, const pm_migration *m, pm_verify_result result,
                           const char *fallback, const pm_error *err)
{
    if (err && err->code == PM_EINTERRUPTED)
        return; /* not the migration's fault: the command stops as interrupted */
    v->fn(m->name, result, err && err->message ? err->message : fallback, v->ctx);
    (*v->problems)++;
}

static int verify_one(pm_engine *e, const verify_job *v, const pm_migration *m, int64_t *order,
                      pm_error *err)
{
    char *before = NULL, *after = NULL;
    bool skipped;
    int rc = pm_db_schema(e->db, &before, err);
    if (rc == 0 && (rc = pm_engine__run_one(e, m, true, &skipped, order, err)) < 0) {
        report_failure(v, m, PM_VERIFY_UP_FAILED, "up() failed", err);
    } else if (rc == 0 && (rc = pm_engine__run_one(e, m, false, &skipped, order, err)) < 0) {
        report_failure(v, m, PM_VERIFY_DOWN_FAILED, "down() failed", err);
    } else if (rc == 0 && (rc = pm_db_schema(e->db, &after, err)) == 0) {
        compare_schemas(v, m, before, after);
        /* On to the next one; up() may fail now on what down() left behind. */
        if ((rc = pm_engine__run_one(e, m, true, &skipped, order, err)) < 0)
            report_failure(v, m, PM_VERIFY_UP_FAILED, "up() failed after down()", err);
    }
    free(before);
    free(after);
    /* A failed up or down is a finding, reported through fn, not an error:
     * on to the next migration. An interrupt is not a finding: it ends the
     * command, and so does an error that is no migration's (a lost
     * connection). */
    if (rc < 0 && rc != PM_EINTERRUPTED && err && err->migration && !pm_db_interrupted(e->db)) {
        pm_error_clear(err);
        rc = 0;
    }
    return rc;
}

static int verify_all(pm_engine *e, const pm_history *h, void *ctx, pm_error *err)
{
    const verify_job *v = ctx;
    if (h->count)
        return pm_error_set(err, PM_EINVAL,
                            "verify needs a scratch database with no migration applied; this one "
                            "has %zu",
                            h->count);
    int64_t order = 1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < e->count; i++)
        rc = verify_one(e, v, e->set[i], &order, err);
    return rc;
}

int pm_engine_verify(pm_engine *e, pm_verify_fn fn, void *ctx, size_t *problems, pm_error *err)
{
    pm_error_clear(err);
    *problems = 0;
    verify_job v = {fn, ctx, problems};
    return pm_engine__session(e, verify_all, &v, err);
}
