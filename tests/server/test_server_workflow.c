/* test_server_workflow.c: `verify` and `fresh` through the poblysh binary on
 * a real server, PostgreSQL or MariaDB, with the SQL sets under
 * tests/fixtures/sql/workflow. verify must leave the target database's
 * catalog exactly as it was (every schema, table, column, function, type,
 * trigger and event trigger, with their OIDs or creation times), work in a
 * scratch database it drops on every path, check every migration and end
 * with a summary; fresh must list, then drop, everything the sets made, and
 * succeed twice in a row.
 * Run as: test_server_workflow postgres|mysql <poblysh> <fixtures dir>, with
 * the environment scripts/with-postgres.sh or scripts/with-mariadb.sh
 * exports. Without a server it fails, loudly. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testserver.h"

#define RUN_TIMEOUT_MS 60000

static const char *cli_path;   /* the poblysh binary */
static const char *sets_dir;   /* tests/fixtures/sql/workflow */
static const char *admin_url;  /* a superuser (PostgreSQL) or an account with every grant */
static bool postgres;          /* else MariaDB */
static const char *raw_secret; /* the admin password: never printed */

typedef struct fixture {
    pm_db *admin;
    char *dbname; /* this test's target database */
    char *url;
    pm_db *db;  /* open on it */
    char *role; /* a role the test created (PostgreSQL), dropped in teardown */
    run_result *runs[16];
    size_t nruns;
    void **kept;
    size_t nkept;
} fixture;

static char *fmt(fixture *f, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    char *s = vfmt(format, ap);
    va_end(ap);
    assert_non_null(s);
    return srv_keep(&f->kept, &f->nkept, s);
}

/* url with its database replaced by name (and, when user is given, its
 * user and password replaced by user:password). */
static char *url_for(fixture *f, const char *url, const char *name, const char *user)
{
    const char *authority = strstr(url, "://") + 3;
    const char *path = authority + strcspn(authority, "/?#");
    const char *at = memchr(authority, '@', (size_t)(path - authority));
    if (user && at)
        return fmt(f, "%.*s%s@%.*s/%s%s", (int)(authority - url), url, user, (int)(path - at - 1),
                   at + 1, name, path + strcspn(path, "?#"));
    return fmt(f, "%.*s/%s%s", (int)(path - url), url, name, path + strcspn(path, "?#"));
}

static const char *drop_database_sql(fixture *f, const char *name)
{
    return postgres ? fmt(f, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name)
                    : fmt(f, "DROP DATABASE IF EXISTS %s", name);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f || !(f->admin = srv_open_admin(admin_url))) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    pm_db_close(f->db);
    if (f->dbname)
        pm_test_exec(f->admin, drop_database_sql(f, f->dbname));
    if (f->role)
        pm_test_exec(f->admin, fmt(f, "DROP ROLE IF EXISTS %s", f->role));
    pm_db_close(f->admin);
    for (size_t i = 0; i < f->nruns; i++)
        srv_free_run(f->runs[i]);
    for (size_t i = 0; i < f->nkept; i++)
        free(f->kept[i]);
    free(f->kept);
    free(f);
    return 0;
}

/* Creates pmw_<name>_<pid>, this test's target, and opens it. */
static void target_database(fixture *f, const char *name)
{
    f->dbname = fmt(f, "pmw_%s_%ld", name, (long)getpid());
    pm_test_exec(f->admin, drop_database_sql(f, f->dbname));
    pm_test_exec(f->admin, fmt(f, "CREATE DATABASE %s", f->dbname));
    f->url = url_for(f, admin_url, f->dbname, NULL);
    f->db = pm_test_open(f->url);
}

/* ==== Running the binary ==== */

static child *spawn_cli(fixture *f, const char *const *args)
{
    srv_spawn how = {.cli_path = cli_path};
    return srv_spawn_cli(&f->kept, &f->nkept, &how, args);
}

/* Reads the child's output to its end and waits for it. */
static const run_result *collect(fixture *f, child *c)
{
    assert_true(f->nruns < PM_ARRAY_LEN(f->runs));
    run_result *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    f->runs[f->nruns++] = r;
    srv_collect(c, r, RUN_TIMEOUT_MS, raw_secret);
    return r;
}

/* poblysh --database-url url --source <sets>/set migrate command [extra]. */
static const run_result *run_cli(fixture *f, const char *url, const char *set, const char *command,
                                 const char *extra)
{
    const char *source = fmt(f, "%s/%s", sets_dir, set);
    if (extra)
        return collect(f, spawn_cli(f, ARGS("--database-url", url, "--source", source, "migrate",
                                            command, extra)));
    return collect(
        f, spawn_cli(f, ARGS("--database-url", url, "--source", source, "migrate", command)));
}

#define assert_contains(text, needle) assert_has_((text), (needle), true, __FILE__, __LINE__)
#define assert_lacks(text, needle) assert_has_((text), (needle), false, __FILE__, __LINE__)

static void assert_has_(const char *text, const char *needle, bool want, const char *file, int line)
{
    if ((strstr(text, needle) != NULL) == want)
        return;
    print_error("the text %s \"%s\":\n---\n%s---\n", want ? "lacks" : "holds", needle, text);
    _fail(file, line);
}

/* ==== The catalog, as a test sees it ==== */

/* Every object of the database, one line each, with the OID (PostgreSQL) or
 * creation time (MariaDB) that changes when an object is dropped and made
 * again. Kept until teardown. */
static char *catalog_snapshot(fixture *f, pm_db *db)
{
    const char *sql;
    if (postgres)
        sql = "WITH n AS (SELECT oid, nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
              "AND nspname <> 'information_schema') SELECT string_agg(line, E'\\n' ORDER BY "
              "line) FROM (SELECT 'schema ' || nspname || ' ' || oid FROM n UNION ALL SELECT "
              "'relation ' || n.nspname || '.' || c.relname || ' ' || c.relkind::text || ' ' || "
              "c.oid "
              "FROM pg_class c JOIN n ON n.oid = c.relnamespace UNION ALL SELECT 'column ' || "
              "a.attrelid::regclass || '.' || a.attname || ' ' || a.attnum || ' ' || "
              "format_type(a.atttypid, a.atttypmod) FROM pg_attribute a JOIN pg_class c ON c.oid "
              "= a.attrelid JOIN n ON n.oid = c.relnamespace WHERE a.attnum > 0 AND NOT "
              "a.attisdropped UNION ALL SELECT 'function ' || p.oid::regprocedure || ' ' || p.oid "
              "|| ' ' || md5(p.prosrc) FROM pg_proc p JOIN n ON n.oid = p.pronamespace UNION ALL "
              "SELECT 'type ' || t.oid::regtype || ' ' || t.typtype::text || ' ' || t.oid FROM "
              "pg_type "
              "t JOIN n ON n.oid = t.typnamespace UNION ALL SELECT 'trigger ' || t.tgname || ' "
              "on ' || t.tgrelid::regclass || ' ' || t.oid FROM pg_trigger t WHERE NOT "
              "t.tgisinternal UNION ALL SELECT 'event trigger ' || evtname || ' ' || evtevent || "
              "' ' || evtfoid::regprocedure || ' ' || evtenabled::text || ' ' || oid FROM "
              "pg_event_trigger) AS x(line)";
    else
        sql = "SELECT GROUP_CONCAT(line ORDER BY line SEPARATOR '\\n') FROM (SELECT "
              "CONCAT('table ', TABLE_NAME, ' ', TABLE_TYPE, ' ', COALESCE(CREATE_TIME, '')) "
              "AS line FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() UNION ALL "
              "SELECT CONCAT('column ', TABLE_NAME, '.', COLUMN_NAME, ' ', ORDINAL_POSITION, ' ', "
              "COLUMN_TYPE) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
              "UNION ALL SELECT CONCAT(ROUTINE_TYPE, ' ', ROUTINE_NAME, ' ', CREATED) FROM "
              "information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() UNION ALL SELECT "
              "CONCAT('trigger ', TRIGGER_NAME, ' ', COALESCE(CREATED, '')) FROM "
              "information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() UNION ALL SELECT "
              "CONCAT('event ', EVENT_NAME, ' ', CREATED) FROM information_schema.EVENTS WHERE "
              "EVENT_SCHEMA = DATABASE()) AS x";
    if (!postgres)
        pm_test_exec(db, "SET SESSION group_concat_max_len = 1048576");
    char *text = pm_test_text(db, sql);
    assert_non_null(text);
    return srv_keep(&f->kept, &f->nkept, text);
}

/* How many scratch databases verify left on the server. */
static int64_t scratch_databases_left(fixture *f)
{
    return pm_test_int(f->admin, postgres ? "SELECT count(*) FROM pg_database WHERE datname LIKE "
                                            "'pm\\_verify\\_%'"
                                          : "SELECT count(*) FROM information_schema.SCHEMATA "
                                            "WHERE SCHEMA_NAME LIKE 'pm\\_verify\\_%'");
}

/* ==== verify ==== */

static const char *blog_set(void)
{
    return postgres ? "pg_blog" : "mysql_shop";
}

static void test_verify__leaves_the_target_catalog_identical(void **state)
{
    fixture *f = *state;
    target_database(f, "verify_target");
    const run_result *r = run_cli(f, f->url, blog_set(), "up", NULL);
    assert_exit(r, 0);
    if (postgres) /* what a migration's public. names would reach */
        pm_test_exec(f->db, "CREATE TABLE public.keep_me (id INTEGER)");
    char *before = catalog_snapshot(f, f->db);
    int64_t history = pm_test_history_count(f->db);

    r = run_cli(f, f->url, blog_set(), "verify", NULL);
    assert_exit(r, 0);
    assert_contains(r->out, "in the scratch database pm_verify_");
    assert_contains(r->out, "\nSummary:\n");
    /* One summary line per migration; the reordered column is a warning. */
    assert_int_equal(count_occurrences(r->out, "\n  ok      "), postgres ? 5 : 3);
    assert_contains(r->out, postgres ? "\n  warning 6_author_without_name: columns in another "
                                       "order (diff above)\n"
                                     : "\n  warning 4_customer_without_name: columns in another "
                                       "order (diff above)\n");
    assert_contains(r->out, postgres
                                ? "-   columns: id, name, email\n+   columns: id, email, name\n"
                                : "-   columns: id, name, email\n+   columns: id, email, name\n");
    assert_contains(r->out, "1 left columns in another order (a warning; --strict makes it a "
                            "failure).\n");
    assert_lacks(r->out, "FAILED");

    char *after = catalog_snapshot(f, f->db);
    assert_string_equal(before, after);
    assert_int_equal(pm_test_history_count(f->db), history);
    assert_int_equal(scratch_databases_left(f), 0);

    /* --strict: the same run fails, and still leaves nothing behind. */
    r = run_cli(f, f->url, blog_set(), "verify", "--strict");
    assert_exit(r, 1);
    assert_contains(r->out, "  FAILED  ");
    assert_contains(r->out, "1 migration failed verification.\n");
    assert_string_equal(before, catalog_snapshot(f, f->db));
    assert_int_equal(scratch_databases_left(f), 0);
}

static void test_verify__checks_every_migration_and_diffs_only_what_differs(void **state)
{
    fixture *f = *state;
    target_database(f, "verify_broken");
    const char *set = postgres ? "pg_broken" : "mysql_broken";
    const run_result *r = run_cli(f, f->url, set, "verify", NULL);
    assert_exit(r, 1);
    /* The failing up of 2 does not stop it: 3 and 4 are checked too. */
    assert_contains(r->out, "Summary:\n  ok      1_items\n  FAILED  2_needs_missing_table: up() "
                            "failed: ");
    assert_contains(r->out, "\n  FAILED  3_item_index: down() does not restore the schema (diff "
                            "above)");
    assert_contains(r->out, "\n  ok      4_tags\n");
    /* The diff names the one object that differs, not two dumps. */
    assert_contains(r->out, "FAILED  3_item_index: down() does not restore the schema up() "
                            "found:\n  table item\n+   index item_name (name)\n");
    assert_lacks(r->out, "column id");
    assert_contains(r->out, "3 migrations failed verification.\n");
    assert_int_equal(scratch_databases_left(f), 0);
    assert_false(pm_test_has_table(f->db, "item"));
}

static void test_verify__refuses_a_role_that_may_not_create_databases(void **state)
{
    fixture *f = *state;
    target_database(f, "verify_nocreate");
    f->role = fmt(f, "pmw_nocreate_%ld", (long)getpid());
    pm_test_exec(f->admin, fmt(f, "DROP ROLE IF EXISTS %s", f->role));
    pm_test_exec(f->admin,
                 fmt(f, "CREATE ROLE %s LOGIN NOCREATEDB PASSWORD 'nocreate-pw'", f->role));
    pm_test_exec(f->admin, fmt(f, "GRANT ALL ON DATABASE %s TO %s", f->dbname, f->role));
    const char *url = url_for(f, f->url, f->dbname, fmt(f, "%s:nocreate-pw", f->role));
    const run_result *r = run_cli(f, url, "pg_blog", "verify", NULL);
    assert_exit(r, 2);
    assert_contains(r->err, "may not create databases (it has neither CREATEDB nor superuser)");
    assert_contains(r->err, "give verify the URL of a role that may");
    assert_lacks(r->err, "nocreate-pw");
    assert_lacks(r->out, "Summary");
    assert_int_equal(scratch_databases_left(f), 0);
}

static void test_verify__sigint_drops_the_scratch_database_and_exits_130(void **state)
{
    fixture *f = *state;
    target_database(f, "verify_sigint");
    char *before = catalog_snapshot(f, f->db);
    const char *source = fmt(f, "%s/pg_sleep", sets_dir);
    child *c =
        spawn_cli(f, ARGS("--database-url", f->url, "--source", source, "migrate", "verify"));
    /* Wait until its migration sleeps in the scratch database. */
    bool sleeping = false;
    for (int i = 0; i < 400 && !sleeping; i++) {
        sleeping = pm_test_int(f->admin, "SELECT count(*) FROM pg_stat_activity WHERE datname "
                                         "LIKE 'pm\\_verify\\_%' AND wait_event = 'PgSleep'") > 0;
        if (!sleeping)
            sleep_ms(50);
    }
    assert_true(sleeping);
    assert_int_equal(scratch_databases_left(f), 1);
    kill(c->pid, SIGINT);
    const run_result *r = collect(f, c);
    assert_exit(r, 130);
    assert_contains(r->err, "interrupted");
    assert_int_equal(scratch_databases_left(f), 0);
    assert_string_equal(before, catalog_snapshot(f, f->db));
}

/* ==== fresh ==== */

static void fresh_twice(fixture *f, const char *set, const char *const *listed, size_t nlisted,
                        const char *applied)
{
    const run_result *r = run_cli(f, f->url, set, "up", NULL);
    assert_exit(r, 0);
    for (int round = 0; round < 2; round++) {
        r = run_cli(f, f->url, set, "fresh", NULL);
        assert_exit(r, 0);
        const char *first_drop = strstr(r->out, "\nDropped ");
        assert_non_null(first_drop);
        for (size_t i = 0; i < nlisted; i++) {
            char *will = fmt(f, "\nWill drop %s\n", listed[i]);
            assert_contains(r->out, will);
            assert_true(strstr(r->out, will) < first_drop); /* listed before any drop */
            assert_contains(r->out, fmt(f, "\nDropped %s\n", listed[i]));
        }
        assert_contains(r->out, applied);
    }
}

static void test_fresh__empties_two_real_sets_twice_in_a_row(void **state)
{
    fixture *f = *state;
    target_database(f, "fresh_sets");
    if (postgres) {
        static const char *const blog[] = {"event trigger blog_log_ddl",
                                           "schema utils",
                                           "table post",
                                           "materialized view post_counts",
                                           "view published_posts",
                                           "procedure archive_drafts()",
                                           "function set_post_slug()",
                                           "function log_ddl()",
                                           "domain email",
                                           "type post_status"};
        fresh_twice(f, "pg_blog", blog, PM_ARRAY_LEN(blog), "Applied 6 migrations.\n");
        char *blog_catalog = catalog_snapshot(f, f->db);
        assert_contains(blog_catalog, "schema utils ");
        assert_contains(blog_catalog, "event trigger blog_log_ddl ddl_command_end log_ddl()");
        static const char *const billing[] = {"event trigger billing_audit_ddl",
                                              "event trigger billing_sql_drop",
                                              "schema audit",
                                              "table invoice",
                                              "materialized view monthly_totals",
                                              "sequence invoice_number",
                                              "aggregate sum_cents(cents)",
                                              "function invoice_total(i invoice)",
                                              "type billing_period",
                                              "type money_amount",
                                              "domain cents"};
        /* The second set on the first one's database: fresh empties that too. */
        const run_result *r = run_cli(f, f->url, "pg_billing", "fresh", NULL);
        assert_exit(r, 0);
        assert_contains(r->out, "\nWill drop schema utils\n");
        assert_contains(r->out, "\nWill drop event trigger blog_log_ddl\n");
        fresh_twice(f, "pg_billing", billing, PM_ARRAY_LEN(billing), "Applied 3 migrations.\n");
        char *catalog = catalog_snapshot(f, f->db);
        assert_lacks(catalog, "utils");
        assert_lacks(catalog, "blog_log_ddl");
        assert_contains(catalog, "event trigger billing_audit_ddl ddl_command_end "
                                 "audit.note_ddl()");
    } else {
        static const char *const shop[] = {"procedure restock", "function order_total",
                                           "view big_orders",   "table orders",
                                           "table customer",    "event nightly_cleanup"};
        fresh_twice(f, "mysql_shop", shop, PM_ARRAY_LEN(shop), "Applied 4 migrations.\n");
        char *catalog = catalog_snapshot(f, f->db);
        assert_contains(catalog, "trigger orders_total ");
        assert_contains(catalog, "PROCEDURE restock ");
    }
    assert_int_equal(pm_test_history_count(f->db), postgres ? 3 : 4);
}

static void test_fresh__says_how_many_were_applied_before_the_failure(void **state)
{
    fixture *f = *state;
    target_database(f, "fresh_fails");
    const char *set = postgres ? "pg_fails" : "mysql_fails";
    const run_result *r = run_cli(f, f->url, set, "fresh", NULL);
    assert_exit(r, 1);
    assert_contains(r->out, "Applied 2 migrations before the failure; they stay applied.\n");
    assert_contains(r->err, "3_broken");
}

static void test_fresh__refuses_another_tools_history_and_drops_nothing(void **state)
{
    fixture *f = *state;
    target_database(f, "fresh_foreign");
    pm_test_exec(f->db, "CREATE TABLE schema_migrations (version VARCHAR(128) PRIMARY KEY)");
    pm_test_exec(f->db, "INSERT INTO schema_migrations (version) VALUES ('20240101000000')");
    pm_test_exec(f->db, "CREATE TABLE precious (id INTEGER)");
    const run_result *r = run_cli(f, f->url, blog_set(), "fresh", NULL);
    assert_exit(r, 5);
    assert_contains(r->err, "dbmate");
    assert_lacks(r->out, "Dropped");
    assert_true(pm_test_has_table(f->db, "precious"));
    assert_true(pm_test_has_table(f->db, "schema_migrations"));
}

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "postgres") != 0 && strcmp(argv[1], "mysql") != 0)) {
        fprintf(stderr, "usage: %s postgres|mysql <poblysh> <fixtures/sql/workflow>\n", argv[0]);
        return 2;
    }
    postgres = strcmp(argv[1], "postgres") == 0;
    cli_path = argv[2];
    sets_dir = argv[3];
    if (srv_server_env(argv[0], postgres, &admin_url, &raw_secret) != 0)
        return 1;
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest pg_tests[] = {
        T(test_verify__leaves_the_target_catalog_identical),
        T(test_verify__checks_every_migration_and_diffs_only_what_differs),
        T(test_verify__refuses_a_role_that_may_not_create_databases),
        T(test_verify__sigint_drops_the_scratch_database_and_exits_130),
        T(test_fresh__empties_two_real_sets_twice_in_a_row),
        T(test_fresh__says_how_many_were_applied_before_the_failure),
        T(test_fresh__refuses_another_tools_history_and_drops_nothing),
    };
    const struct CMUnitTest mysql_tests[] = {
        T(test_verify__leaves_the_target_catalog_identical),
        T(test_verify__checks_every_migration_and_diffs_only_what_differs),
        T(test_fresh__empties_two_real_sets_twice_in_a_row),
        T(test_fresh__says_how_many_were_applied_before_the_failure),
        T(test_fresh__refuses_another_tools_history_and_drops_nothing),
    };
#undef T
    return postgres
               ? cmocka_run_group_tests_name("verify and fresh on PostgreSQL", pg_tests, NULL, NULL)
               : cmocka_run_group_tests_name("verify and fresh on MariaDB", mysql_tests, NULL,
                                             NULL);
}
