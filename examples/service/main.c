/* main.c: widgets, an example service that owns its migrations and links an
 * installed poblysh (CMakeLists.txt: find_package; Makefile: pkg-config).
 *
 *   widgets migrate up|down|status|...   poblysh's command line over widgets'
 *                                        own set (pm_cli_main)
 *   widgets serve                        what the service does at startup:
 *                                        pm_startup_with() migrates under the
 *                                        local and test profiles and refuses to
 *                                        start with pending migrations elsewhere,
 *                                        naming `widgets migrate` as the fix.
 * The database URL comes from the service's own setting, WIDGETS_DATABASE_URL
 * (else poblysh's POBLYSH_DATABASE_URL and the profile's default). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poblysh/cli.h"
#include "poblysh/poblysh.h"

/* Startup's log lines (profile, redacted URL, what was applied) go to the
 * service's own log; here, stderr. */
static void log_line(pm_log_level level, const char *line, void *ctx)
{
    (void)ctx;
    if (level >= PM_LOG_INFO)
        fprintf(stderr, "widgets: %s\n", line);
}

static int serve(const pm_migration *const *set, size_t count)
{
    pm_startup_options options = PM_STARTUP_OPTIONS_INIT;
    options.database_url = getenv("WIDGETS_DATABASE_URL"); /* NULL: poblysh's own rules */
    options.wait_seconds = 10;                             /* the database may still be starting */
    options.lock_timeout_seconds = 120;                    /* another instance may be migrating */
    options.log = log_line;
    options.command = "widgets migrate"; /* named when startup refuses pending migrations */
    pm_db *db = NULL;
    pm_error err = PM_ERROR_INIT;
    if (pm_startup_with(&db, set, count, &options, &err) < 0) {
        fprintf(stderr, "widgets: cannot start: %s\n", err.message ? err.message : "?");
        pm_error_clear(&err);
        return 1;
    }
    printf("widgets: ready on %s\n", pm_db_url(db)); /* pm_db_url() is redacted */
    pm_db_close(db);
    return 0;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    const pm_migration *const *set = pm_builtin_migrations(&count);
    if (argc > 1 && strcmp(argv[1], "migrate") == 0)
        return pm_cli_main(argc, argv, set, count);
    if (argc == 2 && strcmp(argv[1], "serve") == 0)
        return serve(set, count);
    fprintf(stderr, "usage: widgets serve | widgets migrate COMMAND [options]\n");
    return 2;
}
