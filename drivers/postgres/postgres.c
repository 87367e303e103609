/* postgres.c: the PostgreSQL driver on libpq, for production. URLs:
 * postgres:// and postgresql:// and libpq's key=value strings, handed to
 * libpq whole (several hosts, target_session_attrs, service, passfile); or a
 * PGconn the program opened (pm_db_adopt_postgres()). A connection that
 * reaches a standby in recovery is marked PM_CONN_READ_ONLY.
 *
 * A migration's statements are not sent one by one: inside a transaction
 * they are queued and sent with BEGIN and COMMIT as one simple-query string,
 * one round trip per migration; libpq returns a result per statement, so a
 * failure is still pinned to its statement. The migration lock is a
 * transaction-level advisory lock that begin() takes in each transaction
 * (the backend's lock_transaction), so no lock is left on a server
 * connection a pooler hands to someone else. */
#include "pq_lazy.h"
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "poblysh/db.h"
#include "poblysh/sys/driver.h"

#define PG_DEFAULT_CONNECT_TIMEOUT "10"
#define PG_WAIT_POLL_MS 500
/* Between batched statements. The newline before ';' ends a statement's
 * trailing "-- comment", which would otherwise swallow the ';'. */
#define PG_SEPARATOR "\n;\n"
#define PG_SEPARATOR_LEN 3

typedef struct pq_conn {
    pm_conn base;
    PGconn *pg;
    PGcancel *cancel; /* made at open, so cancel() allocates nothing */
    volatile sig_atomic_t cancelled;
    bool in_transaction; /* between begin() and commit()/rollback() */
    bool batch_open;     /* statements join the queue (batching()) */
    /* begin() took the migration lock and nothing was written since: the
     * engine's history reads there keep the batch open. */
    bool opening;
    /* The first lock_pending queued statements are BEGIN and those taking
     * the migration lock, not sent yet: they go with the next round trip,
     * and a failure among them is the lock's (begin_locked()). */
    size_t lock_pending;
    char **queue; /* statements not yet sent; the first is BEGIN */
    size_t nqueue, capqueue;
    char lock_key[64];   /* the advisory lock key as text, "" before lock() */
    int lock_timeout_ms; /* how long begin() waits for the lock */
    /* Adopted: pg is the program's, so close() gives it back as found. */
    bool adopted;
    char *saved_min_messages; /* its client_min_messages before */
} pq_conn;

/* ==== Errors ==== */

/* libpq's messages end in a newline and continue on tab-indented lines:
 * one line reads better in ours. */
static char *one_line(const char *text)
{
    size_t n = strlen(text);
    char *s = malloc(2 * n + 1), *out = s;
    if (!s)
        return NULL;
    int space = 0, newline = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '\n' || *p == '\t' || *p == '\r' || *p == ' ') {
            space = out > s;
            newline |= *p == '\n' && out > s;
            continue;
        }
        if (newline && out[-1] != '.' && out[-1] != ':')
            *out++ = ';';
        if (space)
            *out++ = ' ';
        space = newline = 0;
        *out++ = *p;
    }
    *out = '\0';
    return s;
}

/* Fills err from a failed result: SQLSTATE, message, detail, hint, the
 * statement, and position (a character offset within statement, or 0). */
static int fail_result_at(const PGresult *res, const char *statement, long position, pm_error *err)
{
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    char *fallback = one_line(PQresultErrorMessage(res));
    const char *message = primary ? primary : fallback && *fallback ? fallback : "unknown error";
    if (position > 0)
        pm_error_set(err, PM_EDB, "%s (at character %ld of the statement)", message, position);
    else
        pm_error_set(err, PM_EDB, "%s", message);
    free(fallback);
    pm_error_set_db(err, PQresultErrorField(res, PG_DIAG_SQLSTATE), statement);
    pm_error_set_detail(err, PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL),
                        PQresultErrorField(res, PG_DIAG_MESSAGE_HINT));
    if (err && statement)
        err->position = position;
    return PM_EDB;
}

static int fail_result(const PGresult *res, const char *statement, pm_error *err)
{
    const char *position = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
    return fail_result_at(res, statement, position ? atol(position) : 0, err);
}

static int fail_connection(pq_conn *c, const char *statement, pm_error *err)
{
    char *message = one_line(PQerrorMessage(c->pg));
    pm_error_set(err, PM_EDB, "%s", message && *message ? message : "connection failed");
    free(message);
    pm_error_set_db(err, NULL, statement);
    return PM_EDB;
}

static int oom(pm_error *err)
{
    return pm_error_set(err, PM_ENOMEM, "out of memory");
}

/* ==== Connecting ==== */

typedef struct conninfo {
    const char *keywords[64];
    const char *values[64];
    size_t n;
    char *dbname;
    char port[8];
    int expand_dbname; /* 1: the "dbname" value is a whole connection string */
} conninfo;

static void conninfo_add(conninfo *ci, const char *key, const char *value)
{
    if (value && ci->n < PM_ARRAY_LEN(ci->keywords) - 1) {
        ci->keywords[ci->n] = key;
        ci->values[ci->n] = value;
        ci->n++;
    }
}

/* Whether the parameter before params[i] carries a password: then an
 * unknown params[i] is most likely the tail of a password holding a raw '&'
 * and must not be quoted. */
static bool follows_password(const pm_url *url, size_t i)
{
    return i > 0 && (strcmp(url->params[i - 1].key, "password") == 0 ||
                     strcmp(url->params[i - 1].key, "sslpassword") == 0);
}

/* Refuses a query parameter libpq does not know, before connecting, so a
 * typo is a usage error that names it rather than a connection failure. */
static int check_parameters(const pm_url *url, pm_error *err)
{
    PQconninfoOption *known = PQconndefaults();
    int rc = 0;
    for (size_t i = 0; known && rc == 0 && i < url->nparams; i++) {
        bool found = false;
        for (PQconninfoOption *o = known; o->keyword && !found; o++)
            found = strcmp(o->keyword, url->params[i].key) == 0;
        if (!found && follows_password(url, i))
            rc = pm_error_set(err, PM_EURL,
                              "postgres URL: the parameter after \"%s=\" is not a libpq "
                              "connection parameter (a '&' in a password must be written %%26)",
                              url->params[i - 1].key);
        else if (!found)
            rc = pm_error_set(err, PM_EURL,
                              "postgres URL: \"%s\" is not a libpq connection parameter (e.g. "
                              "sslmode, connect_timeout, application_name, options, host)",
                              url->params[i].key);
    }
    PQconninfoFree(known);
    return rc;
}

/* The URL's parts, then its query parameters (which libpq lets override
 * them), then our defaults for what the URL left out. */
static int conninfo_build(conninfo *ci, const pm_url *url, pm_error *err)
{
    memset(ci, 0, sizeof(*ci));
    if (url->nparams > 48)
        return pm_error_set(err, PM_EURL, "postgres URL has too many parameters (%zu)",
                            url->nparams);
    conninfo_add(ci, "host", url->host);
    if (url->port) {
        snprintf(ci->port, sizeof(ci->port), "%d", url->port);
        conninfo_add(ci, "port", ci->port);
    }
    conninfo_add(ci, "user", url->user);
    conninfo_add(ci, "password", url->password);
    if (url->path && url->path[0] == '/' && url->path[1]) {
        ci->dbname = strdup(url->path + 1);
        if (!ci->dbname)
            return oom(err);
        conninfo_add(ci, "dbname", ci->dbname);
    }
    for (size_t i = 0; i < url->nparams; i++)
        conninfo_add(ci, url->params[i].key, url->params[i].value);
    if (!pm_url_param_get(url, "connect_timeout"))
        conninfo_add(ci, "connect_timeout", PG_DEFAULT_CONNECT_TIMEOUT);
    conninfo_add(ci, "fallback_application_name", "poblysh");
    ci->keywords[ci->n] = NULL;
    ci->values[ci->n] = NULL;
    return 0;
}

/* Whether libpq reads the text itself: a key=value string, or a URL with
 * one of libpq's own prefixes (which libpq reads with several hosts). Other
 * spellings the core accepts (POSTGRES://, postgres:?host=h) are built from
 * the parsed URL by conninfo_build(). */
static bool libpq_reads(const pm_url *url)
{
    return url->is_conninfo || (url->text && (strncmp(url->text, "postgresql://", 13) == 0 ||
                                              strncmp(url->text, "postgres://", 11) == 0));
}

/* Our defaults, then the whole connection string as an expanded dbname:
 * libpq lets what the string says override what comes before it. */
static void conninfo_whole(conninfo *ci, const pm_url *url)
{
    memset(ci, 0, sizeof(*ci));
    conninfo_add(ci, "connect_timeout", PG_DEFAULT_CONNECT_TIMEOUT);
    conninfo_add(ci, "fallback_application_name", "poblysh");
    conninfo_add(ci, "dbname", url->text);
    ci->keywords[ci->n] = NULL;
    ci->values[ci->n] = NULL;
    ci->expand_dbname = 1;
}

static int conninfo_make(conninfo *ci, const pm_url *url, pm_error *err)
{
    int rc = url->is_conninfo ? 0 : check_parameters(url, err);
    if (rc == 0 && libpq_reads(url))
        conninfo_whole(ci, url);
    else if (rc == 0)
        rc = conninfo_build(ci, url, err);
    return rc;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static bool is_set(const volatile sig_atomic_t *flag)
{
    return flag && *flag;
}

/* Connects, retrying for up to wait_seconds while the server does not
 * answer or is starting up. A server that answers and refuses (password,
 * unknown database) fails at once; so does any attempt once *cancelled is
 * set (a signal: the core reports it as an interrupt). */
static PGconn *connect_with_wait(const conninfo *ci, const pm_connect_options *opts, int *waited)
{
    int wait_seconds = opts ? opts->wait_seconds : 0;
    const volatile sig_atomic_t *cancelled = opts ? opts->cancelled : NULL;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    *waited = 0;
    for (int attempt = 1;; attempt++) {
        PGconn *pg = PQconnectdbParams(ci->keywords, ci->values, ci->expand_dbname);
        if (!pg || PQstatus(pg) == CONNECTION_OK || wait_seconds <= 0 || is_set(cancelled))
            return pg;
        PGPing ping = PQpingParams(ci->keywords, ci->values, ci->expand_dbname);
        if ((ping != PQPING_NO_RESPONSE && ping != PQPING_REJECT) ||
            seconds_since(&start) >= wait_seconds || is_set(cancelled))
            return pg;
        if (opts->waiting) {
            char *why = one_line(PQerrorMessage(pg));
            opts->waiting(opts->waiting_ctx, attempt, seconds_since(&start), why);
            free(why);
        }
        PQfinish(pg);
        *waited = 1;
        sleep_ms(PG_WAIT_POLL_MS); /* a signal ends it early */
    }
}

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* NOTICEs such as "table does not exist, skipping" are not ours to print */
}

static void give_back(pq_conn *c);
static int run_params(pq_conn *c, const char *sql, const char *const *params, size_t nparams,
                      pm_row_fn row, void *ctx, pm_error *err);
static int take_text(void *ctx, size_t ncolumns, const char *const *values);

/* Whether the server reported at connect that it is a hot standby or that
 * sessions are read-only by default: 1 or 0, or -1 when it did not report
 * both (servers before 14, or a pooler that does not pass them on). These
 * reports cost no round trip. */
static int reported_read_only(pq_conn *c)
{
    const char *standby = PQparameterStatus(c->pg, "in_hot_standby");
    const char *read_only = PQparameterStatus(c->pg, "default_transaction_read_only");
    if (!standby || !read_only)
        return -1;
    return strcmp(standby, "on") == 0 || strcmp(read_only, "on") == 0;
}

/* A standby replaying the primary's log (pg_is_in_recovery()) or a session
 * read-only by default accepts no writes: the connection says so, and the
 * core refuses every writing command before it runs. The server's own
 * reports answer when it made both; otherwise a query asks. A server that
 * cannot tell (the query fails) is taken as writable; its writes then fail
 * as they would. */
static void note_read_only(pq_conn *c)
{
    int reported = reported_read_only(c);
    if (reported >= 0) {
        if (reported)
            c->base.flags |= PM_CONN_READ_ONLY;
        return;
    }
    char *answer = NULL;
    int rc = run_params(c,
                        "SELECT pg_catalog.pg_is_in_recovery() OR "
                        "pg_catalog.current_setting('transaction_read_only') = 'on'",
                        NULL, 0, take_text, &answer, NULL);
    if (rc == 0 && answer && strcmp(answer, "t") == 0)
        c->base.flags |= PM_CONN_READ_ONLY;
    free(answer);
}

static void pg_close(pm_conn *conn)
{
    pq_conn *c = (pq_conn *)conn;
    for (size_t i = 0; i < c->nqueue; i++)
        free(c->queue[i]);
    free(c->queue);
    if (c->cancel)
        PQfreeCancel(c->cancel);
    if (c->adopted)
        give_back(c);
    else
        PQfinish(c->pg);
    free(c->saved_min_messages);
    free(c);
}

static int pg_open(pm_conn **out, const pm_url *url, const pm_connect_options *opts, pm_error *err)
{
    conninfo ci;
    int rc = pm_pq_load(err);
    if (rc < 0)
        return rc;
    rc = conninfo_make(&ci, url, err);
    if (rc < 0)
        return rc;
    pq_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        free(ci.dbname);
        return oom(err);
    }
    c->base.backend = &pm_backend_postgres;
    c->base.flags = pm_backend_postgres.conn_flags;
    int waited = 0;
    c->pg = connect_with_wait(&ci, opts, &waited);
    free(ci.dbname);
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
        char *message = c->pg ? one_line(PQerrorMessage(c->pg)) : NULL;
        pm_error_set(err, PM_ECONNECT, "cannot connect to PostgreSQL: %s%s",
                     message && *message ? message : "out of memory",
                     waited ? " (gave up after --wait)" : "");
        free(message);
        pg_close(&c->base);
        return PM_ECONNECT;
    }
    PQsetNoticeProcessor(c->pg, ignore_notice, NULL);
    c->cancel = PQgetCancel(c->pg);
    note_read_only(c);
    *out = &c->base;
    return 0;
}

/* ==== Sending statements ==== */

/* Hands each row of a successful result to row. */
static int deliver_rows(const PGresult *res, pm_row_fn row, void *ctx, pm_error *err)
{
    int ncols = PQnfields(res), rc = 0;
    const char *stack_values[16];
    const char **values = ncols <= 16 ? stack_values : malloc((size_t)ncols * sizeof(*values));
    if (!values)
        return oom(err);
    for (int r = 0; rc == 0 && r < PQntuples(res); r++) {
        for (int i = 0; i < ncols; i++)
            values[i] = PQgetisnull(res, r, i) ? NULL : PQgetvalue(res, r, i);
        rc = row(ctx, (size_t)ncols, values);
    }
    if (values != stack_values)
        free(values);
    return rc;
}

/* Runs one statement now and checks its result; rows go to row. */
static int run_params(pq_conn *c, const char *sql, const char *const *params, size_t nparams,
                      pm_row_fn row, void *ctx, pm_error *err)
{
    PGresult *res = PQexecParams(c->pg, sql, (int)nparams, NULL, params, NULL, NULL, 0);
    if (!res)
        return fail_connection(c, sql, err);
    ExecStatusType status = PQresultStatus(res);
    int rc = 0;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        rc = fail_result(res, sql, err);
    else if (row && status == PGRES_TUPLES_OK)
        rc = deliver_rows(res, row, ctx, err);
    PQclear(res);
    return rc;
}

static void clear_queue(pq_conn *c)
{
    for (size_t i = 0; i < c->nqueue; i++)
        free(c->queue[i]);
    c->nqueue = 0;
}

static int enqueue_copy(pq_conn *c, const char *sql, size_t len)
{
    if (c->nqueue == c->capqueue) {
        size_t cap = c->capqueue ? c->capqueue * 2 : 16;
        char **q = realloc(c->queue, cap * sizeof(*q));
        if (!q)
            return PM_ENOMEM;
        c->queue = q;
        c->capqueue = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return PM_ENOMEM;
    memcpy(copy, sql, len);
    copy[len] = '\0';
    c->queue[c->nqueue++] = copy;
    return 0;
}

static int enqueue_statement(void *ctx, const char *statement, size_t length, size_t offset)
{
    (void)offset;
    return enqueue_copy(ctx, statement, length);
}

/* Characters (not bytes: PostgreSQL counts characters) in s[0, n). */
static long utf8_length(const char *s, size_t n)
{
    long chars = 0;
    for (size_t i = 0; i < n; i++)
        chars += ((unsigned char)s[i] & 0xC0) != 0x80;
    return chars;
}

/* The failure of result number index of a batch. A syntax error fails the
 * whole string before anything runs, as its first result, with a position
 * in the whole string: that position finds the statement. Otherwise the
 * failing statement is the one whose result failed. */
static int fail_in_batch(pq_conn *c, const PGresult *res, size_t index, pm_error *err)
{
    const char *position = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
    long at = position ? atol(position) : 0;
    if (at > 0) {
        long start = 1; /* characters, 1-based, where statement i begins */
        for (size_t i = 0; i < c->nqueue; i++) {
            long len = utf8_length(c->queue[i], strlen(c->queue[i]));
            if (at < start + len + PG_SEPARATOR_LEN) /* within it or its separator */
                return fail_result_at(res, c->queue[i], at - start + 1, err);
            start += len + PG_SEPARATOR_LEN;
        }
    }
    return fail_result_at(res, index < c->nqueue ? c->queue[index] : NULL, at, err);
}

static int lock_failed(pq_conn *c, int rc, pm_error *err);

/* Sends the queued statements as one simple-query string. libpq returns one
 * result per statement, so the first failed result names its statement.
 * The last statement's rows go to row, when given. */
static int flush_rows(pq_conn *c, pm_row_fn row, void *ctx, pm_error *err)
{
    if (c->nqueue == 0)
        return 0;
    size_t total = 1;
    for (size_t i = 0; i < c->nqueue; i++)
        total += strlen(c->queue[i]) + PG_SEPARATOR_LEN;
    char *batch = malloc(total), *p = batch;
    if (!batch)
        return oom(err);
    for (size_t i = 0; i < c->nqueue; i++) {
        size_t n = strlen(c->queue[i]);
        memcpy(p, c->queue[i], n);
        p += n;
        memcpy(p, PG_SEPARATOR, PG_SEPARATOR_LEN);
        p += PG_SEPARATOR_LEN;
    }
    *p = '\0';
    int rc = 0;
    size_t failed_at = SIZE_MAX; /* the statement that failed, if one did */
    if (!PQsendQuery(c->pg, batch)) {
        rc = fail_connection(c, c->queue[0], err);
        failed_at = 0;
    } else {
        size_t i = 0;
        PGresult *res;
        while ((res = PQgetResult(c->pg))) {
            ExecStatusType status = PQresultStatus(res);
            if (rc == 0 && status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK &&
                status != PGRES_EMPTY_QUERY) {
                rc = fail_in_batch(c, res, i, err);
                failed_at = i;
            } else if (rc == 0 && row && status == PGRES_TUPLES_OK && i + 1 == c->nqueue) {
                rc = deliver_rows(res, row, ctx, err);
            }
            PQclear(res);
            i++;
        }
    }
    free(batch);
    bool in_lock = failed_at < c->lock_pending;
    c->lock_pending = 0;
    clear_queue(c);
    return in_lock ? lock_failed(c, rc, err) : rc;
}

static int flush(pq_conn *c, pm_error *err)
{
    return flush_rows(c, NULL, NULL, err);
}

/* Outside a transaction each statement goes alone: several in one string
 * would run as one implicit transaction block, where CREATE INDEX
 * CONCURRENTLY and ALTER TYPE ... ADD VALUE are refused. */
static int flush_one_by_one(pq_conn *c, size_t first, pm_error *err)
{
    int rc = 0;
    for (size_t i = first; i < c->nqueue && rc == 0; i++)
        rc = run_params(c, c->queue[i], NULL, 0, NULL, NULL, err);
    clear_queue(c);
    return rc;
}

/* Whether statements join the batch: from begin() until commit(),
 * rollback() or a read through query(). After such a read the rest of the
 * transaction goes one statement at a time, so a transaction shared with a
 * caller that needs each statement run (or failed) when it is made, as a
 * rollback-mode test database is, works as outside one. A migration's
 * has_table()/has_column() checks send the batch but do not end it. */
static bool batching(const pq_conn *c)
{
    return c->in_transaction && c->batch_open;
}

static int pg_exec(pm_conn *conn, const char *sql, pm_error *err)
{
    pq_conn *c = (pq_conn *)conn;
    bool batch = batching(c);
    size_t before = c->nqueue;
    c->opening = false;
    int rc = pm_sql_split(sql, enqueue_statement, c, err);
    if (rc == PM_ENOMEM)
        rc = oom(err);
    if (rc < 0) {
        while (c->nqueue > before)
            free(c->queue[--c->nqueue]);
        return rc;
    }
    return batch ? 0 : flush_one_by_one(c, before, err);
}

/* A literal quoted by libpq (E'' when the value needs it), malloc'd. */
static char *pg_literal(void *ctx, const char *value)
{
    char *escaped = PQescapeLiteral(((pq_conn *)ctx)->pg, value, strlen(value));
    char *copy = escaped ? strdup(escaped) : NULL;
    PQfreemem(escaped);
    return copy;
}

/* The first read of a transaction goes in one round trip with BEGIN and
 * the statements taking the migration lock (begin_locked()), its
 * parameters inlined as literals quoted by libpq: behind a pooler the
 * string is one transaction's, as before. */
static int query_with_lock(pq_conn *c, const char *sql, const char *const *params, size_t nparams,
                           pm_row_fn row, void *ctx, pm_error *err)
{
    char *inlined = pm_sql_inline_params(sql, params, nparams, pg_literal, c);
    int rc = inlined ? enqueue_copy(c, inlined, strlen(inlined)) : PM_ENOMEM;
    free(inlined);
    if (rc < 0) {
        clear_queue(c);
        c->lock_pending = 0;
        return oom(err);
    }
    return flush_rows(c, row, ctx, err);
}

static int pg_query(pm_conn *conn, const char *sql, const char *const *params, size_t nparams,
                    pm_row_fn row, void *ctx, pm_error *err)
{
    pq_conn *c = (pq_conn *)conn;
    if (batching(c) && !row) { /* e.g. the history row: joins the batch */
        c->opening = false;
        char *inlined = pm_sql_inline_params(sql, params, nparams, pg_literal, c);
        int rc = inlined ? enqueue_copy(c, inlined, strlen(inlined)) : PM_ENOMEM;
        free(inlined);
        return rc < 0 ? oom(err) : 0;
    }
    if (row && !c->opening)
        c->batch_open = false;
    if (row && c->lock_pending) /* e.g. the history re-read under the lock */
        return query_with_lock(c, sql, params, nparams, row, ctx, err);
    int rc = flush(c, err);
    return rc < 0 ? rc : run_params(c, sql, params, nparams, row, ctx, err);
}

/* ==== Transactions ==== */

static int pg_rollback(pm_conn *conn, pm_error *err);

/* Queues BEGIN with the statements that take the migration lock: they go
 * with the transaction's first read (the engine's history re-read under
 * the lock, query_with_lock()) or its batch, whichever comes first, so the
 * lock costs no round trip of its own; the server runs them first and
 * waits for the lock before anything after them. */
static int begin_locked(pq_conn *c, pm_error *err)
{
    char *sql = pm_driver_lock_transaction_sql(&c->base, c->lock_key, c->lock_timeout_ms);
    if (!sql)
        return oom(err);
    int rc = pm_sql_split(sql, enqueue_statement, c, err);
    free(sql);
    if (rc < 0) {
        clear_queue(c);
        c->in_transaction = c->batch_open = false;
        return rc == PM_ENOMEM ? oom(err) : rc;
    }
    c->lock_pending = c->nqueue;
    c->opening = true;
    return 0;
}

/* A statement taking the migration lock failed (rc, in err): the
 * transaction is rolled back and the failure reported as the lock's
 * (its timeout names the holder, a signal is an interruption). */
static int lock_failed(pq_conn *c, int rc, pm_error *err)
{
    pm_error ignored = PM_ERROR_INIT;
    pg_rollback(&c->base, &ignored);
    pm_error_clear(&ignored);
    return pm_driver_lock_transaction_failed(&c->base, c->lock_key, c->lock_timeout_ms,
                                             &c->cancelled, rc, err);
}

static int pg_begin(pm_conn *conn, pm_error *err)
{
    pq_conn *c = (pq_conn *)conn;
    int rc = flush(c, err);
    if (rc < 0)
        return rc;
    if (enqueue_copy(c, "BEGIN", 5) < 0)
        return oom(err);
    c->in_transaction = true;
    c->batch_open = true;
    c->opening = false;
    if (*c->lock_key && pm_driver_locks_per_transaction(conn))
        return begin_locked(c, err);
    return 0;
}

static int pg_commit(pm_conn *conn, pm_error *err)
{
    pq_conn *c = (pq_conn *)conn;
    if (enqueue_copy(c, "COMMIT", 6) < 0)
        return oom(err);
    c->in_transaction = false;
    c->batch_open = false;
    c->opening = false;
    return flush(c, err);
}

static int pg_rollback(pm_conn *conn, pm_error *err)
{
    pq_conn *c = (pq_conn *)conn;
    clear_queue(c); /* never sent: nothing to undo */
    c->lock_pending = 0;
    c->in_transaction = false;
    c->batch_open = false;
    c->opening = false;
    if (PQtransactionStatus(c->pg) == PQTRANS_IDLE)
        return 0;
    return run_params(c, "ROLLBACK", NULL, 0, NULL, NULL, err);
}

/* ==== The migration lock ==== */

/* Finds the key of the backend's advisory lock (pm_driver_lock()), which
 * begin() then takes in each transaction; nothing is held by the session. */
static int pg_lock(pm_conn *conn, int timeout_ms, pm_error *err)
{
    pq_conn *c = (pq_conn *)conn;
    c->lock_timeout_ms = timeout_ms;
    return pm_driver_lock(conn, timeout_ms, c->lock_key, sizeof(c->lock_key), &c->cancelled, err);
}

static int pg_unlock(pm_conn *conn, pm_error *err)
{
    pq_conn *c = (pq_conn *)conn;
    if (!*c->lock_key)
        return 0;
    int rc = pg_rollback(conn, err); /* never unlock inside an open transaction */
    if (rc == 0)
        return pm_driver_unlock(conn, c->lock_key, err);
    c->lock_key[0] = '\0';
    return rc;
}

/* ==== Catalog ==== */

/* A migration's check: it sends the batch, which then goes on (one extra
 * round trip per check). */
static int check_exists(pm_conn *conn, const char *sql, const char *const *params, size_t nparams,
                        bool *out, pm_error *err)
{
    pq_conn *c = (pq_conn *)conn;
    bool open = c->batch_open;
    int rc = pm_driver_row_exists(conn, sql, params, nparams, out, err);
    c->batch_open = open;
    return rc;
}

static int pg_has_table(pm_conn *conn, const char *table, bool *out, pm_error *err)
{
    const char *params[] = {table};
    return check_exists(conn, pm_backend_postgres.has_table, params, 1, out, err);
}

static int pg_has_column(pm_conn *conn, const char *table, const char *column, bool *out,
                         pm_error *err)
{
    const char *params[] = {table, column};
    return check_exists(conn, pm_backend_postgres.has_column, params, 2, out, err);
}

/* Whether the server holds a transaction open for us (for rollback-mode
 * test databases, whose tests use the PGconn directly). */
static bool pg_in_transaction(pm_conn *conn)
{
    PGTransactionStatusType status = PQtransactionStatus(((pq_conn *)conn)->pg);
    return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

static void *pg_native_handle(pm_conn *conn)
{
    return ((pq_conn *)conn)->pg;
}

/* From a signal handler: PQcancel is async-signal-safe with a PGcancel made
 * beforehand. */
static void pg_cancel(pm_conn *conn)
{
    pq_conn *c = (pq_conn *)conn;
    char errbuf[256];
    c->cancelled = 1;
    if (c->cancel)
        PQcancel(c->cancel, errbuf, sizeof(errbuf));
}

/* ==== Adopting the program's PGconn ==== */

/* A malloc'd printf, or NULL. */
static char *format(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

static char *format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s) {
        va_start(ap, fmt);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    return s;
}

/* The URL of what the handle reaches, from libpq's view of it: user, host
 * (a socket directory goes in ?host=), port and database; no password. */
static char *describe(PGconn *pg)
{
    const char *user = PQuser(pg), *host = PQhost(pg), *port = PQport(pg), *db = PQdb(pg);
    user = user ? user : "";
    host = host ? host : "";
    port = port ? port : "";
    db = db ? db : "";
    if (host[0] == '/')
        return format("postgresql://%s@/%s?host=%s%s%s", user, db, host, *port ? "&port=" : "",
                      port);
    bool ipv6 = strchr(host, ':') != NULL;
    return format("postgresql://%s@%s%s%s%s%s/%s", user, ipv6 ? "[" : "", host, ipv6 ? "]" : "",
                  *port ? ":" : "", port, db);
}

static int take_text(void *ctx, size_t ncolumns, const char *const *values)
{
    char **out = ctx;
    free(*out);
    *out = ncolumns && values[0] ? strdup(values[0]) : NULL;
    return *out ? 0 : PM_ENOMEM;
}

/* A connection poblysh opens ignores NOTICEs in its notice processor; an
 * adopted one keeps the program's processor, so the server is asked not to
 * send them ("table does not exist, skipping"), and give_back() sets the
 * program's level again. */
static int quiet_notices(pq_conn *c, pm_error *err)
{
    int rc = run_params(c, "SELECT current_setting('client_min_messages')", NULL, 0, take_text,
                        &c->saved_min_messages, err);
    if (rc == PM_ENOMEM || (rc == 0 && !c->saved_min_messages))
        return oom(err);
    return rc < 0 ? rc
                  : run_params(c, "SET client_min_messages = warning", NULL, 0, NULL, NULL, err);
}

/* An adopted PGconn as the program gave it, when it is idle (poblysh
 * leaves no transaction open; the program's own is not ours to touch). */
static void give_back(pq_conn *c)
{
    if (!c->saved_min_messages || PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        return;
    const char *params[] = {c->saved_min_messages};
    run_params(c, "SELECT set_config('client_min_messages', $1, false)", params, 1, NULL, NULL,
               NULL);
}

static int pg_adopt(pm_conn **out, void *native, char **described, pm_error *err)
{
    PGconn *pg = native;
    *described = NULL;
    int rc = pm_pq_load(err);
    if (rc < 0)
        return rc;
    if (PQstatus(pg) != CONNECTION_OK) {
        char *message = one_line(PQerrorMessage(pg));
        rc = pm_error_set(err, PM_EINVAL, "cannot adopt the PGconn: it is not connected%s%s",
                          message && *message ? ": " : "", message ? message : "");
        free(message);
        return rc;
    }
    if (PQtransactionStatus(pg) != PQTRANS_IDLE)
        return pm_error_set(err, PM_EINVAL,
                            "cannot adopt the PGconn: it has a transaction open or a command "
                            "running (finish it first)");
    pq_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return oom(err);
    c->pg = pg;
    c->adopted = true; /* from here on close() gives pg back, never PQfinish() */
    c->base.backend = &pm_backend_postgres;
    c->base.flags = pm_backend_postgres.conn_flags;
    c->cancel = PQgetCancel(pg);
    note_read_only(c);
    rc = quiet_notices(c, err);
    if (rc == 0 && !(*described = describe(pg)))
        rc = oom(err);
    if (rc < 0) {
        pg_close(&c->base);
        return rc;
    }
    *out = &c->base;
    return 0;
}

int pm_db_adopt_postgres(pm_db **out, struct pg_conn *handle, pm_error *err)
{
    return pm_db_adopt(out, "postgres", handle, err);
}

static const pm_backend *pg_backend_of(const pm_url *url, unsigned int *conn_flags)
{
    (void)url;
    *conn_flags = pm_backend_postgres.conn_flags;
    return &pm_backend_postgres;
}

/* ==== Connection strings, as libpq reads them ==== */

/* Whether text holds a word a password key is made of: libpq's messages
 * about a string it refuses may quote a piece of it, so they are shown only
 * when no password can be in it. */
static bool mentions_password(const char *text)
{
    static const char *const words[] = {"pass", "pwd"};
    for (const char *p = text; *p; p++)
        for (size_t w = 0; w < PM_ARRAY_LEN(words); w++) {
            size_t n = strlen(words[w]), i = 0;
            while (i < n && p[i] && (p[i] | 0x20) == words[w][i])
                i++;
            if (i == n)
                return true;
        }
    return false;
}

static void explain_refusal(const char *text, const char *libpq_message, pm_error *why)
{
    char *message = libpq_message ? one_line(libpq_message) : NULL;
    if (message && *message && !mentions_password(text))
        pm_error_set(why, PM_EURL, "libpq: %s", message);
    else
        pm_error_set(why, PM_EURL,
                     "libpq refuses it (its message is withheld: the text may "
                     "hold a password)");
    free(message);
}

/* Appends value as a key=value string writes it at out, returning the
 * end: quoted when empty or holding a blank, a quote or a backslash, which
 * are then escaped. Needs at most 2 * strlen(value) + 2 bytes. */
static char *put_value(char *out, const char *value)
{
    bool plain = *value && !value[strcspn(value, " \t\n\r\f\v'\\")];
    if (!plain)
        *out++ = '\'';
    for (const char *p = value; *p; p++) {
        if (!plain && (*p == '\'' || *p == '\\'))
            *out++ = '\\';
        *out++ = *p;
    }
    if (!plain)
        *out++ = '\'';
    return out;
}

static bool is_secret_option(const PQconninfoOption *o)
{
    return o->val && *o->val && o->dispchar && o->dispchar[0] == '*';
}

/* The options libpq read, as a key=value string with every secret
 * (dispchar "*", libpq's own mark for "hide this value") as ***. */
static char *show_options(const PQconninfoOption *options)
{
    size_t size = 1;
    for (const PQconninfoOption *o = options; o->keyword; o++)
        if (o->val)
            size += strlen(o->keyword) + 2 * strlen(o->val) + 6;
    char *shown = malloc(size), *out = shown;
    if (!shown)
        return NULL;
    for (const PQconninfoOption *o = options; o->keyword; o++) {
        if (!o->val)
            continue;
        out += sprintf(out, "%s%s=", out > shown ? " " : "", o->keyword);
        out = is_secret_option(o) ? out + sprintf(out, "***") : put_value(out, o->val);
    }
    *out = '\0';
    return shown;
}

static int pg_conninfo(const char *text, pm_secret_fn secret, void *ctx, char **shown,
                       pm_error *why)
{
    if (shown)
        *shown = NULL;
    pm_error unused = PM_ERROR_INIT;
    int rc = pm_pq_load(why ? why : &unused);
    pm_error_clear(&unused);
    if (rc < 0)
        return 0; /* without libpq nothing is read as libpq would */
    char *message = NULL;
    PQconninfoOption *options = PQconninfoParse(text, &message);
    if (!options) {
        if (!message)
            return PM_ENOMEM;
        explain_refusal(text, message, why);
        PQfreemem(message);
        return 0;
    }
    for (const PQconninfoOption *o = options; rc == 0 && o->keyword; o++)
        if (secret && is_secret_option(o))
            rc = secret(ctx, o->val);
    if (rc == 0 && shown && !(*shown = show_options(options)))
        rc = PM_ENOMEM;
    PQconninfoFree(options);
    return rc < 0 ? rc : 1;
}

static const char *const postgres_schemes[] = {"postgres", "postgresql", NULL};

const pm_driver pm_driver_postgres = {
    .version = PM_DRIVER_VERSION,
    .name = "postgres",
    .schemes = postgres_schemes,
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .query = pg_query,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .lock = pg_lock,
    .unlock = pg_unlock,
    .has_table = pg_has_table,
    .has_column = pg_has_column,
    .native_handle = pg_native_handle,
    .cancel = pg_cancel,
    .in_transaction = pg_in_transaction,
    .backend_of = pg_backend_of,
    .adopt = pg_adopt,
    .conninfo = pg_conninfo,
};
