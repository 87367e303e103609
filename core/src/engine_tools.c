/* engine_tools.c: the engine's whole-schema tools, built on up and down:
 * fresh (drop everything, then apply all), reset, refresh, and verify (does
 * every down() restore the schema exactly?). */
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

/* ==== fresh, reset, refresh ==== */

static int drop_kind(pm_engine *e, const pm_catalog *cat, const char *kind, const char *sql_kind,
                     pm_error *err)
{
    size_t n = pm__catalog_objects(cat, kind, NULL, 0);
    const char **names = n ? calloc(n, sizeof(*names)) : NULL;
    if (n && !names)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    pm__catalog_objects(cat, kind, names, n);
    const pm_backend *b = pm__db_backend(e->db);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        pm_buf sql = PM_BUF_INIT;
        pm_buf_printf(&sql, "DROP %s IF EXISTS ", sql_kind);
        pm__render_ident(&sql, b->dialect, names[i]);
        pm_buf_append(&sql, b->drop_suffix ? b->drop_suffix : "");
        rc = sql.oom ? pm_error_set(err, PM_ENOMEM, "out of memory")
                     : pm__db_exec(e->db, pm_buf_cstr(&sql), err);
        pm_buf_free(&sql);
        if (rc == 0) {
            char *what = pm__format("%s %s", kind, names[i]);
            pm_engine__report(e, PM_EVENT_DROPPED, what ? what : names[i], 0);
            free(what);
        }
    }
    free(names);
    return rc;
}

/* Drops every object of the current schema, foreign-key checks off. */
static int drop_everything(pm_engine *e, pm_error *err)
{
    pm_catalog *cat = NULL;
    int rc = pm__db_read_catalog(e->db, &cat, err);
    const pm_backend *b = pm__db_backend(e->db);
    if (rc == 0 && b->fk_checks_off)
        rc = pm__db_exec(e->db, b->fk_checks_off, err);
    if (rc == 0)
        rc = drop_kind(e, cat, "view", "VIEW", err);
    if (rc == 0)
        rc = drop_kind(e, cat, "table", "TABLE", err);
    if (rc == 0)
        rc = drop_kind(e, cat, "sequence", "SEQUENCE", err);
    if (rc == 0)
        rc = drop_kind(e, cat, "type", "TYPE", err);
    if (rc == 0) {
        pm_buf sql = PM_BUF_INIT;
        pm_buf_append(&sql, "DROP TABLE IF EXISTS ");
        pm__render_ident(&sql, b->dialect, PM_HISTORY_TABLE);
        rc = pm__db_exec(e->db, pm_buf_cstr(&sql), err);
        pm_buf_free(&sql);
    }
    if (b->fk_checks_on) {
        pm_error ignored = PM_ERROR_INIT;
        int on = pm__db_exec(e->db, b->fk_checks_on, rc < 0 ? &ignored : err);
        pm_error_clear(&ignored);
        rc = rc < 0 ? rc : on;
    }
    pm__catalog_free(cat);
    return rc;
}

/* Not a session: the history is dropped with everything else, so it is
 * neither created nor read first; up() then runs a session of its own. */
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

/* Reports whether the schema after down() is the one before up(). */
static void compare_schemas(const verify_job *v, const pm_migration *m, const char *before,
                            const char *after)
{
    if (strcmp(before, after) == 0) {
        v->fn(m->name, PM_VERIFY_OK, NULL, v->ctx);
        return;
    }
    pm_buf diff = PM_BUF_INIT;
    missing_lines(&diff, before, after, "- ");
    missing_lines(&diff, after, before, "+ ");
    if (diff.len == 0) /* the same lines, in another order */
        pm_buf_printf(&diff, "  the same items in another order; before:\n%s  after:\n%s", before,
                      after);
    v->fn(m->name, PM_VERIFY_NOT_RESTORED, pm_buf_cstr(&diff), v->ctx);
    pm_buf_free(&diff);
    (*v->problems)++;
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
    /* A failed up or down is a finding, reported through fn, not an error;
     * an interrupt is not a finding: it ends the command. */
    if (rc < 0 && rc != PM_EINTERRUPTED && *v->problems && err && err->migration) {
        pm_error_clear(err);
        rc = 0;
    }
    return rc;
}

int pm_engine_verify(pm_engine *e, pm_verify_fn fn, void *ctx, size_t *problems, pm_error *err)
{
    pm_error_clear(err);
    *problems = 0;
    verify_job v = {fn, ctx, problems};
    return pm_engine__session(e, verify_all, &v, err);
}
