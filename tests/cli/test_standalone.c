/* test_standalone.c: the standalone poblysh, which has no migration set of
 * its own, and a service's binary built on pm_cli_main(), which names
 * itself. Run as: test_standalone <standalone poblysh> <poblysh-seed> <work dir>. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testproc.h"

static const char *standalone_path;
static const char *service_path;

/* A folder beside the test's directory holding one dbmate-style migration. */
static char *sql_folder(fixture *f, const char *name)
{
    char *dir = fmt(f, "%s/../%s-sql", f->dir, name);
    assert_int_equal(make_dir(dir), 0);
    FILE *fp = fopen(fmt(f, "%s/20250101000000_create_notes.sql", dir), "w");
    assert_non_null(fp);
    fputs("-- migrate:up\nCREATE TABLE notes (id INTEGER);\n-- migrate:down\nDROP TABLE notes;\n",
          fp);
    assert_int_equal(fclose(fp), 0);
    return dir;
}

static void
test_standalone__without_source_refuses_every_migrating_command_touching_nothing(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "no-source");
    static const char *const commands[][3] = {
        {"up", NULL, NULL},      {"down", NULL, NULL},
        {"status", NULL, NULL},  {"fresh", NULL, NULL},
        {"refresh", NULL, NULL}, {"reset", NULL, NULL},
        {"verify", NULL, NULL},  {"repair", "--accept", "m2024_01_01_000001_create_tenants"},
    };
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        const char *const *c = commands[i];
        const run_result *r = c[1] ? run_cli(f, LOCAL, ARGS("migrate", c[0], c[1], c[2]))
                                   : run_cli(f, LOCAL, ARGS("migrate", c[0]));
        assert_exit(r, 2);
        assert_empty(r->out);
        assert_contains(r->err, "poblysh: no migrations to manage");
        assert_contains(r->err, "--source DIR");
        assert_contains(r->err, "POBLYSH_MIGRATIONS_DIR");
        assert_contains(r->err, "pm_cli_main()");
        assert_contains(r->err, "Nothing was opened or changed.");
    }
    /* Not even the local profile's default file was created. */
    assert_int_equal(dir_entry_count(f), 0);
}

static void test_standalone__source_flag_and_environment_give_it_migrations(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "with-source");
    char *dir = sql_folder(f, "with-source");
    const run_result *r = run_cli(f, LOCAL, ARGS("--source", dir, "migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Applying 20250101000000_create_notes");
    assert_true(file_exists(f, "poblysh.db"));

    cli_extra_env = fmt(f, "POBLYSH_MIGRATIONS_DIR=%s", dir);
    r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_exit(r, 0);
    assert_contains(r->out, "20250101000000_create_notes");
    assert_contains(r->out, "1 applied, 0 pending.");
    assert_lacks(r->out, "create_tenants");
}

static void test_standalone__schema_and_help_need_no_migrations(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "schema");
    char *dir = sql_folder(f, "schema");
    assert_exit(run_cli(f, LOCAL, ARGS("--source", dir, "migrate", "up")), 0);
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "schema"));
    assert_exit(r, 0);
    assert_contains(r->out, "notes");
    r = run_cli(f, LOCAL, ARGS("migrate", "up", "--help"));
    assert_exit(r, 0);
    assert_contains(r->out, "Usage: poblysh migrate up");
}

static void test_standalone__version_is_the_loaded_library_version(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "version");
    const run_result *r = run_cli(f, LOCAL, ARGS("--version"));
    assert_exit(r, 0);
    assert_string_equal(r->out, fmt(f, "poblysh %s\n", pm_version()));
    assert_string_equal(pm_version(), PM_VERSION_STRING);
}

/* A service's binary, invoked as myservice: its usage, hints and version
 * name it, and it manages its own compiled-in set. */
static void test_service_binary__names_itself_and_manages_its_own_set(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "service");
    cli_path = service_path;
    cli_argv0 = "/usr/local/bin/myservice";
    const cli_env env = LOCAL;
    const run_result *r = run_cli(f, env, ARGS("--version"));
    assert_exit(r, 0);
    assert_string_equal(r->out, fmt(f, "myservice (poblysh %s)\n", pm_version()));
    r = run_cli(f, env, ARGS("--help"));
    assert_exit(r, 0);
    assert_contains(r->out, "Usage: myservice [options] migrate <command>");
    r = run_cli(f, env, ARGS("migrate", "down", "--help"));
    assert_contains(r->out, "Usage: myservice migrate down");
    r = run_cli(f, env, ARGS("migrate", "up", "--bogus"));
    assert_exit(r, 2);
    assert_contains(r->err, "Try 'myservice --help'.");
    r = run_cli(f, env, ARGS("migrate", "up"));
    cli_path = standalone_path;
    assert_exit(r, 0);
    assert_contains(r->out, "Applying m2024_01_01_000001_create_tenants");
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s <standalone poblysh> <service binary> <work dir>\n", argv[0]);
        return 2;
    }
    char *standalone = absolute_path(argv[1]);
    char *service = absolute_path(argv[2]);
    char *root = make_dir(argv[3]) == 0 ? absolute_path(argv[3]) : NULL;
    if (!standalone || !service || !root || access(standalone, X_OK) != 0 ||
        access(service, X_OK) != 0) {
        fprintf(stderr, "test_standalone: bad arguments: %s\n", strerror(errno));
        return 2;
    }
    standalone_path = cli_path = standalone;
    service_path = service;
    work_root = root;
    const struct CMUnitTest tests[] = {
        TEST(test_standalone__without_source_refuses_every_migrating_command_touching_nothing),
        TEST(test_standalone__source_flag_and_environment_give_it_migrations),
        TEST(test_standalone__schema_and_help_need_no_migrations),
        TEST(test_standalone__version_is_the_loaded_library_version),
        TEST(test_service_binary__names_itself_and_manages_its_own_set),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    free(standalone);
    free(service);
    free(root);
    return failed;
}
