/* testproc.h: what the CLI tests share for running the built poblysh binary
 * as a child process with a controlled environment, in a fresh directory per
 * test, and for checking its exit status, stdout and stderr. */
#ifndef PM_TESTPROC_H
#define PM_TESTPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "testutil.h"

/* Set by the test's main before any test runs. */
extern const char *cli_path;  /* absolute path of the poblysh binary */
extern const char *work_root; /* absolute path of the work dir */

/* ==== Fixture ==== */

typedef struct run_result {
    int status; /* the exit code, or 128 + signal */
    char *out;
    char *err;
} run_result;

/* What one test owns; teardown releases all of it, even after a failure. */
typedef struct fixture {
    char *dir; /* this test's fresh directory, absolute */
    run_result **runs;
    size_t nruns;
    void **kept; /* other allocations, freed by teardown */
    size_t nkept;
    pm_db *db; /* opened by the test, closed by teardown */
} fixture;

/* The environment of a run; NULL leaves a variable unset. */
typedef struct cli_env {
    const char *profile;
    const char *url;
} cli_env;

/* For the runs of one test (teardown resets both): argv[0] (NULL:
 * "poblysh"), and one more NAME=value for the environment (NULL: none). */
extern const char *cli_argv0;
extern const char *cli_extra_env;
/* A second one, likewise (NULL: none). */
extern const char *cli_extra_env2;
/* For the runs of one test (teardown resets it): the file the child's
 * stdout goes to instead of the pipe (/dev/full), or NULL. */
extern const char *cli_stdout_path;

extern const cli_env LOCAL; /* profile local, no URL */

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NO_ARGS ((const char *const[]){NULL})

/* p, freed by teardown. */
void *keep(fixture *f, void *p);
/* A formatted string that lives until teardown. */
char *fmt(fixture *f, const char *format, ...);

/* The cmocka setup and teardown of a fixture. */
int setup(void **state);
int teardown(void **state);
void free_run(run_result *r);

/* ==== The test's directory ==== */

/* Makes <work dir>/<name> exist and be empty (of files: tests make no
 * subdirectories), and makes it this test's directory. */
void fresh_dir(fixture *f, const char *name);
char *path_in_dir(fixture *f, const char *file);
bool file_exists(fixture *f, const char *file);
size_t dir_entry_count(fixture *f);
/* sqlite:///abs/dir/file: the same file whatever the current directory. */
char *file_url(fixture *f, const char *file);
/* Opens a file of the test's directory, closing the one open before. */
pm_db *open_db(fixture *f, const char *file);
void close_db(fixture *f);
/* Makes file an empty SQLite database, for commands that never create one. */
void empty_db(fixture *f, const char *file);

/* ==== Running the binary ==== */

typedef struct child {
    pid_t pid;
    int out_fd;
    int err_fd;
} child;

/* Starts `poblysh args...` in the test's directory with only env set. */
child spawn_cli(fixture *f, cli_env env, const char *const *args);
/* Reads the child's stdout and stderr to their end, waits for it, and
 * returns the outcome (owned by the fixture). */
const run_result *collect(fixture *f, child c);
const run_result *run_cli(fixture *f, cli_env env, const char *const *args);

/* ==== Assertions that show the run ==== */

#define assert_exit(r, code) assert_exit_((r), (code), __FILE__, __LINE__)
#define assert_contains(text, needle) assert_contains_((text), (needle), #text, __FILE__, __LINE__)
#define assert_lacks(text, needle) assert_lacks_((text), (needle), #text, __FILE__, __LINE__)
#define assert_empty(text) assert_empty_((text), #text, __FILE__, __LINE__)

void assert_exit_(const run_result *r, int code, const char *file, int line);
void assert_contains_(const char *text, const char *needle, const char *what, const char *file,
                      int line);
void assert_lacks_(const char *text, const char *needle, const char *what, const char *file,
                   int line);
void assert_empty_(const char *text, const char *what, const char *file, int line);

/* ==== Output ==== */

/* The line of text that starts with prefix, without its newline (owned by
 * the fixture); fails the test when there is none. */
char *line_starting(fixture *f, const char *text, const char *prefix);

/* ==== On a terminal (forkpty: link with -lutil) ==== */

/* Runs `poblysh args...` with its stdout and stderr on a new
 * pseudo-terminal, in the test's directory, with env; returns all it wrote
 * (owned by the fixture) and stores the exit code. */
char *run_on_pty(fixture *f, char *const *env, const char *const *args, int *status);
/* The environment of a terminal run: PATH, the local profile, TERM=term
 * (NULL: unset), extra (NAME=value, or NULL) and the sanitizer settings. */
char **pty_env(fixture *f, const char *term, const char *extra);

/* ==== Main ==== */

/* 0 when path is, or now is, a directory; -1 otherwise. */
int make_dir(const char *path);
/* path made absolute against the current directory, since each child runs
 * in a directory of its own; malloc'd. */
char *absolute_path(const char *path);

#endif
