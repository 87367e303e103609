/* cmd_fleet.c: `poblysh migrate up|down|status|verify --targets FILE` (or
 * --targets-query URL SQL): one command over many databases or schemas
 * through pm_fleet. It prints a line per target as it ends (with a live
 * summary line below them on a terminal), the final table and summary, for
 * status the fleet's state by migration, writes --report FILE as JSON
 * (jansson), and sums the targets' outcomes up in one exit code. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_internal.h"

/* What the progress callback and the printing after the run share. */
typedef struct fleet_view {
    const char *command; /* "up", "down", "status", "verify" */
    pm_fleet_action action;
    const cli_options *opts;
    size_t total;
    size_t ended;    /* targets ended so far: the k of "[k/N]" */
    bool live;       /* a summary line is redrawn below the target lines (a terminal) */
    size_t live_len; /* characters of the summary line on the screen; 0: none */
    bool quiet;      /* -q: failures and the final summary line only */
} fleet_view;

static pm_fleet_action action_of(const char *command)
{
    if (strcmp(command, "down") == 0)
        return PM_FLEET_DOWN;
    if (strcmp(command, "status") == 0)
        return PM_FLEET_STATUS;
    if (strcmp(command, "verify") == 0)
        return PM_FLEET_VERIFY;
    return PM_FLEET_UP;
}

/* ==== What a target's result says ==== */

/* Failed, modified, missing or out of order: up would refuse. */
static bool needs_attention(const pm_status *st)
{
    return pm_status_count_state(st, PM_STATE_APPLIED) +
               pm_status_count_state(st, PM_STATE_PENDING) !=
           pm_status_count(st);
}

static bool up_to_date(const pm_status *st)
{
    return pm_status_count_state(st, PM_STATE_APPLIED) == pm_status_count(st);
}

/* The first line of a target's error, naming its migration when the
 * message does not. */
static void error_line(const pm_error *e, char *buf, size_t size)
{
    const char *msg = !e ? "unknown error" : e->message ? e->message : pm_strerror(e->code);
    int len = (int)strcspn(msg, "\n");
    if (e && e->migration && !strstr(msg, e->migration))
        snprintf(buf, size, "migration %s failed: %.*s", e->migration, len, msg);
    else
        snprintf(buf, size, "%.*s", len, msg);
}

/* verify: "verified", "verified with tenant_1", "2 failed verification",
 * "2 failed verification (on tenant_1)"; a FAILED target's problems are
 * counted too (the fleet fails a target whose server had any). */
static void verify_text(const pm_fleet_result *r, char *buf, size_t size)
{
    bool other = r->verified_by && strcmp(r->verified_by, r->name) != 0;
    if (r->problems && other)
        snprintf(buf, size, "%zu failed verification (on %s)", r->problems, r->verified_by);
    else if (r->problems)
        snprintf(buf, size, "%zu failed verification", r->problems);
    else if (other)
        snprintf(buf, size, "verified with %s", r->verified_by);
    else
        snprintf(buf, size, "verified");
}

/* "applied 20", "up to date", "reverted 1", "applied 18, pending 2", or
 * verify's text. */
static void ok_text(const fleet_view *v, const pm_fleet_result *r, char *buf, size_t size)
{
    switch (v->action) {
    case PM_FLEET_UP:
        if (r->applied)
            snprintf(buf, size, "applied %zu", r->applied);
        else
            snprintf(buf, size, "up to date");
        break;
    case PM_FLEET_DOWN: snprintf(buf, size, "reverted %zu", r->applied); break;
    case PM_FLEET_STATUS:
        snprintf(buf, size, "applied %zu, pending %zu%s", r->applied, r->pending,
                 r->status && needs_attention(r->status) ? ", needs attention" : "");
        break;
    case PM_FLEET_VERIFY: verify_text(r, buf, size); break;
    }
}

/* What the line and the table say about a target that did not end ok: its
 * error's first line, or verify's count of migrations that failed it. */
static void failure_text(const fleet_view *v, const pm_fleet_result *r, char *buf, size_t size)
{
    if (v->action == PM_FLEET_VERIFY && r->problems && r->outcome == PM_FLEET_FAILED)
        verify_text(r, buf, size);
    else
        error_line(r->error, buf, size);
}

/* The exit code one target stands for: 0 when it needs nothing. */
static int target_exit_code(const fleet_view *v, const pm_fleet_result *r)
{
    if (r->outcome == PM_FLEET_INTERRUPTED)
        return PM_EXIT_INTERRUPTED;
    if (r->outcome == PM_FLEET_FAILED)
        return r->error ? pm__cli_exit_code(r->error) : PM_EXIT_FAILURE;
    if (r->outcome != PM_FLEET_OK)
        return PM_EXIT_OK;
    if (v->action == PM_FLEET_STATUS && r->status &&
        (needs_attention(r->status) ||
         ((v->opts->given & OPT_EXIT_CODE) && !up_to_date(r->status))))
        return PM_EXIT_ATTENTION;
    return PM_EXIT_OK;
}

/* ==== While it runs ==== */

/* Takes the live summary line off the screen, so a target's line can go
 * where it was. */
static void clear_live(fleet_view *v)
{
    if (!v->live_len)
        return;
    printf("\r%*s\r", (int)v->live_len, "");
    v->live_len = 0;
}

/* "targets: 37 done, 1 failed, 8 running, 54 waiting", redrawn in place. */
static void draw_live(fleet_view *v, const pm_fleet_event *ev)
{
    char line[160];
    int n = snprintf(line, sizeof(line), "targets: %zu done, %zu failed, %zu running, %zu waiting",
                     ev->ok, ev->failed, ev->running, ev->waiting);
    size_t len = n < 0 ? 0 : (size_t)n;
    int pad = v->live_len > len ? (int)(v->live_len - len) : 0;
    printf("\r%s%*s", line, pad, "");
    v->live_len = len;
}

/* "[3/100] ok      tenant_3: applied 20 (0.21 s)" */
static void print_finished(fleet_view *v, const pm_fleet_result *r)
{
    v->ended++;
    bool ok = r->outcome == PM_FLEET_OK;
    if (ok && v->quiet)
        return;
    char text[1024];
    if (ok)
        ok_text(v, r, text, sizeof(text));
    else
        failure_text(v, r, text, sizeof(text));
    const char *word = ok ? "ok" : r->outcome == PM_FLEET_INTERRUPTED ? "INTERRUPTED" : "FAILED";
    printf("[%zu/%zu] %-7s %s: %s", v->ended, v->total, word, r->name, text);
    if (ok)
        printf(" (%.2f s)", (double)r->elapsed_ms / 1000.0);
    putchar('\n');
}

/* -v: a target's migrations, each prefixed by its name. */
static void print_migration_event(const pm_fleet_result *r, const pm_event *e)
{
    switch (e->kind) {
    case PM_EVENT_APPLIED:
    case PM_EVENT_REVERTED:
        printf("  %s: %s %s (%" PRId64 " ms)\n", r->name,
               e->kind == PM_EVENT_APPLIED ? "applied" : "reverted", e->migration, e->elapsed_ms);
        break;
    case PM_EVENT_FAILED:
        printf("  %s: %s FAILED\n", r->name, e->migration ? e->migration : "a migration");
        break;
    default: break;
    }
}

/* Called by the fleet one event at a time, from its threads. */
static void on_fleet_event(const pm_fleet_event *ev, void *ctx)
{
    fleet_view *v = ctx;
    clear_live(v);
    switch (ev->kind) {
    case PM_FLEET_TARGET_FINISHED: print_finished(v, ev->result); break;
    case PM_FLEET_MIGRATION:
        if (v->opts->verbose && !v->quiet && ev->result && ev->event)
            print_migration_event(ev->result, ev->event);
        break;
    case PM_FLEET_CANARIES_PASSED:
        if (!v->quiet)
            printf("Canaries ok: starting the other targets.\n");
        break;
    case PM_FLEET_STOPPING:
        if (v->quiet)
            break;
        if (ev->result)
            printf("Stopping: %s %s; no other target starts, running ones finish%s.\n",
                   ev->result->name, ev->result->canary ? "(a canary) failed" : "failed",
                   ev->result->canary ? "" : " (--keep-going goes on)");
        else
            printf("Stopping: interrupted; no other target starts, running ones are "
                   "interrupted.\n");
        break;
    default: break;
    }
    if (v->live)
        draw_live(v, ev);
    errno = 0;
    if (fflush(stdout) != 0)
        pm__cli_note_stdout(stdout, errno);
}

/* ==== After the run ==== */

/* How many targets have one migration in each state. */
typedef struct migration_tally {
    size_t applied, pending, failed, modified;
} migration_tally;

static migration_tally tally_migration(const pm_fleet *fleet, const char *name)
{
    migration_tally t = {0, 0, 0, 0};
    for (size_t i = 0; i < pm_fleet_size(fleet); i++) {
        const pm_status *st = pm_fleet_result_at(fleet, i)->status;
        for (size_t j = 0; st && j < pm_status_count(st); j++) {
            const pm_status_entry *e = pm_status_entry_at(st, j);
            if (strcmp(e->name, name) != 0)
                continue;
            t.applied += e->state == PM_STATE_APPLIED;
            t.pending += e->state == PM_STATE_PENDING || e->state == PM_STATE_OUT_OF_ORDER;
            t.failed += e->state == PM_STATE_FAILED;
            t.modified += e->state == PM_STATE_MODIFIED;
            break;
        }
    }
    return t;
}

/* status: "NAME  98/100 applied, 2 pending" per migration of the set. */
static void print_migration_lines(const pm_fleet *fleet, const pm_migration *const *set,
                                  size_t count)
{
    int width = 0;
    for (size_t i = 0; i < count; i++) {
        int n = (int)strlen(set[i]->name);
        width = n > width ? n : width;
    }
    printf("\n");
    for (size_t i = 0; i < count; i++) {
        migration_tally t = tally_migration(fleet, set[i]->name);
        printf("%-*s  %zu/%zu applied", width, set[i]->name, t.applied, pm_fleet_size(fleet));
        if (t.pending)
            printf(", %zu pending", t.pending);
        if (t.failed)
            printf(", %zu failed", t.failed);
        if (t.modified)
            printf(", %zu modified", t.modified);
        putchar('\n');
    }
    size_t unread = 0;
    for (size_t i = 0; i < pm_fleet_size(fleet); i++)
        unread += pm_fleet_result_at(fleet, i)->status == NULL;
    if (unread)
        printf("(%zu target%s could not be read: counted in none of the states above)\n", unread,
               unread == 1 ? "" : "s");
}

/* The APPLIED column: "-" when the target never started, and for verify
 * (which applies nothing to the target: it works on a scratch database). */
static void applied_cell(const fleet_view *v, const pm_fleet_result *r, char *buf, size_t size)
{
    if (v->action == PM_FLEET_VERIFY || r->outcome == PM_FLEET_NOT_STARTED ||
        r->outcome == PM_FLEET_WAITING)
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%zu", r->applied);
}

static void time_cell(const pm_fleet_result *r, char *buf, size_t size)
{
    if (r->outcome == PM_FLEET_NOT_STARTED || r->outcome == PM_FLEET_WAITING)
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.2f s", (double)r->elapsed_ms / 1000.0);
}

/* TARGET, RESULT, APPLIED (REVERTED for down), TIME, ERROR: a row per
 * target in the order given. */
static void print_table(const fleet_view *v, const pm_fleet *fleet)
{
    int width = (int)strlen("TARGET");
    for (size_t i = 0; i < pm_fleet_size(fleet); i++) {
        int n = (int)strlen(pm_fleet_result_at(fleet, i)->name);
        width = n > width ? n : width;
    }
    const char *applied = v->action == PM_FLEET_DOWN ? "REVERTED" : "APPLIED";
    printf("\n%-*s  %-11s  %-8s  %-8s  ERROR\n", width, "TARGET", "RESULT", applied, "TIME");
    for (size_t i = 0; i < pm_fleet_size(fleet); i++) {
        const pm_fleet_result *r = pm_fleet_result_at(fleet, i);
        char count[32], when[32], error[1024] = "";
        applied_cell(v, r, count, sizeof(count));
        time_cell(r, when, sizeof(when));
        if (r->error)
            failure_text(v, r, error, sizeof(error));
        char row[2048];
        snprintf(row, sizeof(row), "%-*s  %-11s  %-8s  %-8s  %s", width, r->name,
                 pm_fleet_outcome_name(r->outcome), count, when, error);
        size_t len = strlen(row);
        while (len && row[len - 1] == ' ')
            row[--len] = '\0';
        printf("%s\n", row);
    }
}

typedef struct fleet_summary {
    size_t ok, failed, interrupted, not_started;
} fleet_summary;

static fleet_summary summarise(const pm_fleet *fleet)
{
    fleet_summary s = {0, 0, 0, 0};
    for (size_t i = 0; i < pm_fleet_size(fleet); i++) {
        switch (pm_fleet_result_at(fleet, i)->outcome) {
        case PM_FLEET_OK: s.ok++; break;
        case PM_FLEET_FAILED: s.failed++; break;
        case PM_FLEET_INTERRUPTED: s.interrupted++; break;
        default: s.not_started++; break;
        }
    }
    return s;
}

/* 0 when every target is ok; 130 after a signal; else the code every
 * failing target shares, or 1 when they differ. */
static int fleet_exit_code(const fleet_view *v, const pm_fleet *fleet, int rc, const pm_error *err)
{
    if (pm__cli_signalled() || rc == PM_EINTERRUPTED)
        return PM_EXIT_INTERRUPTED;
    int code = PM_EXIT_OK;
    for (size_t i = 0; i < pm_fleet_size(fleet); i++) {
        int c = target_exit_code(v, pm_fleet_result_at(fleet, i));
        if (c && code && c != code)
            return PM_EXIT_FAILURE;
        if (c)
            code = c;
    }
    if (code == PM_EXIT_OK && rc < 0) /* the run itself failed */
        code = pm__cli_exit_code(err);
    return code;
}

/* ==== The report ==== */

/* "ok", "failed", "interrupted", "not_started" */
static const char *result_word(pm_fleet_outcome outcome)
{
    return outcome == PM_FLEET_NOT_STARTED ? "not_started" : pm_fleet_outcome_name(outcome);
}

static json_t *error_json(const pm_fleet_result *r)
{
    const pm_error *e = r->error;
    if (!e)
        return json_null();
    int code = r->outcome == PM_FLEET_INTERRUPTED ? PM_EXIT_INTERRUPTED : pm__cli_exit_code(e);
    return json_pack("{s:o, s:o, s:i, s:o}", "message",
                     pm__cli_json_text(e->message ? e->message : pm_strerror(e->code)), "migration",
                     pm__cli_json_text(e->migration), "exit_code", code, "db_code",
                     pm__cli_json_text(e->db_code));
}

static json_t *target_json(const fleet_view *v, const pm_fleet_result *r)
{
    json_t *t = json_pack("{s:o, s:o, s:o, s:o, s:b, s:s, s:I, s:I, s:I, s:o}", "name",
                          pm__cli_json_text(r->name), "url", pm__cli_json_text(r->url), "schema",
                          pm__cli_json_text(r->schema), "origin", pm__cli_json_text(r->origin),
                          "canary", r->canary, "result", result_word(r->outcome), "applied",
                          (json_int_t)r->applied, "pending", (json_int_t)r->pending, "elapsed_ms",
                          (json_int_t)r->elapsed_ms, "error", error_json(r));
    if (t && v->action == PM_FLEET_STATUS &&
        json_object_set_new(
            t, "status",
            r->status ? json_pack("{s:I, s:I, s:b}", "applied", (json_int_t)r->applied, "pending",
                                  (json_int_t)r->pending, "attention", needs_attention(r->status))
                      : json_null()) != 0)
        goto fail;
    /* every target verify started has its count, FAILED ones too */
    if (t && v->action == PM_FLEET_VERIFY &&
        json_object_set_new(t, "verify",
                            r->verified_by
                                ? json_pack("{s:I, s:o}", "problems", (json_int_t)r->problems,
                                            "verified_by", pm__cli_json_text(r->verified_by))
                                : json_null()) != 0)
        goto fail;
    return t;
fail:
    json_decref(t);
    return NULL;
}

static json_t *migrations_json(const pm_fleet *fleet, const pm_migration *const *set, size_t count)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < count; i++) {
        migration_tally t = tally_migration(fleet, set[i]->name);
        json_t *m = json_pack("{s:o, s:I, s:I, s:I, s:I}", "name", pm__cli_json_text(set[i]->name),
                              "applied", (json_int_t)t.applied, "pending", (json_int_t)t.pending,
                              "failed", (json_int_t)t.failed, "modified", (json_int_t)t.modified);
        if (!m || json_array_append_new(list, m) != 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

/* Every target's object, in the order given; NULL when one cannot be made,
 * so no target goes missing from a report without the run failing. */
static json_t *targets_json(const fleet_view *v, const pm_fleet *fleet)
{
    json_t *targets = json_array();
    for (size_t i = 0; targets && i < pm_fleet_size(fleet); i++) {
        json_t *t = target_json(v, pm_fleet_result_at(fleet, i));
        if (!t || json_array_append_new(targets, t) != 0) {
            json_decref(targets);
            return NULL;
        }
    }
    return targets;
}

/* The top-level "error" of a fleet whose targets could not be read. */
static json_t *list_error_json(const pm_error *e, int code)
{
    return json_pack("{s:o, s:i, s:o}", "message",
                     pm__cli_json_text(e->message ? e->message : pm_strerror(e->code)), "exit_code",
                     code, "db_code", pm__cli_json_text(e->db_code));
}

/* The whole report as text (malloc'd), or NULL. list_error: why the targets
 * could not be read (then the fleet is empty), or NULL. */
static char *report_text(const fleet_view *v, const pm_fleet *fleet, int64_t elapsed_ms, int code,
                         const pm_migration *const *set, size_t count, const pm_error *list_error)
{
    fleet_summary s = summarise(fleet);
    json_t *targets = targets_json(v, fleet);
    if (!targets)
        return NULL;
    const cli_options *o = v->opts;
    json_t *doc = json_pack(
        "{s:s, s:i, s:i, s:b, s:I, s:i, s:{s:I, s:I, s:I, s:I, s:I}, s:o}", "command", v->command,
        "jobs", (int)(o->jobs ? o->jobs : PM_FLEET_DEFAULT_JOBS), "canary", (int)o->canary,
        "keep_going", (o->given & OPT_KEEP_GOING) != 0, "elapsed_ms", (json_int_t)elapsed_ms,
        "exit_code", code, "summary", "total", (json_int_t)pm_fleet_size(fleet), "ok",
        (json_int_t)s.ok, "failed", (json_int_t)s.failed, "interrupted", (json_int_t)s.interrupted,
        "not_started", (json_int_t)s.not_started, "targets", targets);
    if (doc && v->action == PM_FLEET_STATUS &&
        json_object_set_new(doc, "migrations", migrations_json(fleet, set, count)) != 0)
        json_decref(doc), doc = NULL;
    if (doc && list_error &&
        json_object_set_new(doc, "error", list_error_json(list_error, code)) != 0)
        json_decref(doc), doc = NULL;
    char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    char *line = realloc(text, n + 2); /* a text file ends with a newline */
    if (!line) {
        free(text);
        return NULL;
    }
    memcpy(line + n, "\n", 2);
    return line;
}

/* --report FILE: written whole or not at all, also after a failure, an
 * interrupt or targets that could not be read (list_error). Returns code, or
 * 1 in place of 0 when it could not be made or written. */
static int write_report(const fleet_view *v, const pm_fleet *fleet, int64_t elapsed_ms, int code,
                        const pm_migration *const *set, size_t count, const pm_error *list_error)
{
    if (!v->opts->report)
        return code;
    char *text = report_text(v, fleet, elapsed_ms, code, set, count, list_error);
    int rc = text ? pm__cli_replace_file(v->opts->report, text) : -1;
    int saved = errno;
    free(text);
    if (rc == 0)
        return code;
    fflush(stdout);
    if (text)
        fprintf(stderr, "poblysh: error: cannot write the report %s: %s\n", v->opts->report,
                strerror(saved));
    else
        fprintf(stderr,
                "poblysh: error: could not write the report %s: its JSON could not be made\n",
                v->opts->report);
    return code == PM_EXIT_OK ? PM_EXIT_FAILURE : code;
}

/* ==== The command ==== */

/* The targets of --targets or --targets-query. A bad targets file is a
 * usage error (exit 2, naming FILE:LINE); a control database that cannot be
 * read exits as a single run would; a signal meanwhile (stdin being read, a
 * control database being retried) exits 130. With --report, a report with no
 * targets and the error is written all the same. */
static int add_targets(const fleet_view *v, pm_fleet *fleet, const cli_options *opts)
{
    pm_error err = PM_ERROR_INIT;
    int64_t started = pm__cli_now_ms();
    int rc = opts->targets ? pm_fleet_add_file(fleet, opts->targets, &err)
                           : pm_fleet_add_query(fleet, opts->targets_query_url,
                                                opts->targets_query_sql, &err);
    if (rc == 0)
        return PM_EXIT_OK;
    int code = pm__cli_report_error(&err, NULL);
    if (pm__cli_signalled() || rc == PM_EINTERRUPTED)
        code = PM_EXIT_INTERRUPTED;
    else if (opts->targets || rc == PM_EINVAL)
        code = PM_EXIT_USAGE;
    code = write_report(v, fleet, pm__cli_now_ms() - started, code, NULL, 0, &err);
    pm_error_clear(&err);
    return code;
}

static unsigned int fleet_flags(const cli_options *opts)
{
    return (opts->given & OPT_KEEP_GOING) ? PM_FLEET_KEEP_GOING : 0;
}

static size_t fleet_count(pm_fleet_action action, const cli_options *opts)
{
    if (action == PM_FLEET_UP)
        return (opts->given & OPT_NUM) ? opts->count : PM_ALL;
    if (action == PM_FLEET_DOWN)
        return (opts->given & OPT_NUM) ? opts->count : 1;
    return 0;
}

/* "Fleet: 100 targets, 8 at a time, canaries first: 2" */
static void print_start(const fleet_view *v, const pm_fleet *fleet)
{
    const cli_options *o = v->opts;
    size_t size = pm_fleet_size(fleet);
    size_t jobs = o->jobs ? o->jobs : PM_FLEET_DEFAULT_JOBS;
    printf("Fleet: %zu target%s, %zu at a time", size, size == 1 ? "" : "s",
           jobs < size ? jobs : size); /* no more run at once than there are */
    if (o->canary)
        printf(", canaries first: %u", o->canary);
    putchar('\n');
    fflush(stdout);
}

/* Runs the fleet (Ctrl-C is watched by the caller), then prints and reports; returns the
 * exit code. */
static int run_fleet(fleet_view *v, pm_fleet *fleet, const pm_migration *const *set, size_t count)
{
    v->total = pm_fleet_size(fleet);
    if (!v->quiet)
        print_start(v, fleet);
    pm_error err = PM_ERROR_INIT;
    int64_t started = pm__cli_now_ms();
    int rc = pm_fleet_run(fleet, v->action, &err);
    int64_t elapsed = pm__cli_now_ms() - started;
    clear_live(v);
    if (!v->quiet && v->action == PM_FLEET_STATUS)
        print_migration_lines(fleet, set, count);
    if (!v->quiet)
        print_table(v, fleet);
    fleet_summary s = summarise(fleet);
    printf("Fleet %s: %zu ok, %zu failed, %zu interrupted, %zu not started (of %zu target%s) in "
           "%.1f s.\n",
           v->command, s.ok, s.failed, s.interrupted, s.not_started, v->total,
           v->total == 1 ? "" : "s", (double)elapsed / 1000.0);
    int code = fleet_exit_code(v, fleet, rc, &err);
    if (rc < 0 && rc != PM_EINTERRUPTED) {
        char line[1024];
        error_line(&err, line, sizeof(line));
        fflush(stdout);
        fprintf(stderr, "poblysh: error: %s\n", line);
    }
    pm_error_clear(&err);
    return write_report(v, fleet, elapsed, code, set, count, NULL);
}

int pm__cli_fleet(const cli_command *command, const cli_options *opts)
{
    fleet_view v = {command->name, action_of(command->name), opts, 0, 0, false, 0, opts->quiet};
    v.live = !v.quiet && opts->progress == CLI_PROGRESS_AUTO && isatty(STDOUT_FILENO);
    if (v.action == PM_FLEET_DOWN && pm__cli_production_guard("down", opts))
        return PM_EXIT_USAGE;
    pm_error err = PM_ERROR_INIT;
    pm_source *source = NULL;
    pm_fleet *fleet = NULL;
    size_t count = opts->set_count;
    const pm_migration *const *set = opts->set;
    int rc = pm__cli_source_open(&source, opts, &err);
    if (rc == 0 && source)
        set = pm_source_migrations(source, &count);
    pm_engine_options eopts;
    pm__cli_engine_options(&eopts, opts);
    pm_db_options dopts;
    pm__cli_db_options(&dopts, opts);
    pm_fleet_options fopts = PM_FLEET_OPTIONS_INIT;
    fopts.jobs = opts->jobs;
    fopts.canary = opts->canary;
    fopts.flags = fleet_flags(opts);
    fopts.count = fleet_count(v.action, opts);
    fopts.engine = &eopts;
    fopts.db = &dopts;
    fopts.progress = on_fleet_event;
    fopts.progress_ctx = &v;
    if (rc == 0)
        rc = pm_fleet_new(&fleet, set, count, &fopts, &err);
    /* Ctrl-C is watched from here: reading stdin or retrying a control
     * database (--wait) stops too. */
    pm__cli_watch_fleet(fleet);
    int code = rc < 0 ? pm__cli_report_error(&err, NULL) : add_targets(&v, fleet, opts);
    if (code == PM_EXIT_OK)
        code = run_fleet(&v, fleet, set, count);
    pm__cli_watch_fleet(NULL);
    pm_fleet_free(fleet);
    pm_source_free(source);
    pm_error_clear(&err);
    return code;
}
