/* cmd_status.c: `poblysh migrate status`: every migration and its state, as
 * a table for people (coloured on a terminal unless NO_COLOR is set) or as
 * one JSON document for programs (--format json, written with jansson; the
 * schema is in docs/status-json.md). It exits 5 when the history needs
 * attention (a migration failed, modified, missing or out of order), and
 * --exit-code adds "anything pending" for CI gates and readiness probes. */
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_internal.h"

static const pm_state all_states[] = {PM_STATE_APPLIED, PM_STATE_PENDING,      PM_STATE_MODIFIED,
                                      PM_STATE_MISSING, PM_STATE_OUT_OF_ORDER, PM_STATE_FAILED};

static void format_time(int64_t unix_seconds, const char *fmt, char *buf, size_t size)
{
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(buf, size, fmt, &tm);
    else
        snprintf(buf, size, "%" PRId64, unix_seconds);
}

static bool up_to_date(const pm_status *st)
{
    return pm_status_count_state(st, PM_STATE_APPLIED) == pm_status_count(st);
}

/* Whether a migration is failed, modified, missing or out of order: up
 * would refuse, so status exits 5 even without --exit-code. */
static bool needs_attention(const pm_status *st)
{
    return pm_status_count_state(st, PM_STATE_APPLIED) +
               pm_status_count_state(st, PM_STATE_PENDING) !=
           pm_status_count(st);
}

/* ==== Text ==== */

static const char *state_color(pm_state state)
{
    switch (state) {
    case PM_STATE_APPLIED: return "\033[32m"; /* green */
    case PM_STATE_PENDING: return "\033[33m"; /* yellow */
    default: return "\033[1;31m";             /* bold red: needs attention */
    }
}

#define STATE_WIDTH 21 /* "applied (no checksum)" */

static const char *state_label(const pm_status_entry *e)
{
    if (e->state == PM_STATE_APPLIED && !e->checksum)
        return "applied (no checksum)";
    return pm_state_name(e->state);
}

static void print_entry(const pm_status_entry *e, int width, bool color)
{
    char when[32] = "";
    if (e->state != PM_STATE_PENDING && e->state != PM_STATE_OUT_OF_ORDER)
        format_time(e->applied_at, "%Y-%m-%d %H:%M:%S", when, sizeof(when));
    const char *label = state_label(e);
    int pad = *when ? STATE_WIDTH + 2 - (int)strlen(label) : 0;
    printf("%-*s  %s%s%s%*s%s\n", width, e->name, color ? state_color(e->state) : "", label,
           color ? "\033[0m" : "", pad, "", when);
    if (e->state == PM_STATE_MODIFIED)
        printf("%*s  recorded %s\n%*s  this build %s\n", width, "", e->checksum, width, "",
               e->expected);
    if (e->state == PM_STATE_MISSING)
        printf("%*s  recorded in the database, not in this build\n", width, "");
    if (e->state == PM_STATE_FAILED) {
        printf("%*s  error: %s\n", width, "", e->error ? e->error : "(no message recorded)");
        if (e->statement)
            printf("%*s  statement: %s\n", width, "", e->statement);
    }
}

static void print_text(const pm_status *st)
{
    int width = (int)strlen("Migration");
    for (size_t i = 0; i < pm_status_count(st); i++) {
        int n = (int)strlen(pm_status_entry_at(st, i)->name);
        width = n > width ? n : width;
    }
    bool color = pm__cli_use_color(stdout);
    printf("%-*s  %-*s  %s\n", width, "Migration", STATE_WIDTH, "State", "Applied at (UTC)");
    for (size_t i = 0; i < pm_status_count(st); i++)
        print_entry(pm_status_entry_at(st, i), width, color);
    const char *sep = "";
    for (size_t i = 0; i < PM_ARRAY_LEN(all_states); i++) {
        size_t n = pm_status_count_state(st, all_states[i]);
        if (n || all_states[i] == PM_STATE_APPLIED || all_states[i] == PM_STATE_PENDING) {
            printf("%s%zu %s", sep, n, pm_state_name(all_states[i]));
            sep = ", ";
        }
    }
    printf(".\n");
    if (pm_status_count_state(st, PM_STATE_FAILED))
        printf(
            "A failed migration blocks up: see docs/states.md, then `poblysh migrate repair`.\n");
    else if (needs_attention(st))
        printf("The history needs attention before up will run: see docs/states.md.\n");
}

/* ==== JSON ==== */

static json_t *entry_json(const pm_status_entry *e)
{
    bool recorded = e->state != PM_STATE_PENDING && e->state != PM_STATE_OUT_OF_ORDER;
    char when[32];
    format_time(e->applied_at, "%Y-%m-%dT%H:%M:%SZ", when, sizeof(when));
    return json_pack(
        "{s:o, s:s, s:o, s:o, s:{s:o, s:o}, s:o, s:o, s:o}", "name", pm__cli_json_text(e->name),
        "state", pm_state_name(e->state), "applied_at", recorded ? json_string(when) : json_null(),
        "applied_at_unix", recorded ? json_integer(e->applied_at) : json_null(), "checksum",
        "stored", pm__cli_json_text(e->checksum), "expected", pm__cli_json_text(e->expected),
        "execution_ms", e->execution_ms >= 0 ? json_integer(e->execution_ms) : json_null(), "error",
        pm__cli_json_text(e->error), "statement", pm__cli_json_text(e->statement));
}

static int print_json(const cli_session *s, const pm_status *st)
{
    json_t *migrations = json_array(), *summary = json_object();
    for (size_t i = 0; migrations && i < pm_status_count(st); i++) {
        json_t *entry = entry_json(pm_status_entry_at(st, i));
        if (!entry || json_array_append_new(migrations, entry) != 0) { /* none left out */
            json_decref(migrations);
            migrations = NULL;
        }
    }
    if (!migrations) {
        json_decref(summary);
        return -1;
    }
    for (size_t i = 0; i < PM_ARRAY_LEN(all_states); i++)
        json_object_set_new(summary, pm_state_name(all_states[i]),
                            json_integer((json_int_t)pm_status_count_state(st, all_states[i])));
    json_t *doc =
        json_pack("{s:o, s:s, s:o, s:b, s:o, s:o}", "database", pm__cli_json_text(pm_db_url(s->db)),
                  "driver", pm_db_driver_name(s->db), "profile", pm__cli_json_text(s->profile),
                  "up_to_date", up_to_date(st), "summary", summary, "migrations", migrations);
    int rc = doc ? json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : -1;
    json_decref(doc);
    if (rc == 0)
        putchar('\n');
    return rc;
}

/* ==== The command ==== */

int pm__cli_status(const cli_options *opts)
{
    cli_session s;
    pm_error err = PM_ERROR_INIT;
    pm_status *st = NULL;
    int rc = pm__cli_session_open(&s, opts, opts->json, false, &err);
    if (rc == 0)
        rc = pm_engine_status(s.engine, &st, &err);
    int code = PM_EXIT_OK;
    if (rc < 0) {
        code = pm__cli_report_error(&err, s.db);
    } else if (opts->json && print_json(&s, st) < 0) {
        fprintf(stderr, "poblysh: error: could not write the JSON status\n");
        code = PM_EXIT_FAILURE;
    } else {
        if (!opts->json)
            print_text(st);
        if (needs_attention(st) || ((opts->given & OPT_EXIT_CODE) && !up_to_date(st)))
            code = PM_EXIT_ATTENTION;
    }
    pm_status_free(st);
    pm__cli_session_close(&s);
    pm_error_clear(&err);
    return code;
}
