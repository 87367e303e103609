/* testserver.h: helpers for the tests that run the poblysh CLI against a real
 * database server (test_postgres, test_mariadb, test_server_*,
 * test_fleet_servers): formatting, timing, starting poblysh and collecting
 * its run, pipe reading and assertions on a run. Not to be included
 * together with testproc.h, whose run_result and child differ. */
#ifndef PM_TESTSERVER_H
#define PM_TESTSERVER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "testutil.h"

typedef struct run_result {
    int status; /* the exit code, or 128 + signal */
    char *out;
    char *err;
    double seconds; /* from spawn to exit */
} run_result;

typedef struct child {
    pid_t pid;
    int out_fd, err_fd; /* -1 when not piped */
    struct timespec started;
    bool exited; /* reaped; wait_status holds how */
    int wait_status;
} child;

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Appends p to *kept (growing it), so teardown frees it; returns p. */
void *srv_keep(void ***kept, size_t *nkept, void *p);
/* A malloc'd formatted string, or NULL. */
char *vfmt(const char *format, va_list ap);
double seconds_since(const struct timespec *start);
void sleep_ms(int ms);
void srv_free_run(run_result *r);
/* Kills and reaps what a failed test left running, closing its pipes. */
void kill_children(child *children, size_t nchildren);
char *strndup_or_null(const char *s, size_t n);

typedef struct buffer {
    char *data;
    size_t len, cap;
} buffer;

/* Reads what is available on fd into b; returns 0 at end of file. */
int read_some(int fd, buffer *b);
char *take_buffer(buffer *b);

/* The server a server test runs against, from what scripts/with-postgres.sh
 * or with-mariadb.sh exports: its admin URL and password. 0, or 1 after
 * saying on stderr (as program) that they are not set: a server test never
 * skips. */
int srv_server_env(const char *program, bool postgres, const char **url, const char **secret);

/* Opens url, the test server's admin account, for a test's setup; NULL
 * after saying on stderr why it could not (a server test never skips). */
pm_db *srv_open_admin(const char *url);

/* How srv_spawn_cli() starts poblysh: the binary, the folder it runs in
 * (NULL: this one), POBLYSH_PROFILE (NULL: unset), stdin from /dev/null. */
typedef struct srv_spawn {
    const char *cli_path;
    const char *dir;
    const char *profile;
    bool stdin_null;
} srv_spawn;

/* Starts `poblysh args...` as how says, with only PATH, the profile and this
 * process's sanitizer settings in its environment; what it allocates (the
 * child too) goes to *kept for teardown to free. */
child *srv_spawn_cli(void ***kept, size_t *nkept, const srv_spawn *how, const char *const *args);
/* Reads c's stdout and stderr into r to their end, reaps c and fills r's
 * status and seconds. Fails the test (after killing c) when c runs past
 * timeout_ms from its start, or when secret (NULL: none) is in its output. */
void srv_collect(child *c, run_result *r, int timeout_ms, const char *secret);

#define assert_exit(r, code) srv_assert_exit_((r), (code), __FILE__, __LINE__)
void srv_assert_exit_(const run_result *r, int code, const char *file, int line);

#endif
