/* bench_db.c: the databases pm_bench works on (see bench_db.h): URLs, fresh
 * PostgreSQL databases, the baseline's script from poblysh's dry run, and
 * the check that both sides of a comparison did the same work. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_db.h"

/* ==== URLs and fresh databases ==== */

char *bench_sqlite_url(const char *path)
{
    return bench_format("sqlite:%s", path);
}

/* The socket directory as a URL host: every '/' percent-encoded. */
static char *encoded_dir(const char *dir)
{
    size_t n = strlen(dir), len = 0;
    char *out = malloc(3 * n + 1);
    if (!out)
        return NULL;
    for (const char *p = dir; *p; p++) {
        if (*p == '/') {
            memcpy(out + len, "%2F", 3);
            len += 3;
        } else {
            out[len++] = *p;
        }
    }
    out[len] = '\0';
    return out;
}

char *bench_pg_url(const bench_env *env, const char *dbname)
{
    char *host = encoded_dir(env->pg_socket_dir);
    char *url =
        bench_format("postgresql://poblysh@%s:%s/%s", host ? host : "", env->pg_port, dbname);
    free(host);
    return url;
}

static int report_error(const char *what, const pm_error *err)
{
    fprintf(stderr, "pm_bench: %s: %s\n", what,
            err->message ? err->message : pm_strerror(err->code));
    return -1;
}

int bench_pg_recreate(const bench_env *env, const char *dbname)
{
    char *url = bench_pg_url(env, "postgres");
    char *sql =
        bench_format("DROP DATABASE IF EXISTS \"%s\"; CREATE DATABASE \"%s\"", dbname, dbname);
    pm_error err = PM_ERROR_INIT;
    pm_db *db = NULL;
    int rc = pm_db_open(&db, url, NULL, &err);
    if (rc == 0)
        rc = pm_db_exec(db, sql, &err);
    if (rc < 0)
        report_error("recreating a PostgreSQL database", &err);
    pm_db_close(db);
    pm_error_clear(&err);
    free(sql);
    free(url);
    return rc < 0 ? -1 : 0;
}

/* ==== The baseline's script ==== */

typedef struct script_writer {
    FILE *out;
    const char *begin;
} script_writer;

static void write_statement(const char *migration, const char *sql, void *ctx)
{
    (void)migration;
    script_writer *w = ctx;
    fprintf(w->out, "%s;\n", strcmp(sql, "BEGIN") == 0 ? w->begin : sql);
}

int bench_write_baseline(const char *path, const char *url, const pm_migration *const *set,
                         size_t count, const char *begin)
{
    FILE *out = fopen(path, "w");
    if (!out) {
        perror(path);
        return -1;
    }
    script_writer w = {out, begin};
    pm_engine_options opts = PM_ENGINE_OPTIONS_INIT;
    opts.dry_run = write_statement;
    opts.dry_run_ctx = &w;
    pm_error err = PM_ERROR_INIT;
    pm_db *db = NULL;
    pm_engine *engine = NULL;
    int rc = pm_db_open(&db, url, NULL, &err);
    if (rc == 0)
        rc = pm_engine_new(&engine, db, set, count, &opts, &err);
    if (rc == 0)
        rc = pm_engine_up(engine, PM_ALL, NULL, &err);
    if (rc < 0)
        report_error("writing the baseline script (dry run)", &err);
    pm_engine_free(engine);
    pm_db_close(db);
    pm_error_clear(&err);
    if (fclose(out) != 0 && rc == 0) {
        perror(path);
        rc = -1;
    }
    return rc < 0 ? -1 : 0;
}

/* ==== Did both sides do the same work? ==== */

/* Opens url, reads its schema text and how many of set it records applied. */
static int read_result(const char *url, const pm_migration *const *set, size_t count, char **schema,
                       size_t *applied, size_t *entries)
{
    pm_error err = PM_ERROR_INIT;
    pm_db *db = NULL;
    pm_engine *engine = NULL;
    pm_status *st = NULL;
    *schema = NULL;
    int rc = pm_db_open(&db, url, NULL, &err);
    if (rc == 0)
        rc = pm_engine_new(&engine, db, set, count, NULL, &err);
    if (rc == 0)
        rc = pm_engine_status(engine, &st, &err);
    if (rc == 0)
        rc = pm_db_schema(db, schema, &err);
    if (rc == 0) {
        *applied = pm_status_count_state(st, PM_STATE_APPLIED);
        *entries = pm_status_count(st);
    } else {
        report_error("reading a benchmark database", &err);
    }
    pm_status_free(st);
    pm_engine_free(engine);
    pm_db_close(db);
    pm_error_clear(&err);
    return rc < 0 ? -1 : 0;
}

int bench_check_same(const char *url_a, const char *url_b, const pm_migration *const *set,
                     size_t count)
{
    char *schema_a = NULL, *schema_b = NULL;
    size_t applied_a = 0, applied_b = 0, entries_a = 0, entries_b = 0;
    int rc = read_result(url_a, set, count, &schema_a, &applied_a, &entries_a);
    if (rc == 0)
        rc = read_result(url_b, set, count, &schema_b, &applied_b, &entries_b);
    if (rc == 0 && strcmp(schema_a, schema_b) != 0) {
        fprintf(stderr, "pm_bench: poblysh and the baseline left different schemas\n");
        rc = -1;
    }
    if (rc == 0 &&
        (applied_a != count || applied_b != count || entries_a != count || entries_b != count)) {
        fprintf(stderr,
                "pm_bench: expected %zu applied migrations on both sides, found %zu and %zu\n",
                count, applied_a, applied_b);
        rc = -1;
    }
    free(schema_a);
    free(schema_b);
    return rc;
}
