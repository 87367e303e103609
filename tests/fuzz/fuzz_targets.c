/* fuzz_targets.c: a fleet's targets file (pm_fleet_add_text), text anyone
 * may hand to `migrate --targets`. Oracles besides the sanitizers: a list
 * is added whole or not at all (a refusal leaves the fleet as it was and
 * its message names the origin); every target added names its origin and
 * line and has a name and a URL; the same text added again is refused as
 * listing every target twice, adding nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "poblysh/poblysh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ORIGIN "fuzz"

/* Whether a refusal's message starts with the origin (out of memory aside). */
static bool names_origin(const pm_error *err)
{
    return err->code == PM_ENOMEM ||
           (err->message && strncmp(err->message, ORIGIN, strlen(ORIGIN)) == 0);
}

static void check_targets(const pm_fleet *fleet)
{
    for (size_t i = 0; i < pm_fleet_size(fleet); i++) {
        const pm_fleet_result *r = pm_fleet_result_at(fleet, i);
        if (!r || r->index != i || !r->name || !*r->name || !r->url || !r->origin ||
            strncmp(r->origin, ORIGIN ":", strlen(ORIGIN) + 1) != 0 ||
            r->outcome != PM_FLEET_WAITING)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pm_fleet *fleet = NULL;
    pm_error err = PM_ERROR_INIT;
    if (pm_fleet_new(&fleet, NULL, 0, NULL, &err) < 0)
        abort();
    const char *text = (const char *)data;
    int rc = pm_fleet_add_text(fleet, text, size, ORIGIN, &err);
    if (rc < 0 && (pm_fleet_size(fleet) != 0 || !names_origin(&err)))
        abort();
    if (rc == 0 && pm_fleet_size(fleet) == 0)
        abort();
    check_targets(fleet);
    size_t before = pm_fleet_size(fleet);
    pm_error_clear(&err);
    if (rc == 0) {
        int again = pm_fleet_add_text(fleet, text, size, ORIGIN, &err);
        if ((again != PM_EINVAL && again != PM_ENOMEM) || pm_fleet_size(fleet) != before ||
            !names_origin(&err))
            abort();
    }
    pm_error_clear(&err);
    pm_fleet_free(fleet);
    return 0;
}
