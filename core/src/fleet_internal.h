/* fleet_internal.h: the fleet's private structures, shared by fleet.c (the
 * run) and fleet_targets.c (adding targets: lists, files, queries). Not
 * installed. */
#ifndef PM_FLEET_INTERNAL_H
#define PM_FLEET_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "internal.h"
#include "poblysh/fleet.h"

/* One target: the public result first, then what only the fleet sees. */
typedef struct pm__fleet_target {
    pm_fleet_result result;
    char *url;           /* as given, password included: only ever opened, never shown */
    char *redacted;      /* result.url */
    char *name_given;    /* the name given, or NULL */
    char *name_from_url; /* the name made from the URL (name_given == NULL) */
    char *name_if_clash; /* redacted URL[#schema], when names made collide */
    char *schema;
    char *origin;
    pm_error error;    /* result.error points here once it ended badly */
    pm_status *status; /* PM_FLEET_STATUS */
    pm_db *db;         /* while running: registered for pm_fleet_interrupt() */
    size_t group;      /* PM_FLEET_VERIFY: the index of the target verifying its server */
} pm__fleet_target;

/* An open-addressing hash of targets: slots hold a target's index + 1, 0
 * when empty; cap is a power of two. */
typedef struct pm__fleet_index {
    size_t *slots;
    size_t cap;
} pm__fleet_index;

struct pm_fleet {
    const pm_migration *const *set;
    size_t count;
    pm_fleet_options opts;
    pm_engine_options engine; /* copied from opts.engine, or the defaults */
    pm_db_options db;         /* copied from opts.db, or the defaults */
    pm__fleet_target **targets;
    size_t ntargets, cap;
    pm__fleet_index twins;       /* by redacted URL and schema */
    pm__fleet_index given_names; /* by the name given */
    /* pm_fleet_interrupt() sets both: the atomic is what the fleet's
     * threads read; the sig_atomic_t is pm_db_options.interrupt's type. */
    atomic_int interrupt_requested;
    volatile sig_atomic_t interrupt_flag;
    bool names_settled; /* every result.name current (pm__fleet_settle_names()) */
    bool ran;
};

#if ATOMIC_INT_LOCK_FREE != 2
#error "pm_fleet_interrupt() needs a lock-free atomic_int to be async-signal-safe"
#endif

/* Whether pm_fleet_interrupt() was called. */
bool pm__fleet_interrupted(const pm_fleet *fleet);
/* Gives every target its result.name (made names that collide fall back to
 * name_if_clash), when targets were added or dropped since the last time. */
void pm__fleet_settle_names(pm_fleet *fleet);

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
