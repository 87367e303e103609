/* errors.h: error codes and the error object every fallible poblysh call fills.
 *
 * Functions return 0 on success or a negative PM_E* code. The details a person
 * needs (message, the database's own code, the migration and statement at
 * fault) go in a pm_error that the caller owns and releases with
 * pm_error_clear(). Passing NULL for the error object is allowed.
 *
 * Threads: poblysh keeps no error state of its own (no errno-like global):
 * each call fills only the pm_error it is given, so give each thread its
 * own, or share one only under the caller's lock. pm_strerror() returns
 * static strings and may be called from any thread. */
#ifndef POBLYSH_ERRORS_H
#define POBLYSH_ERRORS_H

#ifdef __cplusplus
extern "C" {
#endif

/* One list generates the enum and pm_strerror() (libuv's UV_ERRNO_MAP). */
#define PM_ERRNO_MAP(X)                                                                            \
    X(ERROR, -1, "error")                                                                          \
    X(ENOMEM, -2, "out of memory")                                                                 \
    X(EINVAL, -3, "invalid argument")                                                              \
    X(EURL, -4, "invalid database URL")                                                            \
    X(ENODRIVER, -5, "no driver for this URL scheme")                                              \
    X(ECONNECT, -6, "cannot connect to the database")                                              \
    X(EDB, -7, "database error")                                                                   \
    X(EMIGRATION, -8, "migration failed")                                                          \
    X(ESET, -9, "invalid migration set")                                                           \
    X(ELOCKED, -10, "migration lock not acquired in time")                                         \
    X(ENOTFOUND, -11, "not found")                                                                 \
    X(EPENDING, -12, "pending migrations")                                                         \
    X(EPROFILE, -13, "profile has no database")                                                    \
    X(EUNSUPPORTED, -14, "not supported by this driver")                                           \
    X(EINTERRUPTED, -15, "interrupted")                                                            \
    X(ECHECKSUM, -16, "an applied migration was modified")                                         \
    X(EDRIFT, -17, "history and migration set disagree")                                           \
    X(EFAILED, -18, "a migration is marked failed")                                                \
    X(EMISUSE, -19, "used against the rules of the API")                                           \
    X(EHISTORY, -20, "the migration history is damaged")                                           \
    X(EFOREIGN, -21, "the database holds another migration tool's history")                        \
    X(EREADONLY, -22, "the database is a read-only standby")

typedef enum pm_errno {
    PM_OK = 0,
#define PM__ERRNO_ENUM(name, value, text) PM_##name = value,
    PM_ERRNO_MAP(PM__ERRNO_ENUM)
#undef PM__ERRNO_ENUM
} pm_errno;

/* The details of a failure. All strings are owned by the error object, are
 * NULL when unknown, and never contain a password. */
typedef struct pm_error {
    int code;        /* PM_E* code, PM_OK when no error was recorded */
    char *message;   /* what went wrong, in one sentence */
    char *db_code;   /* the database's own code: SQLSTATE, SQLite result name */
    char *detail;    /* the database's detail text, if any */
    char *hint;      /* the database's hint, if any */
    char *migration; /* the migration being run when it failed */
    char *statement; /* the statement that failed */
    long position;   /* where in statement the database placed the error:
                        a 1-based character, 0 when it gave none */
} pm_error;

#define PM_ERROR_INIT                                                                              \
    {                                                                                              \
        0, 0, 0, 0, 0, 0, 0, 0                                                                     \
    }

/* The static name of a PM_E* code ("database error"); never NULL. */
const char *pm_strerror(int code);

/* Releases every string held by err and resets it to PM_ERROR_INIT.
 * Safe on NULL and on an already clear error. */
void pm_error_clear(pm_error *err);

#ifdef __cplusplus
}
#endif
#endif
