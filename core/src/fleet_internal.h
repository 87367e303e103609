/* fleet_internal.h: the fleet's private structures, shared by fleet.c (the
 * run) and fleet_targets.c (adding targets: lists, files, queries). Not
 * installed. */
#ifndef PM_FLEET_INTERNAL_H
#define PM_FLEET_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include "internal.h"
#include "poblysh/fleet.h"

/* One target: the public result first, then what only the fleet sees. */
typedef struct pm__fleet_target {
    pm_fleet_result result;
    char *url;      /* as given, password included: only ever opened, never shown */
    char *redacted; /* result.url */
    char *given;    /* the name given, or NULL */
    char *made;     /* the name made from the URL (given == NULL) */
    char *fallback; /* redacted URL[#schema], when made names collide */
    char *schema;
    char *origin;
    pm_error error;    /* result.error points here once it ended badly */
    pm_status *status; /* PM_FLEET_STATUS */
    pm_db *db;         /* while running: registered for pm_fleet_interrupt() */
    size_t group;      /* PM_FLEET_VERIFY: the index of the target verifying its server */
} pm__fleet_target;

struct pm_fleet {
    const pm_migration *const *set;
    size_t count;
    pm_fleet_options opts;
    pm_engine_options engine; /* copied from opts.engine, or the defaults */
    pm_db_options db;         /* copied from opts.db, or the defaults */
    pm__fleet_target **targets;
    size_t ntargets, cap;
    volatile sig_atomic_t interrupted; /* pm_fleet_interrupt() */
    bool ran;
};

/* Adds one target (copying every string) and names it; origin says where it
 * was listed. Refuses a given name already taken or a URL and schema
 * already listed, naming both origins. */
int pm__fleet_add(pm_fleet *fleet, const char *url, const char *name, const char *schema,
                  const char *origin, pm_error *err);
/* How many targets there are, to drop the ones added after with
 * pm__fleet_rollback() when a list turns out invalid. */
size_t pm__fleet_mark(const pm_fleet *fleet);
void pm__fleet_rollback(pm_fleet *fleet, size_t mark);

#endif
