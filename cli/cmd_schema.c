/* cmd_schema.c: `poblysh migrate schema` (the database's schema as sorted,
 * backend-neutral text, to stdout or --output FILE for review diffs) and
 * `poblysh migrate verify` (every down() must restore the schema its up()
 * found, checked on a scratch database). */
#include <errno.h>
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

static void on_verified(const char *migration, pm_verify_result result, const char *detail,
                        void *ctx)
{
    (void)ctx;
    switch (result) {
    case PM_VERIFY_OK: printf("ok      %s\n", migration); break;
    case PM_VERIFY_NOT_RESTORED:
        printf("FAILED  %s: down() does not restore the schema up() found:\n%s", migration, detail);
        break;
    case PM_VERIFY_DOWN_FAILED: printf("FAILED  %s: down() failed: %s\n", migration, detail); break;
    case PM_VERIFY_UP_FAILED: printf("FAILED  %s: up() failed: %s\n", migration, detail); break;
    }
    fflush(stdout);
}

int pm__cli_verify(const cli_options *opts)
{
    /* Default scratch: a fresh in-memory SQLite database, whatever the
     * profile; a server URL gets a scratch schema created and dropped here. */
    cli_options scratch = *opts;
    if (!scratch.database_url)
        scratch.database_url = "sqlite::memory:";
    unsigned int caps = 0;
    pm_error probe = PM_ERROR_INIT;
    int known = pm_url_capabilities(scratch.database_url, &caps, &probe);
    pm_error_clear(&probe);
    if (known == 0 && !(caps & (PM_CAP_EPHEMERAL | PM_CAP_SCRATCH_SCHEMA))) {
        fprintf(stderr, "poblysh: verify needs a scratch database: use sqlite::memory: (the "
                        "default) or a PostgreSQL or MySQL URL, where it makes and drops a "
                        "scratch schema\n");
        return PM_EXIT_USAGE;
    }
    cli_session s;
    pm_error err = PM_ERROR_INIT;
    size_t problems = 0;
    bool own_scratch = false;
    int rc = pm__cli_session_open(&s, &scratch, 1, true, &err);
    if (rc == 0 && !(pm_db_capabilities(s.db) & PM_CAP_EPHEMERAL)) {
        rc = pm_db_scratch_begin(s.db, &err);
        own_scratch = rc == 0;
    }
    if (rc == 0) {
        printf("Verifying every down() on %s%s\n", pm_db_url(s.db),
               own_scratch ? " (in a scratch schema, dropped afterwards)" : "");
        rc = pm_engine_verify(s.engine, on_verified, NULL, &problems, &err);
    }
    if (own_scratch) {
        pm_error drop = PM_ERROR_INIT;
        if (pm_db_scratch_end(s.db, &drop) < 0)
            fprintf(stderr, "poblysh: warning: could not drop the scratch schema: %s\n",
                    drop.message ? drop.message : "?");
        pm_error_clear(&drop);
    }
    int code = PM_EXIT_OK;
    if (rc < 0) {
        code = pm__cli_report_error(&err, s.db);
    } else if (problems) {
        printf("%zu migration%s failed verification.\n", problems, problems == 1 ? "" : "s");
        code = PM_EXIT_FAILURE;
    } else {
        printf("Every down() restores the schema exactly.\n");
    }
    pm__cli_session_close(&s);
    pm_error_clear(&err);
    return code;
}
