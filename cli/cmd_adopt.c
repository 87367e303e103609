/* cmd_adopt.c: `poblysh migrate adopt [TOOL]`: records as applied the
 * migrations another tool's history table says were run (pm_engine_adopt),
 * one line per migration up to a cap, then a summary; with --dry-run, what
 * it would record. The other tool's table is only read. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli_internal.h"

/* Lines printed before the rest are only counted. */
#define PM_ADOPT_LINES_MAX 50

static struct {
    bool dry_run;
    size_t seen;
} adopt_output;

void pm__cli_adopt_event(const char *migration)
{
    if (adopt_output.seen++ < PM_ADOPT_LINES_MAX)
        printf("%s %s as applied\n", adopt_output.dry_run ? "Would record" : "Recorded", migration);
}

static const char *plural(size_t n)
{
    return n == 1 ? "" : "s";
}

static void print_summary(const pm_adopt_report *r, bool dry_run)
{
    if (adopt_output.seen > PM_ADOPT_LINES_MAX)
        printf("... and %zu more\n", adopt_output.seen - PM_ADOPT_LINES_MAX);
    printf("%s %zu migration%s of %s's history (%s)", dry_run ? "Would record" : "Recorded",
           r->recorded, plural(r->recorded), r->tool, r->table);
    if (r->failed)
        printf(", %zu of them as failed", r->failed);
    if (r->already)
        printf("; %zu already recorded", r->already);
    if (r->unmatched)
        printf("; %zu version%s this set lacks left out", r->unmatched, plural(r->unmatched));
    printf("; %zu pending. %s\n", r->pending,
           dry_run ? "Dry run: nothing was written." : "The tool's table was left as it was.");
    if (r->failed && !dry_run)
        pm__cli_put_named(stdout, "A failed migration blocks up: finish or undo its work by hand, "
                                  "then run `poblysh migrate repair --applied NAME` or "
                                  "`--rollback NAME` (see `poblysh migrate status`).\n");
}

static bool known_tool(const char *name)
{
    for (const char *const *t = pm_adopt_tools(); *t; t++)
        if (strcasecmp(*t, name) == 0)
            return true;
    return false;
}

int pm__cli_adopt(const cli_options *opts)
{
    if (opts->argument && !known_tool(opts->argument)) {
        fprintf(stderr,
                "%s: unknown tool \"%s\" (expected dbmate, golang-migrate, goose, sqlx, diesel or "
                "flyway)\nTry '%s migrate adopt --help'.\n",
                pm__cli_program, opts->argument, pm__cli_program);
        return PM_EXIT_USAGE;
    }
    /* Its dry run reports migrations, not SQL: the engine gets no SQL recorder. */
    cli_options session_opts = *opts;
    session_opts.given &= ~(unsigned int)OPT_DRY_RUN;
    bool dry_run = (opts->given & OPT_DRY_RUN) != 0;
    unsigned int flags = (dry_run ? PM_ADOPT_DRY_RUN : 0) |
                         ((opts->given & OPT_ALLOW_UNMATCHED) ? PM_ADOPT_ALLOW_UNMATCHED : 0) |
                         ((opts->given & OPT_ALLOW_FAILED) ? PM_ADOPT_ALLOW_FAILED : 0);
    adopt_output.dry_run = dry_run;
    adopt_output.seen = 0;
    cli_session s;
    pm_error err = PM_ERROR_INIT;
    pm_adopt_report report;
    memset(&report, 0, sizeof(report));
    int rc = pm__cli_session_open(&s, &session_opts, 0, false, &err);
    if (rc == 0)
        rc = pm_engine_adopt(s.engine, opts->argument, flags, &report, &err);
    int code = PM_EXIT_OK;
    if (rc == 0) {
        print_summary(&report, dry_run);
    } else {
        code = pm__cli_report_error(&err, s.db);
        if (err.code == PM_EDRIFT)
            pm__cli_put_named(stderr, "  hint: run the build that has those migrations, or pass "
                                      "--allow-unmatched to leave them out\n");
        else if (err.code == PM_EFAILED)
            pm__cli_put_named(stderr, "  hint: finish or undo that work by hand and fix the "
                                      "tool's history, or pass --allow-failed to record it as "
                                      "failed (then `poblysh migrate repair`)\n");
        else if (err.code == PM_EFOREIGN && !opts->argument)
            pm__cli_put_named(stderr, "  hint: name the tool: poblysh migrate adopt TOOL\n");
    }
    pm__cli_session_close(&s);
    pm_error_clear(&err);
    return code;
}
