/* fleet_run.c: pm_bench_fleet, the process case 8 times: one whole fleet
 * (pm_fleet_*) running `up` of an SQL folder over a targets file, N targets
 * at once, as `poblysh migrate up --targets FILE -j N` does without the
 * printing. It checks what it measured: every target must end OK having
 * applied the whole folder (the targets were fresh), else it exits 1.
 *
 *   pm_bench_fleet SOURCE_DIR TARGETS_FILE JOBS */
#include <stdio.h>
#include <stdlib.h>

#include "poblysh/fleet.h"
#include "poblysh/poblysh.h"

static int fail(const char *what, pm_error *err)
{
    fprintf(stderr, "pm_bench_fleet: %s: %s\n", what,
            err->message ? err->message : pm_strerror(err->code));
    pm_error_clear(err);
    return 1;
}

/* Every target OK with the whole set applied; says which one is not. */
static int check_results(const pm_fleet *fleet, size_t count)
{
    for (size_t i = 0; i < pm_fleet_size(fleet); i++) {
        const pm_fleet_result *r = pm_fleet_result_at(fleet, i);
        if (r->outcome != PM_FLEET_OK || r->applied != count) {
            fprintf(stderr, "pm_bench_fleet: %s: %s, %zu of %zu applied (not a fresh target?)\n",
                    r->name, pm_fleet_outcome_name(r->outcome), r->applied, count);
            return 1;
        }
    }
    return 0;
}

static int run_fleet(const pm_migration *const *set, size_t count, const char *targets,
                     unsigned int jobs, pm_error *err)
{
    pm_fleet_options opts = PM_FLEET_OPTIONS_INIT;
    opts.jobs = jobs;
    pm_fleet *fleet = NULL;
    if (pm_fleet_new(&fleet, set, count, &opts, err) < 0)
        return fail("creating the fleet", err);
    int rc = pm_fleet_add_file(fleet, targets, err) < 0 ? fail("reading the targets", err) : 0;
    if (rc == 0 && pm_fleet_run(fleet, PM_FLEET_UP, err) < 0)
        rc = fail("running the fleet", err);
    if (rc == 0)
        rc = check_results(fleet, count);
    pm_fleet_free(fleet);
    return rc;
}

int main(int argc, char **argv)
{
    int jobs = argc == 4 ? atoi(argv[3]) : 0;
    if (argc != 4 || jobs < 1 || jobs > PM_FLEET_MAX_JOBS) {
        fprintf(stderr, "usage: pm_bench_fleet SOURCE_DIR TARGETS_FILE JOBS\n");
        return 2;
    }
    pm_error err = PM_ERROR_INIT;
    pm_source *source = NULL;
    if (pm_source_new(&source, &err) < 0 || pm_source_add_dir(source, argv[1], &err) < 0) {
        pm_source_free(source);
        return fail("loading the migrations", &err);
    }
    size_t count = 0;
    const pm_migration *const *set = pm_source_migrations(source, &count);
    int rc = run_fleet(set, count, argv[2], (unsigned int)jobs, &err);
    pm_source_free(source);
    return rc;
}
