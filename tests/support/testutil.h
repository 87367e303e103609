/* testutil.h: what the test files share: fixture migrations that create and
 * drop a table named by their data pointer, one that fails half way, and
 * small helpers that read the database through the driver (so the same
 * helpers work on every backend). */
#ifndef PM_TESTUTIL_H
#define PM_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>

#include "poblysh/poblysh.h"

/* up: CREATE TABLE <data> (id INTEGER PRIMARY KEY, name TEXT); down: DROP it. */
int pm_test_up_create(pm_schema *s, const void *data);
int pm_test_down_drop(pm_schema *s, const void *data);
/* up: creates table <data>, then runs an invalid statement. */
int pm_test_up_create_then_fail(pm_schema *s, const void *data);

#define PM_TEST_MIGRATION(name, table)                                                             \
    {                                                                                              \
        name, pm_test_up_create, pm_test_down_drop, PM_MIGRATION_DEFAULT, NULL, table              \
    }
#define PM_TEST_FAILING_MIGRATION(name, table)                                                     \
    {                                                                                              \
        name, pm_test_up_create_then_fail, pm_test_down_drop, PM_MIGRATION_DEFAULT, NULL, table    \
    }

/* The statement pm_test_up_create_then_fail() fails on. */
#define PM_TEST_BAD_STATEMENT "INSERT INTO no_such_table_xyz VALUES (1)"

/* Opens url or fails the test, printing the error. */
pm_db *pm_test_open(const char *url);

/* Runs sql on db or fails the test. */
void pm_test_exec(pm_db *db, const char *sql);

/* The first column of the first row of sql as an integer; fails the test on
 * error or when there is no row. */
int64_t pm_test_int(pm_db *db, const char *sql);

/* The first column of the first row as a malloc'd string (NULL for SQL NULL
 * or no row). */
char *pm_test_text(pm_db *db, const char *sql);

/* url (scheme://authority/db?query or key=value) with its database replaced
 * by dbname, as verify and the test databases build theirs
 * (pm__url_with_database); malloc'd; fails the test when url has none. */
char *pm_test_url_with_database(const char *url, const char *dbname);

bool pm_test_has_table(pm_db *db, const char *table);
bool pm_test_has_column(pm_db *db, const char *table, const char *column);

/* Number of history rows, 0 when the table is absent. */
int64_t pm_test_history_count(pm_db *db);

/* Runs fn(arg) with stderr going to a temporary file, and puts what it
 * wrote into buf (NUL-terminated, cut at size - 1). */
void pm_test_capture_stderr(void (*fn)(void *), void *arg, char *buf, size_t size);

/* How pm_test_spawn() starts a child; a NULL opts means none of these. */
typedef struct pm_test_spawn_opts {
    const char *dir;         /* chdir here first, or NULL */
    bool stdin_null;         /* stdin from /dev/null */
    bool close_stdout;       /* stdout closed, for tests of a failing stdout */
    const char *stdout_path; /* stdout written to this file (/dev/full), or NULL */
} pm_test_spawn_opts;

/* Starts path with argv and envp, its stdout and stderr on two pipes whose
 * read ends go to *out_fd and *err_fd; returns its pid. Every pipe end is
 * close-on-exec, so children started together do not hold each other's pipes
 * open and every reader sees end of file when its child exits. The child
 * exits 125 (redirection), 126 (chdir) or 127 (execve) when it cannot
 * start, saying so on stderr. */
pid_t pm_test_spawn(const char *path, char *const *argv, char *const *envp,
                    const pm_test_spawn_opts *opts, int *out_fd, int *err_fd);

/* How many times needle occurs in text, not overlapping. */
size_t count_occurrences(const char *text, const char *needle);

/* Fails the test, printing err, unless rc is 0. */
#define pm_test_ok(rc, err) pm_test__ok((rc), (err), __FILE__, __LINE__)
void pm_test__ok(int rc, const pm_error *err, const char *file, int line);

#endif
