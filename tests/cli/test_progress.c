/* test_progress.c: what a long run shows, through the standalone binary:
 * "[k/N]" lines when stdout is a pipe, the redrawn bar line on a terminal (a
 * pseudo-terminal from forkpty()), --progress, -q, -V, -d, colour only where
 * wanted, capped migration lists in errors, the sqlite3: alias and
 * `migrate init`. Run as: test_progress <path to poblysh> <work dir>. */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testproc.h"

/* ==== Folders of SQL migrations ==== */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* <test dir>/name, made empty: a folder of its own beside the database. */
static char *fresh_subdir(fixture *f, const char *name)
{
    char *path = path_in_dir(f, name);
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return path;
}

/* fresh_dir() after removing what an earlier, failed run left in it
 * (fresh_dir removes files only). */
static void fresh_test_dir(fixture *f, const char *name)
{
    char *path = fmt(f, "%s/%s", work_root, name);
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    fresh_dir(f, name);
}

static int64_t db_history_count_of(fixture *f)
{
    int64_t n = pm_test_history_count(open_db(f, "x.db"));
    close_db(f);
    return n;
}

/* count migrations 0001_tNNNN .. in a new folder name; each creates a table. */
static char *sql_folder(fixture *f, const char *name, size_t first, size_t count)
{
    char *dir = fresh_subdir(f, name);
    if (mkdir(dir, 0755) != 0)
        fail_msg("cannot create %s: %s", dir, strerror(errno));
    for (size_t i = first; i < first + count; i++) {
        FILE *fp = fopen(fmt(f, "%s/%04zu_t%04zu.sql", dir, i, i), "w");
        assert_non_null(fp);
        fprintf(fp, "-- migrate:up\nCREATE TABLE t%04zu (id INTEGER);\n", i);
        fprintf(fp, "-- migrate:down\nDROP TABLE t%04zu;\n", i);
        fclose(fp);
    }
    return dir;
}

/* The directory's test teardown removes files only: take subfolders away. */
static void remove_subdir(fixture *f, const char *name)
{
    fresh_subdir(f, name);
}

/* ==== A pseudo-terminal ==== */

/* ==== Lines when piped ==== */

static void test_progress__piped_up_of_200_prints_k_of_n_lines(void **state)
{
    fixture *f = *state;
    fresh_test_dir(f, "piped_200");
    char *dir = sql_folder(f, "sql", 1, 200);
    const run_result *r =
        run_cli(f, LOCAL, ARGS("--source", dir, "--database-url", "sqlite:x.db", "migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "[1/200] Applying 0001_t0001 ... done (");
    assert_contains(r->out, "[100/200] Applying 0100_t0100 ... done (");
    assert_contains(r->out, "[200/200] Applying 0200_t0200 ... done (");
    assert_contains(r->out, "Applied 200 migrations.\n");
    assert_lacks(r->out, "\r");
    assert_lacks(r->out, "\033");
    /* down counts what it reverts, the last applied first */
    r = run_cli(f, LOCAL,
                ARGS("-d", dir, "--database-url", "sqlite:x.db", "migrate", "down", "-n", "3"));
    assert_exit(r, 0);
    assert_contains(r->out, "[1/3] Reverting 0200_t0200 ... done (");
    assert_contains(r->out, "[3/3] Reverting 0198_t0198 ... done (");
    remove_subdir(f, "sql");
}

static void test_progress__up_with_n_counts_only_what_it_applies(void **state)
{
    fixture *f = *state;
    fresh_test_dir(f, "up_n");
    char *dir = sql_folder(f, "sql", 1, 5);
    const run_result *r = run_cli(
        f, LOCAL, ARGS("-d", dir, "--database-url", "sqlite:x.db", "migrate", "up", "-n", "2"));
    assert_exit(r, 0);
    assert_contains(r->out, "[1/2] Applying 0001_t0001");
    assert_contains(r->out, "[2/2] Applying 0002_t0002");
    assert_lacks(r->out, "0003_t0003");
    remove_subdir(f, "sql");
}

static void test_progress__progress_none_and_quiet(void **state)
{
    fixture *f = *state;
    fresh_test_dir(f, "none_quiet");
    char *dir = sql_folder(f, "sql", 1, 4);
    const run_result *r = run_cli(f, LOCAL,
                                  ARGS("-d", dir, "--database-url", "sqlite:x.db", "--progress",
                                       "none", "migrate", "up", "-n", "2"));
    assert_exit(r, 0);
    assert_lacks(r->out, "Applying");
    assert_contains(r->out, "Applied 2 migrations.\n");
    r = run_cli(f, LOCAL, ARGS("-q", "-d", dir, "--database-url", "sqlite:x.db", "migrate", "up"));
    assert_exit(r, 0);
    assert_empty(r->out);
    assert_empty(r->err);
    assert_int_equal(db_history_count_of(f), 4);
    /* errors still show under -q */
    r = run_cli(
        f, LOCAL,
        ARGS("--quiet", "-d", dir, "--database-url", "sqlite:nodir/x.db", "migrate", "down"));
    assert_exit(r, 4);
    assert_empty(r->out);
    assert_contains(r->err, "poblysh: error:");
    r = run_cli(f, LOCAL, ARGS("--progress", "bar", "migrate", "up"));
    assert_exit(r, 2);
    assert_contains(r->err, "--progress must be auto, plain or none, not \"bar\"");
    remove_subdir(f, "sql");
}

static void test_progress__short_version_flag(void **state)
{
    fixture *f = *state;
    fresh_test_dir(f, "version");
    const run_result *r = run_cli(f, LOCAL, ARGS("-V"));
    assert_exit(r, 0);
    const run_result *l = run_cli(f, LOCAL, ARGS("--version"));
    assert_string_equal(r->out, l->out);
    assert_contains(r->out, "poblysh ");
}

/* ==== The bar on a terminal ==== */

static void test_progress__terminal_shows_a_redrawn_bar_then_the_summary(void **state)
{
    fixture *f = *state;
    fresh_test_dir(f, "pty_bar");
    char *dir = sql_folder(f, "sql", 1, 60);
    int status = 0;
    char *out =
        run_on_pty(f, pty_env(f, "xterm", "POBLYSH_TEST_PROGRESS_AFTER_MS=0"),
                   ARGS("-d", dir, "--database-url", "sqlite:x.db", "migrate", "up"), &status);
    assert_int_equal(status, 0);
    assert_contains(out, "\r[");
    assert_contains(out, "/60 ");
    assert_contains(out, "ETA ");
    assert_lacks(out, "[2/60] Applying"); /* the bar replaces the lines */
    assert_contains(out, "\rApplied 60 migrations.");
    assert_lacks(out, "\033");
    remove_subdir(f, "sql");
}

static void test_progress__terminal_prints_lines_before_the_threshold(void **state)
{
    fixture *f = *state;
    fresh_test_dir(f, "pty_short");
    char *dir = sql_folder(f, "sql", 1, 3);
    int status = 0;
    char *out =
        run_on_pty(f, pty_env(f, "xterm", NULL),
                   ARGS("-d", dir, "--database-url", "sqlite:x.db", "migrate", "up"), &status);
    assert_int_equal(status, 0);
    assert_contains(out, "[3/3] Applying 0003_t0003 ... done (");
    assert_lacks(out, "ETA");
    remove_subdir(f, "sql");
}

static void test_progress__plain_on_a_terminal_prints_lines(void **state)
{
    fixture *f = *state;
    fresh_test_dir(f, "pty_plain");
    char *dir = sql_folder(f, "sql", 1, 10);
    int status = 0;
    char *out = run_on_pty(
        f, pty_env(f, "xterm", "POBLYSH_TEST_PROGRESS_AFTER_MS=0"),
        ARGS("--progress", "plain", "-d", dir, "--database-url", "sqlite:x.db", "migrate", "up"),
        &status);
    assert_int_equal(status, 0);
    assert_contains(out, "[10/10] Applying 0010_t0010 ... done (");
    assert_lacks(out, "ETA");
    remove_subdir(f, "sql");
}

/* status colours its states on a terminal, unless NO_COLOR or TERM=dumb. */
static void test_progress__colour_only_on_a_terminal_without_no_color_or_dumb(void **state)
{
    fixture *f = *state;
    fresh_test_dir(f, "colour");
    char *dir = sql_folder(f, "sql", 1, 2);
    const char *const *args = ARGS("-d", dir, "--database-url", "sqlite:x.db", "migrate", "status");
    assert_exit(
        run_cli(f, LOCAL,
                ARGS("-d", dir, "--database-url", "sqlite:x.db", "migrate", "up", "-n", "1")),
        0);
    int status = 0;
    char *out = run_on_pty(f, pty_env(f, "xterm", NULL), args, &status);
    assert_contains(out, "\033[");
    out = run_on_pty(f, pty_env(f, "xterm", "NO_COLOR=1"), args, &status);
    assert_contains(out, "pending");
    assert_lacks(out, "\033");
    out = run_on_pty(f, pty_env(f, "dumb", NULL), args, &status);
    assert_contains(out, "pending");
    assert_lacks(out, "\033");
    const run_result *r = run_cli(f, LOCAL, args);
    assert_contains(r->out, "pending");
    assert_lacks(r->out, "\033");
    remove_subdir(f, "sql");
}

/* ==== Readable errors ==== */

static void test_progress__missing_migrations_are_listed_up_to_ten(void **state)
{
    fixture *f = *state;
    fresh_test_dir(f, "capped");
    char *many = sql_folder(f, "many", 1, 1200);
    assert_exit(run_cli(f, LOCAL,
                        ARGS("--progress", "none", "-d", many, "--database-url", "sqlite:x.db",
                             "migrate", "up")),
                0);
    char *other = sql_folder(f, "other", 5000, 1);
    const run_result *r =
        run_cli(f, LOCAL, ARGS("-d", other, "--database-url", "sqlite:x.db", "migrate", "up"));
    assert_exit(r, 5);
    assert_contains(r->err, "missing (applied in the database, not in this build): 0001_t0001, ");
    assert_contains(r->err, "0010_t0010 and 1,190 more: run `poblysh migrate status`");
    assert_lacks(r->err, "0011_t0011");
    assert_true(strlen(r->err) < 2000);
    remove_subdir(f, "many");
    remove_subdir(f, "other");
}

static void test_progress__sqlite3_scheme_is_an_alias_of_sqlite(void **state)
{
    fixture *f = *state;
    fresh_test_dir(f, "sqlite3");
    char *dir = sql_folder(f, "sql", 1, 2);
    const run_result *r =
        run_cli(f, LOCAL, ARGS("-d", dir, "--database-url", "sqlite3:a.db", "migrate", "up"));
    assert_exit(r, 0);
    assert_true(file_exists(f, "a.db"));
    r = run_cli(f, LOCAL, ARGS("-d", dir, "--database-url", "sqlite3://b.db", "migrate", "up"));
    assert_exit(r, 0);
    assert_true(file_exists(f, "b.db"));
    r = run_cli(
        f, LOCAL,
        ARGS("-d", dir, "--database-url", fmt(f, "sqlite3://%s/c.db", f->dir), "migrate", "up"));
    assert_exit(r, 0);
    assert_true(file_exists(f, "c.db"));
    remove_subdir(f, "sql");
}

/* ==== migrate init ==== */

static void test_progress__init_makes_a_c_folder_and_refuses_an_existing_one(void **state)
{
    fixture *f = *state;
    fresh_test_dir(f, "init_c");
    fresh_subdir(f, "migrations");
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "init"));
    assert_exit(r, 0);
    assert_contains(r->out, "Created migrations with registry.def");
    assert_contains(r->out, "_create_table.c and registered it in migrations/registry.def");
    FILE *fp = fopen(path_in_dir(f, "migrations/registry.def"), "r");
    assert_non_null(fp);
    char text[4096] = "";
    size_t n = fread(text, 1, sizeof(text) - 1, fp);
    text[n] = '\0';
    fclose(fp);
    assert_contains(text, "PM_REGISTER(m");
    assert_contains(text, "_create_table)");
    r = run_cli(f, LOCAL, ARGS("migrate", "init"));
    assert_exit(r, 2);
    assert_contains(r->err, "cannot create migrations: File exists");
    remove_subdir(f, "migrations");
}

/* SeaORM's `migrate generate NAME -d DIR`: -d names generate's folder. */
static void test_progress__generate_takes_d_as_its_folder(void **state)
{
    fixture *f = *state;
    fresh_test_dir(f, "generate_d");
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "init", "--dir", "mig"));
    assert_exit(r, 0);
    sleep(1); /* a second version in the same second is refused */
    r = run_cli(f, LOCAL, ARGS("migrate", "generate", "add_widgets", "-d", "mig"));
    assert_exit(r, 0);
    assert_contains(r->out, "_add_widgets.c and registered it in mig/registry.def");
    assert_false(file_exists(f, "migrations"));
    remove_subdir(f, "mig");
}

static void test_progress__init_sql_makes_a_folder_up_can_run(void **state)
{
    fixture *f = *state;
    fresh_test_dir(f, "init_sql");
    fresh_subdir(f, "db");
    const run_result *r =
        run_cli(f, LOCAL, ARGS("migrate", "init", "--sql", "-d", "db/migrations"));
    assert_exit(r, 0);
    assert_contains(r->out, "Created db/migrations\n");
    assert_contains(r->out, "_create_table.sql");
    r = run_cli(f, LOCAL,
                ARGS("-d", "db/migrations", "--database-url", "sqlite:x.db", "migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "[1/1] Applying ");
    remove_subdir(f, "db");
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s <path to poblysh> <work dir>\n", argv[0]);
        return 2;
    }
    cli_path = absolute_path(argv[1]);
    work_root = make_dir(argv[2]) == 0 ? absolute_path(argv[2]) : NULL;
    if (!cli_path || access(cli_path, X_OK) != 0 || !work_root) {
        fprintf(stderr, "test_progress: bad binary %s or work dir %s\n", argv[1], argv[2]);
        return 2;
    }
    const struct CMUnitTest tests[] = {
        TEST(test_progress__piped_up_of_200_prints_k_of_n_lines),
        TEST(test_progress__up_with_n_counts_only_what_it_applies),
        TEST(test_progress__progress_none_and_quiet),
        TEST(test_progress__short_version_flag),
        TEST(test_progress__terminal_shows_a_redrawn_bar_then_the_summary),
        TEST(test_progress__terminal_prints_lines_before_the_threshold),
        TEST(test_progress__plain_on_a_terminal_prints_lines),
        TEST(test_progress__colour_only_on_a_terminal_without_no_color_or_dumb),
        TEST(test_progress__missing_migrations_are_listed_up_to_ten),
        TEST(test_progress__sqlite3_scheme_is_an_alias_of_sqlite),
        TEST(test_progress__init_makes_a_c_folder_and_refuses_an_existing_one),
        TEST(test_progress__generate_takes_d_as_its_folder),
        TEST(test_progress__init_sql_makes_a_folder_up_can_run),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    free((char *)cli_path);
    free((char *)work_root);
    return failed;
}
