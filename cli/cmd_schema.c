/* cmd_schema.c: `poblysh migrate schema` (the database's schema as sorted,
 * backend-neutral text, to stdout or --output FILE for review diffs) and
 * `poblysh migrate verify` (every down() must restore the schema its up()
 * found, checked on sqlite::memory: or in a scratch database it creates on
 * the server and drops, ending with one summary line per migration). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"

/* ==== schema ==== */

static int write_file(const char *path, const char *text)
{
    if (pm__cli_replace_file(path, text) != 0) {
        fprintf(stderr, "poblysh: error: cannot write %s: %s\n", path, strerror(errno));
        return PM_EXIT_FAILURE;
    }
    return PM_EXIT_OK;
}

int pm__cli_schema(const cli_options *opts)
{
    cli_session s;
    pm_error err = PM_ERROR_INIT;
    char *text = NULL;
    int rc = pm__cli_session_open(&s, opts, 1, false, &err);
    if (rc == 0)
        rc = pm_db_schema(s.db, &text, &err);
    int code = PM_EXIT_OK;
    if (rc < 0)
        code = pm__cli_report_error(&err, s.db);
    else if (opts->output)
        code = write_file(opts->output, text);
    else
        fputs(text, stdout);
    if (code == PM_EXIT_OK && opts->output)
        fprintf(stderr, "poblysh: wrote the schema of %s to %s\n", pm_db_url(s.db), opts->output);
    free(text);
    pm__cli_session_close(&s);
    pm_error_clear(&err);
    return code;
}

/* ==== verify ==== */

/* One line of the summary: a migration and how it fared. */
typedef struct verify_line {
    char *migration;
    pm_verify_result result; /* the worst reported */
    char *reason;            /* NULL for ok */
} verify_line;

typedef struct verify_report {
    verify_line *lines;
    size_t count, cap;
    size_t warnings; /* migrations whose down() only reordered columns */
} verify_report;

/* A formatted string, malloc'd; NULL when out of memory. */
static char *format_text(const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *out = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (out)
        vsnprintf(out, (size_t)n + 1, fmt, again);
    va_end(again);
    return out;
}

static bool is_failure(pm_verify_result r)
{
    return r != PM_VERIFY_OK && r != PM_VERIFY_COLUMN_ORDER;
}

/* Adds or updates the migration's line: a second report (up() failing
 * again after down()) joins the first. */
static void note_result(verify_report *rep, const char *migration, pm_verify_result result,
                        const char *reason)
{
    verify_line *last = rep->count ? &rep->lines[rep->count - 1] : NULL;
    if (last && strcmp(last->migration, migration) == 0) {
        char *joined =
            reason ? format_text("%s; %s", last->reason ? last->reason : "", reason) : NULL;
        if (joined) {
            free(last->reason);
            last->reason = joined;
        }
        if (is_failure(result) || last->result == PM_VERIFY_OK)
            last->result = result;
        return;
    }
    if (rep->count == rep->cap) {
        size_t cap = rep->cap ? rep->cap * 2 : 32;
        verify_line *grown = realloc(rep->lines, cap * sizeof(*grown));
        if (!grown)
            return; /* the summary misses a line; the details were printed */
        rep->lines = grown;
        rep->cap = cap;
    }
    rep->lines[rep->count++] =
        (verify_line){strdup(migration), result, reason ? strdup(reason) : NULL};
    if (!rep->lines[rep->count - 1].migration)
        rep->count--;
}

/* Prints what went wrong as it is found; the summary comes at the end. */
static void on_verified(const char *migration, pm_verify_result result, const char *detail,
                        void *ctx)
{
    verify_report *rep = ctx;
    char *reason = NULL;
    switch (result) {
    case PM_VERIFY_OK: note_result(rep, migration, result, NULL); break;
    case PM_VERIFY_NOT_RESTORED:
        printf("FAILED  %s: down() does not restore the schema up() found:\n%s", migration, detail);
        note_result(rep, migration, result, "down() does not restore the schema (diff above)");
        break;
    case PM_VERIFY_COLUMN_ORDER:
        printf("warning %s: down() restores every object, some columns in another order:\n%s",
               migration, detail);
        note_result(rep, migration, result, "columns in another order (diff above)");
        rep->warnings++;
        break;
    case PM_VERIFY_DOWN_FAILED:
    case PM_VERIFY_UP_FAILED:
        printf("FAILED  %s: %s() failed: %s\n", migration,
               result == PM_VERIFY_UP_FAILED ? "up" : "down", detail);
        reason = format_text("%s() failed: %.*s", result == PM_VERIFY_UP_FAILED ? "up" : "down",
                             (int)strcspn(detail, "\n"), detail);
        note_result(rep, migration, result, reason ? reason : "failed");
        free(reason);
        break;
    }
    fflush(stdout);
}

static void print_summary(const verify_report *rep, bool strict)
{
    if (!rep->count)
        return;
    printf("Summary:\n");
    for (size_t i = 0; i < rep->count; i++) {
        const verify_line *l = &rep->lines[i];
        const char *word = l->result == PM_VERIFY_OK                        ? "ok"
                           : l->result == PM_VERIFY_COLUMN_ORDER && !strict ? "warning"
                                                                            : "FAILED";
        printf("  %-7s %s%s%s\n", word, l->migration, l->reason ? ": " : "",
               l->reason ? l->reason : "");
    }
}

static void free_report(verify_report *rep)
{
    for (size_t i = 0; i < rep->count; i++) {
        free(rep->lines[i].migration);
        free(rep->lines[i].reason);
    }
    free(rep->lines);
}

/* Runs the engine's verify on an open session and prints the summary. */
static int verify_session(cli_session *s, const cli_options *opts, pm_error *err)
{
    verify_report rep = {NULL, 0, 0, 0};
    size_t problems = 0;
    int rc = pm_engine_verify(s->engine, on_verified, &rep, &problems, err);
    bool strict = (opts->given & OPT_STRICT) != 0;
    print_summary(&rep, strict);
    size_t failed = problems + (strict ? rep.warnings : 0);
    int code = PM_EXIT_OK;
    if (rc < 0) {
        code = pm__cli_report_error(err, s->db);
    } else if (failed) {
        printf("%zu migration%s failed verification.\n", failed, failed == 1 ? "" : "s");
        code = PM_EXIT_FAILURE;
    } else if (rep.warnings) {
        printf("Every down() restores every object; %zu left columns in another order (a "
               "warning; --strict makes it a failure).\n",
               rep.warnings);
    } else {
        printf("Every down() restores the schema exactly.\n");
    }
    free_report(&rep);
    return code;
}

/* On the ephemeral database url names (sqlite::memory:). */
static int verify_ephemeral(const cli_options *opts)
{
    cli_session s;
    pm_error err = PM_ERROR_INIT;
    int code;
    if (pm__cli_session_open(&s, opts, 1, true, &err) < 0) {
        code = pm__cli_report_error(&err, s.db);
    } else {
        printf("Verifying every down() on %s\n", pm_db_url(s.db));
        code = verify_session(&s, opts, &err);
    }
    pm__cli_session_close(&s);
    pm_error_clear(&err);
    return code;
}

/* In a scratch database of its own, made and dropped through admin. */
static int verify_in_scratch(cli_session *admin, const cli_options *opts, const char *scratch_url,
                             const char *name)
{
    cli_options inside = *opts;
    inside.database_url = scratch_url;
    cli_session s;
    pm_error err = PM_ERROR_INIT;
    int code;
    printf("Verifying every down() in the scratch database %s on the server of %s (dropped "
           "afterwards; the URL's own database is not touched)\n",
           name, pm_db_url(admin->db));
    fflush(stdout);
    if (pm__cli_session_open(&s, &inside, 1, true, &err) < 0)
        code = pm__cli_report_error(&err, s.db);
    else
        code = verify_session(&s, opts, &err);
    pm__cli_session_close(&s); /* nobody may be connected while it is dropped */
    pm_error_clear(&err);
    return code;
}

/* On a server: the URL's database is only used to create the scratch
 * database and drop it again, also after a failure or a signal (the signal
 * interrupts the scratch database's connection, never this one). A URL
 * whose capabilities could not be told before connecting lands here too: an
 * ephemeral database is then verified in place, anything else needs a
 * scratch database. */
static int verify_on_server(const cli_options *opts)
{
    cli_session admin;
    pm_error err = PM_ERROR_INIT;
    char *name = NULL, *scratch_url = NULL;
    int code;
    int rc = pm__cli_session_open(&admin, opts, 1, false, &err);
    if (rc == 0 && (pm_db_capabilities(admin.db) & PM_CAP_EPHEMERAL)) {
        printf("Verifying every down() on %s\n", pm_db_url(admin.db));
        code = verify_session(&admin, opts, &err);
        pm__cli_session_close(&admin);
        pm_error_clear(&err);
        return code;
    }
    if (rc == 0) {
        pm__cli_watch_db(NULL);
        rc = pm_db_scratch_database_create(admin.db, opts->database_url, &name, &scratch_url, &err);
    }
    code = rc < 0 ? pm__cli_report_error(&err, admin.db)
                  : verify_in_scratch(&admin, opts, scratch_url, name);
    if (name) {
        pm_error drop = PM_ERROR_INIT;
        if (pm_db_scratch_database_drop(admin.db, name, &drop) < 0) {
            fprintf(stderr, "poblysh: error: could not drop the scratch database %s: %s\n", name,
                    drop.message ? drop.message : "?");
            code = code == PM_EXIT_OK ? PM_EXIT_FAILURE : code;
        }
        pm_error_clear(&drop);
    }
    free(name);
    free(scratch_url);
    pm__cli_session_close(&admin);
    pm_error_clear(&err);
    return code;
}

int pm__cli_verify(const cli_options *opts)
{
    /* Default: a fresh in-memory SQLite database, whatever the profile; a
     * server URL gets a scratch database of its own. */
    cli_options scratch = *opts;
    if (!scratch.database_url)
        scratch.database_url = "sqlite::memory:";
    unsigned int caps = 0;
    pm_error probe = PM_ERROR_INIT;
    int known = pm_url_capabilities(scratch.database_url, &caps, &probe);
    pm_error_clear(&probe);
    if (known == 0 && !(caps & (PM_CAP_EPHEMERAL | PM_CAP_SCRATCH_DATABASE))) {
        fprintf(stderr, "poblysh: verify needs a scratch database: use sqlite::memory: (the "
                        "default) or a PostgreSQL or MySQL URL, where it makes and drops a "
                        "scratch database of its own\n");
        return PM_EXIT_USAGE;
    }
    return known == 0 && (caps & PM_CAP_EPHEMERAL) ? verify_ephemeral(&scratch)
                                                   : verify_on_server(&scratch);
}
