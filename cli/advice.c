/* advice.c: what to do next after an engine error, in this CLI's own terms.
 * The library's messages say what state the history is in ("modified since
 * applied", "marked failed"); the commands and flags that get out of it are
 * named here, chosen by the error code, the migration the error names, and
 * the states `migrate status` would show. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli_internal.h"

static void hint(const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    fputs("  hint: ", stderr);
    pm__cli_put_named(stderr, text); /* `poblysh migrate ...` as this program is called */
    fputc('\n', stderr);
}

/* The entry of migration name, or NULL. */
static const pm_status_entry *find_entry(const pm_status *st, const char *name)
{
    for (size_t i = 0; i < pm_status_count(st); i++)
        if (strcmp(pm_status_entry_at(st, i)->name, name) == 0)
            return pm_status_entry_at(st, i);
    return NULL;
}

static void advise_failed(const char *name)
{
    hint("see `poblysh migrate status`; once its work is finished or undone by hand, run "
         "`poblysh migrate repair --applied %s` (finished) or `poblysh migrate repair --rollback "
         "%s` (undone)",
         name, name);
}

/* up refused: one way out per problem the given flags did not excuse. */
static void advise_refusal(const pm_status *st, const cli_options *opts)
{
    bool missing = false, out_of_order = false;
    for (size_t i = 0; i < pm_status_count(st); i++) {
        const pm_status_entry *e = pm_status_entry_at(st, i);
        if (e->state == PM_STATE_FAILED)
            advise_failed(e->name);
        else if (e->state == PM_STATE_MODIFIED && !(opts->given & OPT_IGNORE_MODIFIED))
            hint("if the edit of %s is intended run `poblysh migrate repair --accept %s`, or pass "
                 "--ignore-modified",
                 e->name, e->name);
        missing |= e->state == PM_STATE_MISSING && !(opts->given & OPT_ALLOW_MISSING);
        out_of_order |=
            e->state == PM_STATE_OUT_OF_ORDER && !(opts->given & OPT_ALLOW_OUT_OF_ORDER);
    }
    if (missing)
        hint("run the build that has the missing migrations, or pass --allow-missing");
    if (out_of_order)
        hint("pass --allow-out-of-order to apply the out-of-order migrations");
}

/* repair refused: the action does not fit the migration's state. */
static void advise_repair(const pm_status *st, const cli_options *opts, const pm_error *err)
{
    const pm_status_entry *e = find_entry(st, opts->repair_name);
    if (!e)
        return;
    if (opts->repair == PM_REPAIR_ACCEPT && err->code == PM_EFAILED)
        hint("use --applied or --rollback, not --accept, for a failed migration");
    else if (opts->repair != PM_REPAIR_ACCEPT && err->code == PM_EINVAL &&
             e->state != PM_STATE_FAILED)
        hint("--applied and --rollback only clear a failed migration");
}

void pm__cli_advise(const cli_session *s, const cli_options *opts, const pm_error *err)
{
    bool repair = (opts->given & OPT_REPAIR) && opts->repair_name;
    bool refusal = !err->migration &&
                   (err->code == PM_EFAILED || err->code == PM_ECHECKSUM || err->code == PM_EDRIFT);
    if (!s->engine || (!repair && !refusal && !err->migration))
        return;
    pm_status *st = NULL;
    pm_error ignored = PM_ERROR_INIT;
    if (pm_engine_status(s->engine, &st, &ignored) == 0) {
        const pm_status_entry *e = err->migration ? find_entry(st, err->migration) : NULL;
        if (repair)
            advise_repair(st, opts, err);
        else if (refusal)
            advise_refusal(st, opts);
        else if (e && e->state == PM_STATE_FAILED)
            advise_failed(e->name);
    }
    pm_status_free(st);
    pm_error_clear(&ignored);
}
