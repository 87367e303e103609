/* pq_lazy.c: loads libpq with dlopen on first use (see pq_lazy.h). */
#define PM_PQ_LAZY_IMPL
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "poblysh/sys/driver.h"
#include "pq_lazy.h"

pm_pq_api pm_pq;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *missing; /* the symbol or library that failed, or NULL */
static char failure[256];

static void load(void)
{
    void *lib = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(failure, sizeof(failure), "%s", dlerror());
        missing = "libpq.so.5";
        return;
    }
#define PM_PQ_RESOLVE(name)                                                                        \
    if (!missing && !(*(void **)&pm_pq.name = dlsym(lib, #name)))                                  \
        missing = #name;
    PM_PQ_FUNCTIONS(PM_PQ_RESOLVE)
#undef PM_PQ_RESOLVE
}

int pm_pq_load(pm_error *err)
{
    pthread_once(&once, load);
    if (!missing)
        return 0;
    if (*failure) /* dlerror() names the library itself */
        return pm_error_set(err, PM_ECONNECT,
                            "the PostgreSQL driver needs libpq (%s); install libpq5", failure);
    return pm_error_set(err, PM_ECONNECT,
                        "the PostgreSQL driver needs a newer libpq: libpq.so.5 has no %s", missing);
}
