/* fleet.c: one command over many databases (fleet.h). The calling thread
 * schedules and watches for pm_fleet_interrupt(); worker threads take the
 * next target under the run's lock, open it, run the engine on it without
 * the lock and publish its result under the lock. The progress callback is
 * called under a lock of its own, never under the run's, so a callback
 * blocked on its output never stops an interrupt. Each target has its own connection and engine, so
 * its own migration lock: fleets run side by side apply a migration once. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleet_internal.h"

/* How often the scheduling thread looks at the interrupt flag. */
#define FLEET_POLL_MS 50

/* A verification shared by the targets of one server (PM_FLEET_VERIFY). */
typedef enum verify_state { VERIFY_NONE, VERIFY_RUNNING, VERIFY_DONE } verify_state;

typedef struct verify_group {
    verify_state state;
    int rc;
    size_t problems;
    pm_error error;
    const char *leader; /* the name of the target that verified */
} verify_group;

/* One run: the state the workers share, under lock. */
typedef struct fleet_run {
    pm_fleet *fleet;
    pm_fleet_action action;
    pthread_mutex_t lock;
    pthread_cond_t changed;        /* on CLOCK_MONOTONIC */
    pthread_mutex_t callback_lock; /* one progress or waiting call at a time */
    size_t next;                   /* the next target to start */
    size_t canary_end;             /* targets before it are canaries */
    size_t canaries_ok;
    bool canaries_passed;
    bool stopping;
    size_t ok, failed, running, waiting;
    size_t live_workers;
    verify_group *groups; /* PM_FLEET_VERIFY: by the index of each group's first target */
} fleet_run;

/* What a target's run found, kept by its worker and published under the
 * run's lock when it ends. */
typedef struct target_work {
    size_t applied, pending, problems;
    const char *verified_by;
    pm_status *status;
    bool db_interrupted; /* a connection of the target said it was interrupted */
} target_work;

/* Events made under the run's lock (their counts a snapshot of that
 * moment), delivered after it is released. */
#define MAX_QUEUED_EVENTS 3

typedef struct event_queue {
    pm_fleet_event events[MAX_QUEUED_EVENTS];
    size_t n;
} event_queue;

/* ==== Small helpers ==== */

const char *pm_fleet_outcome_name(pm_fleet_outcome outcome)
{
    switch (outcome) {
    case PM_FLEET_WAITING: return "waiting";
    case PM_FLEET_RUNNING: return "running";
    case PM_FLEET_OK: return "ok";
    case PM_FLEET_FAILED: return "failed";
    case PM_FLEET_INTERRUPTED: return "interrupted";
    case PM_FLEET_NOT_STARTED: return "not started";
    }
    return "?";
}

/* A deep copy of from into to (cleared first). */
static void copy_error(pm_error *to, const pm_error *from)
{
    pm_error_clear(to);
    to->code = from->code;
    to->message = pm__strdup(from->message);
    to->db_code = pm__strdup(from->db_code);
    to->detail = pm__strdup(from->detail);
    to->hint = pm__strdup(from->hint);
    to->migration = pm__strdup(from->migration);
    to->statement = pm__strdup(from->statement);
    to->position = from->position;
}

/* ==== Creating and freeing ==== */

static int check_options(const pm_fleet_options *opts, pm_error *err)
{
    if (opts->version != PM_FLEET_OPTIONS_VERSION)
        return pm_error_set(err, PM_EINVAL,
                            "pm_fleet_new: pm_fleet_options version %u (this build knows %d)",
                            opts->version, PM_FLEET_OPTIONS_VERSION);
    if (opts->jobs > PM_FLEET_MAX_JOBS)
        return pm_error_set(err, PM_EINVAL, "pm_fleet_new: %u jobs (at most %d)", opts->jobs,
                            PM_FLEET_MAX_JOBS);
    if (opts->db && (opts->db->version < 1 || opts->db->version > PM_DB_OPTIONS_VERSION))
        return pm_error_set(err, PM_EINVAL, "pm_fleet_new: pm_db_options version %u",
                            opts->db->version);
    if (opts->engine &&
        (opts->engine->version < 1 || opts->engine->version > PM_ENGINE_OPTIONS_VERSION))
        return pm_error_set(err, PM_EINVAL, "pm_fleet_new: pm_engine_options version %u",
                            opts->engine->version);
    return 0;
}

/* The engine options every target gets: the caller's, upgraded to this
 * version's layout (a version 1 struct has no timeouts: their defaults). */
static void copy_engine_options(pm_engine_options *to, const pm_engine_options *from)
{
    pm_engine_options defaults = PM_ENGINE_OPTIONS_INIT;
    *to = defaults;
    if (!from)
        return;
    to->lock_timeout_seconds = from->lock_timeout_seconds;
    to->flags = from->flags;
    if (from->version >= 2) {
        to->ddl_lock_timeout_ms = from->ddl_lock_timeout_ms;
        to->statement_timeout_ms = from->statement_timeout_ms;
        to->ddl_retries = from->ddl_retries;
    }
}

static void copy_db_options(pm_db_options *to, const pm_db_options *from)
{
    pm_db_options defaults = PM_DB_OPTIONS_INIT;
    *to = defaults;
    if (!from)
        return;
    to->wait_seconds = from->wait_seconds;
    if (from->version >= 2)
        to->flags = from->flags;
    if (from->version >= 3) {
        to->waiting = from->waiting;
        to->waiting_ctx = from->waiting_ctx;
    }
}

int pm_fleet_new(pm_fleet **out, const pm_migration *const *set, size_t count,
                 const pm_fleet_options *opts, pm_error *err)
{
    if (!out)
        return pm_error_set(err, PM_EINVAL, "pm_fleet_new: out is NULL");
    *out = NULL;
    pm_fleet_options defaults = PM_FLEET_OPTIONS_INIT;
    if (!opts)
        opts = &defaults;
    int rc = check_options(opts, err);
    if (rc == 0)
        rc = pm_migration_set_check(set, count, err);
    if (rc < 0)
        return rc;
    pm_fleet *fleet = calloc(1, sizeof(*fleet));
    if (!fleet)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    fleet->set = set;
    fleet->count = count;
    fleet->opts = *opts;
    if (fleet->opts.jobs == 0)
        fleet->opts.jobs = PM_FLEET_DEFAULT_JOBS;
    copy_engine_options(&fleet->engine, opts->engine);
    copy_db_options(&fleet->db, opts->db);
    *out = fleet;
    return 0;
}

void pm_fleet_free(pm_fleet *fleet)
{
    if (!fleet)
        return;
    pm__fleet_rollback(fleet, 0);
    free(fleet->targets);
    free(fleet);
}

size_t pm_fleet_size(const pm_fleet *fleet)
{
    return fleet ? fleet->ntargets : 0;
}

const pm_fleet_result *pm_fleet_result_at(const pm_fleet *fleet, size_t index)
{
    if (!fleet || index >= fleet->ntargets)
        return NULL;
    /* names are settled once per change of the list (pm_fleet_run() does
     * it before any thread starts, so this never writes during a run) */
    pm__fleet_settle_names((pm_fleet *)fleet);
    return &fleet->targets[index]->result;
}

void pm_fleet_interrupt(pm_fleet *fleet)
{
    if (!fleet)
        return;
    atomic_store(&fleet->interrupt_requested, 1);
    fleet->interrupt_flag = 1; /* for pm_db_options.interrupt */
}

bool pm__fleet_interrupted(const pm_fleet *fleet)
{
    return atomic_load(&((pm_fleet *)fleet)->interrupt_requested) != 0;
}

/* ==== Progress: counted under the run's lock, called under the callback lock ==== */

/* The event with the counts of this moment; the caller holds run->lock. */
static pm_fleet_event snapshot(const fleet_run *run, pm_fleet_event_kind kind,
                               const pm_fleet_result *result, const pm_event *event)
{
    pm_fleet_event ev = {kind,        result,       event,        run->ok,
                         run->failed, run->running, run->waiting, run->fleet->ntargets};
    return ev;
}

/* Queues an event for deliver(); the caller holds run->lock. */
static void queue_event(const fleet_run *run, event_queue *q, pm_fleet_event_kind kind,
                        const pm_fleet_result *result)
{
    if (q->n < MAX_QUEUED_EVENTS)
        q->events[q->n++] = snapshot(run, kind, result, NULL);
}

/* Calls the fleet's progress with each event, one call at a time; the
 * caller does not hold run->lock. */
static void deliver(fleet_run *run, event_queue *q)
{
    const pm_fleet_options *o = &run->fleet->opts;
    if (o->progress && q->n) {
        pthread_mutex_lock(&run->callback_lock);
        for (size_t i = 0; i < q->n; i++)
            o->progress(&q->events[i], o->progress_ctx);
        pthread_mutex_unlock(&run->callback_lock);
    }
    q->n = 0;
}

/* Stops scheduling, once; the caller holds run->lock. */
static void stop_scheduling(fleet_run *run, event_queue *q, const pm_fleet_result *why)
{
    if (run->stopping)
        return;
    run->stopping = true;
    queue_event(run, q, PM_FLEET_STOPPING, why);
    pthread_cond_broadcast(&run->changed);
}

typedef struct engine_relay {
    fleet_run *run;
    const pm_fleet_result *result;
} engine_relay;

static void relay_engine_event(const pm_event *event, void *ctx)
{
    engine_relay *r = ctx;
    const pm_fleet_options *o = &r->run->fleet->opts;
    if (!o->progress)
        return;
    pthread_mutex_lock(&r->run->lock);
    pm_fleet_event ev = snapshot(r->run, PM_FLEET_MIGRATION, r->result, event);
    pthread_mutex_unlock(&r->run->lock);
    pthread_mutex_lock(&r->run->callback_lock);
    o->progress(&ev, o->progress_ctx);
    pthread_mutex_unlock(&r->run->callback_lock);
}

/* ==== One target's connection ==== */

/* Registers db as t's connection for pm_fleet_interrupt() (NULL: none any
 * more); a run interrupted meanwhile interrupts it at once. */
static void register_db(fleet_run *run, pm__fleet_target *t, pm_db *db)
{
    pthread_mutex_lock(&run->lock);
    t->db = db;
    if (db && pm__fleet_interrupted(run->fleet))
        pm_db_interrupt(db);
    pthread_mutex_unlock(&run->lock);
}

typedef struct waiting_relay {
    fleet_run *run;
    const pm__fleet_target *target;
} waiting_relay;

/* The caller's pm_db_options.waiting, serialised with the progress
 * callback, its why prefixed by the target's name. */
static void relay_waiting(void *ctx, int attempt, double elapsed, int wait_seconds, const char *why)
{
    waiting_relay *r = ctx;
    const pm_db_options *o = &r->run->fleet->db;
    char *named = pm__format("%s: %s", r->target->result.name, why ? why : "?");
    pthread_mutex_lock(&r->run->callback_lock);
    o->waiting(o->waiting_ctx, attempt, elapsed, wait_seconds, named ? named : why);
    pthread_mutex_unlock(&r->run->callback_lock);
    free(named);
}

/* Opens url for t, registered; flags added to the fleet's own. */
static int open_target_db(fleet_run *run, pm__fleet_target *t, const char *url, unsigned int flags,
                          pm_db **out, pm_error *err)
{
    pm_db_options opts = run->fleet->db;
    waiting_relay relay = {run, t};
    opts.flags |= flags;
    opts.interrupt = &run->fleet->interrupt_flag;
    if (opts.waiting) {
        opts.waiting = relay_waiting;
        opts.waiting_ctx = &relay;
    }
    int rc = pm_db_open(out, url, &opts, err);
    if (rc == 0)
        register_db(run, t, *out);
    return rc;
}

/* Closes db, noting in work whether it had been interrupted. */
static void close_target_db(fleet_run *run, pm__fleet_target *t, pm_db *db, target_work *work)
{
    if (!db)
        return;
    register_db(run, t, NULL);
    if (pm_db_interrupted(db))
        work->db_interrupted = true;
    pm_db_close(db);
}

static bool schema_exists(pm_db *db, const char *schema)
{
    const char *sql = PM__BACKEND_HAS(pm__db_backend(db), 6, schema_exists);
    const char *params[] = {schema};
    bool found = false;
    pm_error ignored = PM_ERROR_INIT;
    if (sql)
        pm__db_query(db, sql, params, 1, pm__note_found, &found, &ignored);
    pm_error_clear(&ignored);
    return found;
}

/* Creates t's schema when missing, where the backend says how (UP only).
 * Another run creating it at the same moment is no failure. */
static int create_schema(pm_db *db, const char *schema, pm_error *err)
{
    const char *fmt = PM__BACKEND_HAS(pm__db_backend(db), 7, schema_create);
    if (!fmt || schema_exists(db, schema))
        return 0; /* without it pm_db_use_schema() says why the engine has none */
    int rc = pm__db_exec_ident(db, fmt, schema, err);
    if (rc < 0 && rc != PM_ENOMEM && rc != PM_EINTERRUPTED && !pm_db_interrupted(db) &&
        schema_exists(db, schema)) {
        pm_error_clear(err);
        rc = 0;
    }
    return rc;
}

/* ==== One target's action ==== */

static size_t count_pending(const pm_status *s)
{
    return pm_status_count_state(s, PM_STATE_PENDING) +
           pm_status_count_state(s, PM_STATE_OUT_OF_ORDER);
}

/* Whether every migration of the status is APPLIED: nothing pending,
 * failed, modified or missing, so up has nothing to do or refuse. */
static bool all_applied(const pm_status *s)
{
    return pm_status_count_state(s, PM_STATE_APPLIED) == pm_status_count(s);
}

/* Up; a target already up to date costs one history read, no more. */
static int run_up(target_work *work, pm_engine *engine, size_t max, pm_error *err)
{
    pm_status *before = NULL;
    int rc = pm_engine_status(engine, &before, err);
    if (rc < 0)
        return rc;
    size_t pending = count_pending(before);
    work->pending = max < pending ? max : pending;
    bool nothing_to_do = all_applied(before);
    pm_status_free(before);
    return nothing_to_do ? 0 : pm_engine_up(engine, max, &work->applied, err);
}

static int run_status(target_work *work, pm_engine *engine, pm_error *err)
{
    int rc = pm_engine_status(engine, &work->status, err);
    if (rc == 0) {
        work->applied = pm_status_count_state(work->status, PM_STATE_APPLIED) +
                        pm_status_count_state(work->status, PM_STATE_MODIFIED);
        work->pending = count_pending(work->status);
    }
    return rc;
}

static int run_action(fleet_run *run, target_work *work, pm_engine *engine, pm_error *err)
{
    size_t count = run->fleet->opts.count;
    switch (run->action) {
    case PM_FLEET_UP: return run_up(work, engine, count ? count : PM_ALL, err);
    case PM_FLEET_DOWN: return pm_engine_down(engine, count ? count : 1, &work->applied, err);
    case PM_FLEET_STATUS: return run_status(work, engine, err);
    case PM_FLEET_VERIFY: break;
    }
    return pm_error_set(err, PM_EINVAL, "pm_fleet_run: unknown action");
}

/* An engine on db with the fleet's options, its events relayed. */
static int new_engine(fleet_run *run, engine_relay *relay, pm_db *db, pm_engine **out,
                      pm_error *err)
{
    pm_engine_options opts = run->fleet->engine;
    opts.progress = relay_engine_event;
    opts.progress_ctx = relay;
    return pm_engine_new(out, db, run->fleet->set, run->fleet->count, &opts, err);
}

/* Opens t, chooses its schema, runs the action, closes it. */
static int run_on_target(fleet_run *run, pm__fleet_target *t, target_work *work, pm_error *err)
{
    bool up = run->action == PM_FLEET_UP;
    pm_db *db = NULL;
    pm_engine *engine = NULL;
    engine_relay relay = {run, &t->result};
    int rc = open_target_db(run, t, t->url, up ? 0 : PM_DB_OPEN_EXISTING, &db, err);
    if (rc == 0 && t->schema && up)
        rc = create_schema(db, t->schema, err);
    if (rc == 0 && t->schema)
        rc = pm_db_use_schema(db, t->schema, err);
    if (rc == 0)
        rc = new_engine(run, &relay, db, &engine, err);
    if (rc == 0)
        rc = run_action(run, work, engine, err);
    pm_engine_free(engine);
    close_target_db(run, t, db, work);
    return rc;
}

/* ==== Verify: once per server ==== */

/* A URL of an ephemeral database of url's driver. The driver interface has
 * no member naming one yet, so this is the one place that knows the
 * convention every ephemeral-capable driver shares ("<scheme>::memory:",
 * as pm__db_open_image() names its connections); it is only reached for
 * URLs whose capabilities have no scratch database. malloc'd. */
static char *ephemeral_url(const char *url)
{
    pm_url *parsed = NULL;
    pm_error ignored = PM_ERROR_INIT;
    char *out = NULL;
    if (pm_url_parse(&parsed, url, &ignored) == 0) {
        const pm_driver *driver = pm__driver_find(parsed->scheme);
        out = driver ? pm__format("%s::memory:", driver->schemes[0]) : NULL;
    }
    pm_url_free(parsed);
    pm_error_clear(&ignored);
    return out;
}

/* The key of the server t is verified on: the URL naming another
 * database where the URL's capabilities include scratch databases, else
 * (PM_CAP_EPHEMERAL is possible: SQLite) an ephemeral database of the
 * driver (ephemeral_url()). *ephemeral tells which. malloc'd. */
static char *verify_key(const char *url, bool *ephemeral)
{
    unsigned int caps = 0;
    pm_error ignored = PM_ERROR_INIT;
    bool known = pm_url_capabilities(url, &caps, &ignored) == 0;
    pm_error_clear(&ignored);
    *ephemeral = known && !(caps & PM_CAP_SCRATCH_DATABASE);
    return *ephemeral ? ephemeral_url(url) : pm__url_with_database(url, "pm_fleet_verify");
}

static void note_verified(const char *migration, pm_verify_result result, const char *detail,
                          void *ctx)
{
    (void)migration, (void)result, (void)detail, (void)ctx;
}

/* pm_engine_verify() on a database url reaches (already empty). */
static int verify_in(fleet_run *run, pm__fleet_target *t, const char *url, target_work *work,
                     size_t *problems, pm_error *err)
{
    pm_db *db = NULL;
    pm_engine *engine = NULL;
    engine_relay relay = {run, &t->result};
    int rc = open_target_db(run, t, url, 0, &db, err);
    if (rc == 0 && !(pm_db_capabilities(db) & (PM_CAP_EPHEMERAL | PM_CAP_SCRATCH_DATABASE)))
        rc = pm_error_set(err, PM_EUNSUPPORTED, "cannot verify on the server of %s", pm_db_url(db));
    if (rc == 0)
        rc = new_engine(run, &relay, db, &engine, err);
    if (rc == 0)
        rc = pm_engine_verify(engine, note_verified, NULL, problems, err);
    pm_engine_free(engine);
    close_target_db(run, t, db, work);
    return rc;
}

/* Verifies on t's server: in a scratch database made through t's own
 * connection and dropped after, or in memory. */
static int verify_server(fleet_run *run, pm__fleet_target *t, target_work *work, size_t *problems,
                         pm_error *err)
{
    bool ephemeral = false;
    char *key = verify_key(t->url, &ephemeral);
    if (!key)
        return pm_error_set(err, PM_EURL, "cannot name a scratch database on the server of %s",
                            t->redacted);
    if (ephemeral) {
        int rc = verify_in(run, t, key, work, problems, err);
        free(key);
        return rc;
    }
    free(key);
    pm_db *admin = NULL;
    char *name = NULL, *scratch_url = NULL;
    int rc = open_target_db(run, t, t->url, PM_DB_OPEN_EXISTING, &admin, err);
    if (rc == 0)
        rc = pm_db_scratch_database_create(admin, t->url, &name, &scratch_url, err);
    if (rc == 0) {
        register_db(run, t, NULL); /* the scratch connection is the one to interrupt */
        rc = verify_in(run, t, scratch_url, work, problems, err);
    }
    pm_error dropped = PM_ERROR_INIT;
    if (name && pm_db_scratch_database_drop(admin, name, &dropped) < 0 && rc == 0)
        rc = (copy_error(err, &dropped), dropped.code);
    pm_error_clear(&dropped);
    free(name);
    free(scratch_url);
    close_target_db(run, t, admin, work);
    return rc;
}

/* Opens t's own database once and closes it: a target that does not exist
 * (a mistyped SQLite path, a missing database) fails its verify even when
 * another target verifies its server. */
static int check_target_exists(fleet_run *run, pm__fleet_target *t, target_work *work,
                               pm_error *err)
{
    pm_db *db = NULL;
    int rc = open_target_db(run, t, t->url, PM_DB_OPEN_EXISTING, &db, err);
    if (rc == 0 && t->schema)
        rc = pm_db_use_schema(db, t->schema, err);
    close_target_db(run, t, db, work);
    return rc;
}

/* Verifies t's server, or waits for the target verifying it and takes its
 * result; t's own database is opened first either way. */
static int run_verify(fleet_run *run, pm__fleet_target *t, target_work *work, pm_error *err)
{
    int checked = check_target_exists(run, t, work, err);
    if (checked < 0)
        return checked;
    verify_group *g = &run->groups[t->group];
    pthread_mutex_lock(&run->lock);
    bool lead = g->state == VERIFY_NONE;
    if (lead) {
        g->state = VERIFY_RUNNING;
        g->leader = t->result.name;
    }
    while (!lead && g->state != VERIFY_DONE)
        pthread_cond_wait(&run->changed, &run->lock);
    pthread_mutex_unlock(&run->lock);
    if (lead) {
        size_t problems = 0;
        int rc = verify_server(run, t, work, &problems, err);
        pthread_mutex_lock(&run->lock);
        g->rc = rc;
        g->problems = problems;
        if (rc < 0)
            copy_error(&g->error, err);
        g->state = VERIFY_DONE;
        pthread_cond_broadcast(&run->changed);
        pthread_mutex_unlock(&run->lock);
    } else if (g->rc < 0) {
        copy_error(err, &g->error);
    }
    work->problems = g->problems;
    work->verified_by = g->leader;
    if (g->rc < 0)
        return g->rc;
    if (g->problems)
        return pm_error_set(err, PM_EMIGRATION, "%zu migration%s failed verification (on %s)",
                            g->problems, g->problems == 1 ? "" : "s", g->leader);
    return 0;
}

/* ==== Workers ==== */

/* Whether the next target may start now; the caller holds the lock. */
static bool may_start_next(const fleet_run *run)
{
    return run->next < run->canary_end || run->canaries_passed;
}

/* Publishes how t ended (the caller holds the lock): only an interrupt
 * (PM_EINTERRUPTED, or a connection that says it was interrupted) makes
 * it INTERRUPTED; any other error stays FAILED with its own error. */
static void publish_result(pm__fleet_target *t, int rc, pm_error *err, target_work *work,
                           int64_t elapsed_ms)
{
    pm_fleet_result *r = &t->result;
    r->elapsed_ms = elapsed_ms;
    r->applied = work->applied;
    r->pending = work->pending;
    r->problems = work->problems;
    r->verified_by = work->verified_by;
    t->status = work->status;
    if (rc < 0) {
        t->error = *err;
        r->error = &t->error;
        r->outcome = rc == PM_EINTERRUPTED || err->code == PM_EINTERRUPTED || work->db_interrupted
                         ? PM_FLEET_INTERRUPTED
                         : PM_FLEET_FAILED;
    } else {
        pm_error_clear(err);
        r->outcome = PM_FLEET_OK;
    }
    r->status = r->outcome == PM_FLEET_OK ? t->status : NULL;
}

/* After t ended: its result, counts, events, and whether scheduling goes
 * on; the caller holds the lock. */
static void finish_target(fleet_run *run, pm__fleet_target *t, int rc, pm_error *err,
                          target_work *work, int64_t elapsed_ms, event_queue *q)
{
    publish_result(t, rc, err, work, elapsed_ms);
    pm_fleet_outcome outcome = t->result.outcome;
    run->running--;
    if (outcome == PM_FLEET_OK)
        run->ok++;
    else
        run->failed++;
    queue_event(run, q, PM_FLEET_TARGET_FINISHED, &t->result);
    bool keep_going = (run->fleet->opts.flags & PM_FLEET_KEEP_GOING) != 0;
    bool failed = outcome == PM_FLEET_FAILED;
    /* a canary that did not succeed (even interrupted) stops the run, or
     * the others would wait for it for ever */
    if (outcome != PM_FLEET_OK && (t->result.canary || (failed && !keep_going)))
        stop_scheduling(run, q, failed ? &t->result : NULL);
    if (outcome == PM_FLEET_OK && t->result.canary && ++run->canaries_ok == run->canary_end &&
        !run->stopping) {
        run->canaries_passed = true;
        queue_event(run, q, PM_FLEET_CANARIES_PASSED, NULL);
    }
    pthread_cond_broadcast(&run->changed);
}

/* Runs t without the lock, keeping what it found in locals, then
 * publishes it under the lock; returns with the lock held. */
static void run_target(fleet_run *run, pm__fleet_target *t, event_queue *q)
{
    pm_error err = PM_ERROR_INIT;
    target_work work;
    memset(&work, 0, sizeof(work));
    int64_t start = pm__now_ms();
    int rc = run->action == PM_FLEET_VERIFY ? run_verify(run, t, &work, &err)
                                            : run_on_target(run, t, &work, &err);
    int64_t elapsed_ms = pm__now_ms() - start;
    if (rc < 0 && !err.message)
        pm_error_set(&err, rc, "%s", pm_strerror(rc));
    if (rc < 0 && err.code == 0)
        err.code = rc;
    if (rc < 0 || run->action != PM_FLEET_STATUS) {
        pm_status_free(work.status);
        work.status = NULL;
    }
    pthread_mutex_lock(&run->lock);
    finish_target(run, t, rc, &err, &work, elapsed_ms, q);
}

static void *worker(void *arg)
{
    fleet_run *run = arg;
    pm_fleet *fleet = run->fleet;
    event_queue q = {.n = 0};
    pthread_mutex_lock(&run->lock);
    while (!run->stopping && !pm__fleet_interrupted(fleet) && run->next < fleet->ntargets) {
        if (!may_start_next(run)) {
            pthread_cond_wait(&run->changed, &run->lock);
            continue;
        }
        pm__fleet_target *t = fleet->targets[run->next++];
        t->result.outcome = PM_FLEET_RUNNING;
        run->waiting--;
        run->running++;
        queue_event(run, &q, PM_FLEET_TARGET_STARTED, &t->result);
        pthread_mutex_unlock(&run->lock);
        deliver(run, &q);
        run_target(run, t, &q); /* returns holding the lock */
        pthread_mutex_unlock(&run->lock);
        deliver(run, &q);
        pthread_mutex_lock(&run->lock);
    }
    run->live_workers--;
    pthread_cond_broadcast(&run->changed);
    pthread_mutex_unlock(&run->lock);
    return NULL;
}

/* ==== The run ==== */

/* Interrupts every running target's connection; the caller holds the lock. */
static void interrupt_running(fleet_run *run, event_queue *q)
{
    stop_scheduling(run, q, NULL);
    for (size_t i = 0; i < run->fleet->ntargets; i++)
        if (run->fleet->targets[i]->db)
            pm_db_interrupt(run->fleet->targets[i]->db);
}

/* The calling thread: waits for the workers, watching the interrupt flag. */
static void watch(fleet_run *run)
{
    bool interrupted = false;
    event_queue q = {.n = 0};
    pthread_mutex_lock(&run->lock);
    while (run->live_workers > 0) {
        if (pm__fleet_interrupted(run->fleet) && !interrupted) {
            interrupted = true;
            interrupt_running(run, &q);
            pthread_mutex_unlock(&run->lock);
            deliver(run, &q);
            pthread_mutex_lock(&run->lock);
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += FLEET_POLL_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&run->changed, &run->lock, &until);
    }
    pthread_mutex_unlock(&run->lock);
}

/* PM_FLEET_VERIFY: every target's group, the first target of its server. */
static int make_groups(fleet_run *run, pm_error *err)
{
    pm_fleet *fleet = run->fleet;
    size_t n = fleet->ntargets;
    char **keys = calloc(n, sizeof(*keys));
    run->groups = calloc(n, sizeof(*run->groups));
    int rc = keys && run->groups ? 0 : PM_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        bool ephemeral;
        keys[i] = verify_key(fleet->targets[i]->url, &ephemeral);
        fleet->targets[i]->group = i;
        for (size_t j = 0; keys[i] && j < i; j++) {
            if (keys[j] && strcmp(keys[i], keys[j]) == 0) {
                fleet->targets[i]->group = fleet->targets[j]->group;
                break;
            }
        }
    }
    for (size_t i = 0; keys && i < n; i++)
        free(keys[i]);
    free(keys);
    return rc < 0 ? pm_error_set(err, rc, "out of memory") : 0;
}

static void free_groups(fleet_run *run)
{
    for (size_t i = 0; run->groups && i < run->fleet->ntargets; i++)
        pm_error_clear(&run->groups[i].error);
    free(run->groups);
}

/* Marks the canaries, counts every target waiting. */
static void prepare_targets(fleet_run *run)
{
    pm_fleet *fleet = run->fleet;
    size_t canary = fleet->opts.canary;
    run->canary_end = canary < fleet->ntargets ? canary : fleet->ntargets;
    run->canaries_passed = run->canary_end == 0;
    run->waiting = fleet->ntargets;
    for (size_t i = 0; i < fleet->ntargets; i++)
        fleet->targets[i]->result.canary = i < run->canary_end;
}

/* Starts the workers with every signal blocked (they inherit the mask, so
 * SIGINT and SIGTERM reach the caller's threads only); the run's lock is
 * held so none starts a target before all are counted. Returns how many
 * started; *create_rc is pthread_create()'s code for the first that did not. */
static size_t start_workers(fleet_run *run, pthread_t *threads, size_t n, int *create_rc)
{
    size_t started = 0;
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    pthread_mutex_lock(&run->lock);
    *create_rc = 0;
    for (size_t i = 0; i < n; i++) {
        *create_rc = pthread_create(&threads[i], NULL, worker, run);
        if (*create_rc != 0)
            break;
        started++;
        run->live_workers++;
    }
    pthread_mutex_unlock(&run->lock);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    return started;
}

/* The error of a worker thread that could not start. */
static int thread_error(int create_rc, pm_error *err)
{
    if (create_rc == EAGAIN)
        return pm_error_set(err, PM_ERROR,
                            "cannot start a worker thread: the system's limit on threads or "
                            "processes is reached (%s): try fewer jobs",
                            strerror(create_rc));
    return pm_error_set(err, create_rc == ENOMEM ? PM_ENOMEM : PM_ERROR,
                        "cannot start a worker thread: %s", strerror(create_rc));
}

/* The run's code and err once every target ended. */
static int summarise(const pm_fleet *fleet, pm_error *err)
{
    size_t failed = 0, interrupted = 0, not_started = 0;
    const pm__fleet_target *first = NULL;
    int code = 0;
    bool shared = true;
    for (size_t i = 0; i < fleet->ntargets; i++) {
        const pm__fleet_target *t = fleet->targets[i];
        interrupted += t->result.outcome == PM_FLEET_INTERRUPTED;
        not_started += t->result.outcome == PM_FLEET_NOT_STARTED;
        if (t->result.outcome != PM_FLEET_FAILED)
            continue;
        failed++;
        if (!first) {
            first = t;
            code = t->error.code;
        }
        shared = shared && t->error.code == code;
    }
    size_t total = fleet->ntargets;
    if (pm__fleet_interrupted(fleet) || interrupted)
        return pm_error_set(err, PM_EINTERRUPTED,
                            "interrupted: %zu of %zu targets failed, %zu interrupted, %zu not "
                            "started",
                            failed, total, interrupted, not_started);
    if (!first)
        return 0;
    return pm_error_set(err, shared && code < 0 ? code : PM_ERROR,
                        "%zu of %zu target%s failed; first: %s: %s", failed, total,
                        total == 1 ? "" : "s", first->result.name,
                        first->error.message ? first->error.message : pm_strerror(code));
}

/* The run's locks, and its condition on the monotonic clock, so the
 * interrupt poll never jumps with the wall clock. */
static int init_sync(fleet_run *run, pm_error *err)
{
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc == 0) {
        rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        if (rc == 0)
            rc = pthread_cond_init(&run->changed, &attr);
        pthread_condattr_destroy(&attr);
    }
    if (rc != 0)
        return pm_error_set(err, rc == ENOMEM ? PM_ENOMEM : PM_ERROR,
                            "pm_fleet_run: cannot make a condition variable: %s", strerror(rc));
    pthread_mutex_init(&run->lock, NULL);
    pthread_mutex_init(&run->callback_lock, NULL);
    return 0;
}

static int run_workers(fleet_run *run, pm_error *err)
{
    pm_fleet *fleet = run->fleet;
    size_t n = fleet->opts.jobs < fleet->ntargets ? fleet->opts.jobs : fleet->ntargets;
    pthread_t *threads = calloc(n, sizeof(*threads));
    if (!threads)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    int create_rc = 0;
    size_t started = start_workers(run, threads, n, &create_rc);
    if (started > 0)
        watch(run);
    for (size_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    if (started == 0)
        return thread_error(create_rc, err);
    return 0;
}

int pm_fleet_run(pm_fleet *fleet, pm_fleet_action action, pm_error *err)
{
    if (!fleet)
        return pm_error_set(err, PM_EINVAL, "pm_fleet_run: fleet is NULL");
    if (fleet->ran)
        return pm_error_set(err, PM_EMISUSE, "pm_fleet_run: a fleet runs once");
    if (action < PM_FLEET_UP || action > PM_FLEET_VERIFY)
        return pm_error_set(err, PM_EINVAL, "pm_fleet_run: unknown action %d", (int)action);
    if (fleet->ntargets == 0)
        return pm_error_set(err, PM_EINVAL, "pm_fleet_run: the fleet has no targets");
    fleet->ran = true;
    fleet_run run;
    memset(&run, 0, sizeof(run));
    run.fleet = fleet;
    run.action = action;
    int rc = init_sync(&run, err);
    if (rc < 0)
        return rc;
    pm__fleet_settle_names(fleet);
    prepare_targets(&run);
    rc = action == PM_FLEET_VERIFY ? make_groups(&run, err) : 0;
    if (rc == 0)
        rc = run_workers(&run, err);
    for (size_t i = 0; i < fleet->ntargets; i++)
        if (fleet->targets[i]->result.outcome == PM_FLEET_WAITING)
            fleet->targets[i]->result.outcome = PM_FLEET_NOT_STARTED;
    free_groups(&run);
    pthread_cond_destroy(&run.changed);
    pthread_mutex_destroy(&run.callback_lock);
    pthread_mutex_destroy(&run.lock);
    return rc < 0 ? rc : summarise(fleet, err);
}
