/* driver_helpers.c: what every driver would otherwise write again (written
 * once here, declared in sys/driver.h): whether a query returns a row,
 * parameters written in as literals, and the migration lock with the
 * backend's SQL: polled for the session, or taken in each transaction. They reach the database only
 * through the driver's query(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define PM_LOCK_POLL_MS 100

/* ==== Rows ==== */

static int note_row(void *ctx, size_t ncolumns, const char *const *values)
{
    (void)ncolumns;
    (void)values;
    *(bool *)ctx = true;
    return 0;
}

int pm_driver_row_exists(pm_conn *conn, const char *sql, const char *const *params, size_t nparams,
                         bool *out, pm_error *err)
{
    *out = false;
    return conn->driver->query(conn, sql, params, nparams, note_row, out, err);
}

/* ==== Parameters as literals ==== */

static char *standard_literal(void *ctx, const char *value)
{
    (void)ctx;
    pm_buf b = PM_BUF_INIT;
    pm_buf_appendc(&b, '\'');
    for (const char *v = value; *v; v++) {
        if (*v == '\'')
            pm_buf_appendc(&b, '\'');
        pm_buf_appendc(&b, *v);
    }
    pm_buf_appendc(&b, '\'');
    return pm_buf_detach(&b);
}

char *pm_sql_inline_params(const char *sql, const char *const *params, size_t nparams,
                           pm_sql_literal_fn literal, void *ctx)
{
    if (!literal)
        literal = standard_literal;
    pm_buf b = PM_BUF_INIT;
    for (const char *p = sql; *p && !b.oom;) {
        char *end = NULL;
        long k = p[0] == '$' && p[1] >= '1' && p[1] <= '9' ? strtol(p + 1, &end, 10) : 0;
        if (k < 1 || (size_t)k > nparams) {
            pm_buf_appendc(&b, *p++);
            continue;
        }
        const char *value = params[k - 1];
        char *text = value ? literal(ctx, value) : NULL;
        if (value && !text) {
            pm_buf_free(&b);
            return NULL;
        }
        pm_buf_append(&b, text ? text : "NULL");
        free(text);
        p = end;
    }
    return pm_buf_detach(&b);
}

/* ==== The migration lock ==== */

/* Keeps the first column of the first row in the caller's buffer. */
typedef struct text_out {
    char *buf;
    size_t size;
} text_out;

static int take_text(void *ctx, size_t ncolumns, const char *const *values)
{
    text_out *t = ctx;
    if (t->size && !*t->buf)
        snprintf(t->buf, t->size, "%s", ncolumns && values[0] ? values[0] : "");
    return 0;
}

static int query_text(pm_conn *conn, const char *sql, const char *param, char *buf, size_t size,
                      pm_error *err)
{
    text_out t = {buf, size};
    buf[0] = '\0';
    const char *params[] = {param};
    return conn->driver->query(conn, sql, param ? params : NULL, param ? 1 : 0, take_text, &t, err);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waiting on a backend whose begin() is the lock: set how long it waits. */
static int set_lock_wait(pm_conn *conn, const char *fmt, int timeout_ms, pm_error *err)
{
    if (!fmt)
        return 0;
    char *sql = pm__format(fmt, timeout_ms);
    if (!sql)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    int rc = conn->driver->exec(conn, sql, err);
    free(sql);
    return rc;
}

static int lock_key(pm_conn *conn, char *key, size_t keysize, pm_error *err)
{
    const pm_backend *b = conn->backend;
    char ns[256];
    const char *chosen = conn->driver->version >= 11 ? conn->schema : NULL;
    if (chosen) /* not current_schema(): a pooler may answer from another connection */
        return query_text(conn, b->lock_key, chosen, key, keysize, err);
    int rc = query_text(conn, b->lock_namespace, NULL, ns, sizeof(ns), err);
    if (rc == 0 && !*ns)
        return pm_error_set(err, PM_EDB, "%s",
                            b->lock_no_namespace ? b->lock_no_namespace : "no current namespace");
    return rc < 0 ? rc : query_text(conn, b->lock_key, ns, key, keysize, err);
}

/* The timeout error, naming the session that holds the lock when the
 * backend can tell. */
static int lock_timeout(pm_conn *conn, const char *key, int timeout_ms, pm_error *err)
{
    char holder[512] = "";
    if (conn->backend->lock_holder) {
        pm_error ignored = PM_ERROR_INIT;
        query_text(conn, conn->backend->lock_holder, key, holder, sizeof(holder), &ignored);
        pm_error_clear(&ignored);
    }
    if (!*holder)
        return pm_error_set(err, PM_ELOCKED,
                            "migration lock not acquired within %d s: another runner held it "
                            "(it has just been released; run the command again)",
                            timeout_ms / 1000);
    return pm_error_set(err, PM_ELOCKED,
                        "migration lock not acquired within %d s: another runner holds it, %s",
                        timeout_ms / 1000, holder);
}

static int poll_lock(pm_conn *conn, const char *key, int timeout_ms,
                     const volatile sig_atomic_t *cancelled, pm_error *err)
{
    const pm_backend *b = conn->backend;
    int64_t start = pm__now_ms();
    for (;;) {
        char got[32];
        int rc = query_text(conn, b->lock_try, key, got, sizeof(got), err);
        if (rc < 0)
            return rc;
        if (strcmp(got, b->lock_granted) == 0)
            return 0;
        if (cancelled && *cancelled)
            return pm_error_set(err, PM_EINTERRUPTED,
                                "interrupted while waiting for the migration lock");
        if (pm__now_ms() - start >= timeout_ms)
            return lock_timeout(conn, key, timeout_ms, err);
        sleep_ms(PM_LOCK_POLL_MS);
    }
}

int pm_driver_lock(pm_conn *conn, int timeout_ms, char *key, size_t keysize,
                   const volatile sig_atomic_t *cancelled, pm_error *err)
{
    key[0] = '\0';
    if (!conn->backend->lock_namespace)
        return set_lock_wait(conn, conn->backend->lock_wait, timeout_ms, err);
    int rc = lock_key(conn, key, keysize, err);
    if (rc == 0 && !pm_driver_locks_per_transaction(conn))
        rc = poll_lock(conn, key, timeout_ms, cancelled, err);
    if (rc < 0)
        key[0] = '\0';
    return rc;
}

int pm_driver_unlock(pm_conn *conn, char *key, pm_error *err)
{
    const pm_backend *b = conn->backend;
    if (!b->lock_namespace)
        return b->lock_wait_reset ? conn->driver->exec(conn, b->lock_wait_reset, err) : 0;
    if (!*key)
        return 0;
    if (pm_driver_locks_per_transaction(conn)) { /* each transaction released its own */
        key[0] = '\0';
        return 0;
    }
    const char *params[] = {key};
    int rc = conn->driver->query(conn, b->lock_release, params, 1, NULL, NULL, err);
    key[0] = '\0';
    return rc;
}

/* ==== The migration lock per transaction ==== */

/* The backend's lock_transaction, read only from backends new enough to
 * have it. */
static const char *lock_transaction(const pm_backend *b)
{
    return b && b->version >= 3 ? b->lock_transaction : NULL;
}

bool pm_driver_locks_per_transaction(const pm_conn *conn)
{
    return lock_transaction(conn->backend) && conn->driver && conn->driver->version >= 8;
}

/* Whether key is what lock_key returns: a (possibly negative) number. */
static bool is_number(const char *key)
{
    const char *digits = key[0] == '-' ? key + 1 : key;
    return *digits && strspn(digits, "0123456789") == strlen(digits);
}

char *pm_driver_lock_transaction_sql(const pm_conn *conn, const char *key, int timeout_ms)
{
    const char *fmt = lock_transaction(conn->backend);
    if (!fmt || !key || !is_number(key)) /* a number, so it is safe to write in */
        return NULL;
    return pm__format(fmt, timeout_ms, key);
}

int pm_driver_lock_transaction_failed(pm_conn *conn, const char *key, int timeout_ms,
                                      const volatile sig_atomic_t *cancelled, int rc, pm_error *err)
{
    const char *timeout_code = conn->backend->lock_transaction_timeout;
    if (cancelled && *cancelled)
        return pm_error_set(err, PM_EINTERRUPTED,
                            "interrupted while waiting for the migration lock");
    if (err && err->db_code && timeout_code && strcmp(err->db_code, timeout_code) == 0)
        return lock_timeout(conn, key, timeout_ms, err);
    return rc;
}
