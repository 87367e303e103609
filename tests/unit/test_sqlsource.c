/* test_sqlsource.c: SQL migrations (pm_source) on in-memory SQLite: folders
 * in dbmate's and golang-migrate's layouts, numeric ordering, up and down
 * through the engine, dialect sections, transaction:false, checksums, the
 * errors a bad folder or file gives (each naming the file, and the line
 * where it applies, and adding nothing), and SQL files embedded at build
 * time interleaved with C migrations.
 *
 * Run as: test_sqlsource <tests/fixtures/sql> <pm_embed_sql binary> */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "poblysh/source.h"
#include "testutil.h"

/* Generated from tests/fixtures/sql/embedded by pm_embed_sql. */
extern const pm_embedded_sql fixture_embedded[];
extern const size_t fixture_embedded_count;

static const char *fixtures;   /* tests/fixtures/sql */
static const char *embed_tool; /* the pm_embed_sql binary */

typedef struct fixture {
    pm_source *src;
    pm_db *db;
    pm_engine *engine;
    pm_error err;
    char tmpdir[64]; /* a scratch folder, removed by teardown; "" when none */
    char path[4096];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    if (pm_source_new(&f->src, &f->err) < 0) {
        free(f);
        return -1;
    }
    f->db = pm_test_open("sqlite::memory:");
    *state = f;
    return 0;
}

/* Removes path and, for a folder, everything under it. */
static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0700);
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char child[4200];
            snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
            remove_tree(child);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void remove_tmpdir(fixture *f)
{
    if (f->tmpdir[0])
        remove_tree(f->tmpdir);
    f->tmpdir[0] = '\0';
}

static int teardown(void **state)
{
    fixture *f = *state;
    pm_engine_free(f->engine);
    pm_db_close(f->db);
    pm_source_free(f->src);
    pm_error_clear(&f->err);
    remove_tmpdir(f);
    free(f);
    return 0;
}

/* fixtures/<sub>, in f->path. */
static const char *fixture_path(fixture *f, const char *sub)
{
    snprintf(f->path, sizeof(f->path), "%s/%s", fixtures, sub);
    return f->path;
}

static const char *make_tmpdir(fixture *f)
{
    snprintf(f->tmpdir, sizeof(f->tmpdir), "/tmp/pm_sqlsource.XXXXXX");
    assert_non_null(mkdtemp(f->tmpdir));
    return f->tmpdir;
}

static void write_file(const char *path, const char *text)
{
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(text, 1, strlen(text), out), strlen(text));
    assert_int_equal(fclose(out), 0);
}

/* The bytes of a file, malloc'd and NUL-terminated. */
static char *read_text(const char *path, size_t *length)
{
    FILE *in = fopen(path, "rb");
    if (!in)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[4096];
    while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *grown = realloc(text, cap);
            assert_non_null(grown);
            text = grown;
        }
        memcpy(text + len, chunk, n);
        len += n;
    }
    fclose(in);
    if (!text)
        text = calloc(1, 1);
    assert_non_null(text);
    text[len] = '\0';
    *length = len;
    return text;
}

/* The names of the source's migrations in order, comma-separated. */
static void names_of(pm_source *src, char *out, size_t size)
{
    size_t count = 0;
    const pm_migration *const *set = pm_source_migrations(src, &count);
    out[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s%s", i ? "," : "", set[i]->name);
    }
}

#define assert_names(src, expected)                                                                \
    do {                                                                                           \
        char names_[2048];                                                                         \
        names_of((src), names_, sizeof(names_));                                                   \
        assert_string_equal(names_, (expected));                                                   \
    } while (0)

static size_t count_of(pm_source *src)
{
    size_t count = 0;
    pm_source_migrations(src, &count);
    return count;
}

static const pm_migration *find(pm_source *src, const char *name)
{
    size_t count = 0;
    const pm_migration *const *set = pm_source_migrations(src, &count);
    for (size_t i = 0; i < count; i++)
        if (strcmp(set[i]->name, name) == 0)
            return set[i];
    fail_msg("no migration %s in the source", name);
    return NULL;
}

/* An engine on the source's current set (replacing any earlier one). */
static pm_engine *engine_of(fixture *f)
{
    pm_engine_free(f->engine);
    f->engine = NULL;
    size_t count = 0;
    const pm_migration *const *set = pm_source_migrations(f->src, &count);
    pm_test_ok(pm_engine_new(&f->engine, f->db, set, count, NULL, &f->err), &f->err);
    return f->engine;
}

/* Starts over with an empty source (the engine on the old one goes first). */
static void reset_source(fixture *f)
{
    pm_engine_free(f->engine);
    f->engine = NULL;
    pm_source_free(f->src);
    f->src = NULL;
    pm_test_ok(pm_source_new(&f->src, &f->err), &f->err);
}

static void add_sql(fixture *f, const char *name, const char *text)
{
    char file[300];
    snprintf(file, sizeof(file), "inline/%s.sql", name);
    pm_test_ok(pm_source_add_sql(f->src, name, text, strlen(text), file, &f->err), &f->err);
}

/* The versions in the history, in the order they were applied. */
static void assert_history(fixture *f, const char *expected)
{
    char *got = pm_test_text(f->db, "SELECT group_concat(version, ',') FROM (SELECT version FROM "
                                    "seaql_migrations ORDER BY apply_order)");
    if (!expected) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, expected);
    free(got);
}

#define assert_contains(text, needle)                                                              \
    do {                                                                                           \
        const char *text_ = (text);                                                                \
        if (!text_ || !strstr(text_, (needle)))                                                    \
            fail_msg("\"%s\" does not contain \"%s\"", text_ ? text_ : "(null)", (needle));        \
    } while (0)

static void assert_tables(pm_db *db, const char *const *present, const char *const *absent)
{
    for (size_t i = 0; present && present[i]; i++)
        if (!pm_test_has_table(db, present[i]))
            fail_msg("table %s is missing", present[i]);
    for (size_t i = 0; absent && absent[i]; i++)
        if (pm_test_has_table(db, absent[i]))
            fail_msg("table %s exists but must not", absent[i]);
}

#define TABLES(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ==== dbmate's layout ==== */

static void test_sqlsource__dbmate_folder_loads_in_numeric_order(void **state)
{
    fixture *f = *state;
    pm_test_ok(pm_source_add_dir(f->src, fixture_path(f, "dbmate"), &f->err), &f->err);
    /* 9 before 10 (as numbers), the timestamp last. */
    assert_names(f->src, "1_create_users,9_create_posts,10_add_posts_title,"
                         "20240301120000_create_tags");
    size_t count = 0;
    const pm_migration *const *set = pm_source_migrations(f->src, &count);
    for (size_t i = 0; i < count; i++) {
        assert_non_null(set[i]->up);
        assert_non_null(set[i]->down);
        assert_int_equal(set[i]->options, PM_MIGRATION_DEFAULT);
        /* The checksum is the file's. */
        char file[4200], sum[PM_CHECKSUM_SIZE];
        snprintf(file, sizeof(file), "%s/dbmate/%s.sql", fixtures, set[i]->name);
        size_t length = 0;
        char *text = read_text(file, &length);
        pm_test_ok(pm_checksum(sum, text, length, &f->err), &f->err);
        free(text);
        assert_non_null(set[i]->checksum);
        assert_string_equal(set[i]->checksum, sum);
    }
    /* The set is sorted again after more are added. */
    add_sql(f, "5_middle", "-- migrate:up\nSELECT 1;\n");
    assert_names(f->src, "1_create_users,5_middle,9_create_posts,10_add_posts_title,"
                         "20240301120000_create_tags");
}

/* Files are opened relative to the folder's descriptor: a folder named with
 * a trailing slash, or through "." and "..", and diesel's folders of files,
 * load the same set, and messages still name files by the path as given. */
static void test_sqlsource__folder_named_any_way_loads_the_same_files(void **state)
{
    fixture *f = *state;
    char path[4200];
    snprintf(path, sizeof(path), "%s/dbmate/", fixtures);
    pm_test_ok(pm_source_add_dir(f->src, path, &f->err), &f->err);
    assert_names(f->src, "1_create_users,9_create_posts,10_add_posts_title,"
                         "20240301120000_create_tags");
    pm_source *again = NULL;
    pm_test_ok(pm_source_new(&again, &f->err), &f->err);
    snprintf(path, sizeof(path), "%s/./invalid/../layouts/diesel", fixtures);
    int rc = pm_source_add_dir_as(again, path, "diesel", &f->err);
    pm_test_ok(rc, &f->err);
    size_t count = 0;
    pm_source_migrations(again, &count);
    assert_true(count > 0);
    pm_source_free(again);

    snprintf(path, sizeof(path), "%s/invalid/./no_up/", fixtures);
    pm_error err = PM_ERROR_INIT;
    pm_source *bad = NULL;
    pm_test_ok(pm_source_new(&bad, &err), &err);
    assert_true(pm_source_add_dir(bad, path, &err) < 0);
    char want[4300];
    snprintf(want, sizeof(want), "%s/2_no_up.sql", path);
    assert_non_null(strstr(err.message, want));
    pm_error_clear(&err);
    pm_source_free(bad);
}

static void test_sqlsource__dbmate_folder_applies_and_reverts(void **state)
{
    fixture *f = *state;
    pm_test_ok(pm_source_add_dir(f->src, fixture_path(f, "dbmate"), &f->err), &f->err);
    pm_engine *e = engine_of(f);
    size_t applied = 0;
    pm_test_ok(pm_engine_up(e, PM_ALL, &applied, &f->err), &f->err);
    assert_int_equal(applied, 4);
    assert_tables(f->db, TABLES("users", "posts", "tags"), NULL);
    assert_true(pm_test_has_column(f->db, "posts", "title"));
    char *email = pm_test_text(f->db, "SELECT email FROM users WHERE id = 1");
    assert_non_null(email);
    assert_string_equal(email, "first;user@example.com");
    free(email);
    assert_history(f, "1_create_users,9_create_posts,10_add_posts_title,"
                      "20240301120000_create_tags");
    char *sum = pm_test_text(f->db, "SELECT checksum FROM seaql_migrations WHERE version = "
                                    "'10_add_posts_title'");
    assert_non_null(sum);
    assert_string_equal(sum, find(f->src, "10_add_posts_title")->checksum);
    free(sum);

    size_t reverted = 0;
    pm_test_ok(pm_engine_down(e, 2, &reverted, &f->err), &f->err);
    assert_int_equal(reverted, 2);
    assert_tables(f->db, TABLES("users", "posts"), TABLES("tags"));
    assert_false(pm_test_has_column(f->db, "posts", "title"));
    pm_test_ok(pm_engine_down(e, PM_ALL, &reverted, &f->err), &f->err);
    assert_int_equal(reverted, 2);
    assert_tables(f->db, NULL, TABLES("users", "posts", "tags"));
    assert_int_equal(pm_test_history_count(f->db), 0);
    /* And up again. */
    pm_test_ok(pm_engine_up(e, PM_ALL, &applied, &f->err), &f->err);
    assert_int_equal(applied, 4);
}

/* ==== golang-migrate's layout ==== */

static void test_sqlsource__golang_migrate_folder_pairs_up_and_down(void **state)
{
    fixture *f = *state;
    pm_test_ok(pm_source_add_dir(f->src, fixture_path(f, "golang"), &f->err), &f->err);
    /* One migration per pair; README.md is ignored. */
    assert_names(f->src, "000001_create_items,000002_add_items_price,000010_create_orders");
    pm_engine *e = engine_of(f);
    size_t applied = 0;
    pm_test_ok(pm_engine_up(e, PM_ALL, &applied, &f->err), &f->err);
    assert_int_equal(applied, 3);
    assert_tables(f->db, TABLES("items", "orders"), NULL);
    assert_true(pm_test_has_column(f->db, "items", "price"));
    char *name = pm_test_text(f->db, "SELECT name FROM items WHERE id = 1");
    assert_non_null(name);
    assert_string_equal(name, "it's; here");
    free(name);
    assert_history(f, "000001_create_items,000002_add_items_price,000010_create_orders");

    size_t reverted = 0;
    pm_test_ok(pm_engine_down(e, 1, &reverted, &f->err), &f->err);
    assert_tables(f->db, TABLES("items"), TABLES("orders"));
    pm_test_ok(pm_engine_down(e, PM_ALL, &reverted, &f->err), &f->err);
    assert_int_equal(reverted, 2);
    assert_tables(f->db, NULL, TABLES("items", "orders"));
    assert_int_equal(pm_test_history_count(f->db), 0);
}

static void test_sqlsource__golang_up_without_down_cannot_be_reverted(void **state)
{
    fixture *f = *state;
    pm_test_ok(pm_source_add_dir(f->src, fixture_path(f, "golang_up_only"), &f->err), &f->err);
    assert_names(f->src, "000001_only_up");
    pm_engine *e = engine_of(f);
    pm_test_ok(pm_engine_up(e, PM_ALL, NULL, &f->err), &f->err);
    assert_tables(f->db, TABLES("only_up"), NULL);
    assert_int_equal(pm_engine_down(e, 1, NULL, &f->err), PM_EMIGRATION);
    assert_contains(f->err.message, "000001_only_up.up.sql");
    assert_contains(f->err.message, "cannot be reverted");
    /* Nothing changed. */
    assert_tables(f->db, TABLES("only_up"), NULL);
    assert_int_equal(pm_test_history_count(f->db), 1);
}

/* A golang-migrate file saved with a byte-order mark and CRLF line endings
 * (an editor on Windows) runs like, and has the checksum of, the same file
 * with LF endings, as a dbmate file does. */
static void test_sqlsource__golang_files_with_bom_and_crlf_behave_like_lf(void **state)
{
    fixture *f = *state;
    char lf[4200], crlf[4200], file[4300];
    const char *tmp = make_tmpdir(f);
    snprintf(lf, sizeof(lf), "%s/lf", tmp);
    snprintf(crlf, sizeof(crlf), "%s/crlf", tmp);
    assert_int_equal(mkdir(lf, 0700), 0);
    assert_int_equal(mkdir(crlf, 0700), 0);
    snprintf(file, sizeof(file), "%s/000001_bom.up.sql", lf);
    write_file(file, "CREATE TABLE bom_t (id INTEGER);\nINSERT INTO bom_t VALUES (1);\n");
    snprintf(file, sizeof(file), "%s/000001_bom.down.sql", lf);
    write_file(file, "DROP TABLE bom_t;\n");
    snprintf(file, sizeof(file), "%s/000001_bom.up.sql", crlf);
    write_file(file, "\xEF\xBB\xBF"
                     "CREATE TABLE bom_t (id INTEGER);\r\nINSERT INTO bom_t VALUES (1);\r\n");
    snprintf(file, sizeof(file), "%s/000001_bom.down.sql", crlf);
    write_file(file, "\xEF\xBB\xBF"
                     "DROP TABLE bom_t;\r\n");

    pm_test_ok(pm_source_add_dir(f->src, lf, &f->err), &f->err);
    char lf_sum[PM_CHECKSUM_SIZE];
    snprintf(lf_sum, sizeof(lf_sum), "%s", find(f->src, "000001_bom")->checksum);
    reset_source(f);
    pm_test_ok(pm_source_add_dir(f->src, crlf, &f->err), &f->err);
    assert_string_equal(find(f->src, "000001_bom")->checksum, lf_sum);
    pm_engine *e = engine_of(f);
    pm_test_ok(pm_engine_up(e, PM_ALL, NULL, &f->err), &f->err);
    assert_int_equal(pm_test_int(f->db, "SELECT count(*) FROM bom_t"), 1);
    pm_test_ok(pm_engine_down(e, 1, NULL, &f->err), &f->err);
    assert_tables(f->db, NULL, TABLES("bom_t"));
}

/* ==== Order ==== */

static void test_sqlsource__sequence_numbers_order_as_numbers(void **state)
{
    fixture *f = *state;
    static const char *const names[] = {"10_b", "100_c", "9_a", "0011_d", "2_e"};
    for (size_t i = 0; i < PM_ARRAY_LEN(names); i++) {
        char sql[160];
        snprintf(sql, sizeof(sql),
                 "-- migrate:up\nCREATE TABLE t_%s (id INTEGER);\n"
                 "-- migrate:down\nDROP TABLE t_%s;\n",
                 names[i], names[i]);
        add_sql(f, names[i], sql);
    }
    assert_names(f->src, "2_e,9_a,10_b,0011_d,100_c");
    pm_engine *e = engine_of(f);
    pm_test_ok(pm_engine_up(e, PM_ALL, NULL, &f->err), &f->err);
    assert_history(f, "2_e,9_a,10_b,0011_d,100_c");
    assert_tables(f->db, TABLES("t_2_e", "t_9_a", "t_10_b", "t_0011_d", "t_100_c"), NULL);
    /* Reverting goes backwards: 100 first, then 11. */
    pm_test_ok(pm_engine_down(e, 2, NULL, &f->err), &f->err);
    assert_history(f, "2_e,9_a,10_b");
}

/* ==== Dialect sections ==== */

static void test_sqlsource__dialect_section_for_sqlite_wins_over_the_fallback(void **state)
{
    fixture *f = *state;
    pm_test_ok(pm_source_add_dir(f->src, fixture_path(f, "dialects"), &f->err), &f->err);
    assert_names(f->src, "1_pick_table,2_fallback_first,3_mysql_or_fallback");
    pm_engine *e = engine_of(f);
    pm_test_ok(pm_engine_up(e, PM_ALL, NULL, &f->err), &f->err);
    assert_tables(f->db, TABLES("picked_sqlite", "second_sqlite", "third_fallback"),
                  TABLES("picked_postgres", "picked_fallback", "second_postgres", "second_fallback",
                         "third_mysql"));
    /* The down sections for sqlite drop what the up sections made. */
    pm_test_ok(pm_engine_down(e, PM_ALL, NULL, &f->err), &f->err);
    assert_tables(f->db, NULL, TABLES("picked_sqlite", "second_sqlite", "third_fallback"));
}

static void test_sqlsource__missing_section_for_the_dialect_fails(void **state)
{
    fixture *f = *state;
    add_sql(f, "1_pg_only", "-- migrate:up dialect=postgres\nCREATE TABLE pg_only (id INTEGER);\n");
    pm_engine *e = engine_of(f);
    assert_int_equal(pm_engine_up(e, PM_ALL, NULL, &f->err), PM_EMIGRATION);
    assert_contains(f->err.message, "inline/1_pg_only.sql");
    assert_contains(f->err.message, "no up section for sqlite");
    assert_int_equal(pm_test_history_count(f->db), 0);

    reset_source(f);
    add_sql(f, "1_pg_down",
            "-- migrate:up\nCREATE TABLE pg_down (id INTEGER);\n"
            "-- migrate:down dialect=postgres\nDROP TABLE pg_down;\n");
    e = engine_of(f);
    pm_test_ok(pm_engine_up(e, PM_ALL, NULL, &f->err), &f->err);
    assert_int_equal(pm_engine_down(e, 1, NULL, &f->err), PM_EMIGRATION);
    assert_contains(f->err.message, "inline/1_pg_down.sql");
    assert_contains(f->err.message, "no down section for sqlite");
    assert_tables(f->db, TABLES("pg_down"), NULL);
}

/* ==== Options ==== */

static void test_sqlsource__transaction_false_runs_without_a_transaction(void **state)
{
    fixture *f = *state;
    add_sql(f, "1_no_tx",
            "-- migrate:up transaction:false\nCREATE TABLE no_tx (id INTEGER);\n"
            "INSERT INTO no_tx VALUES (1);\n-- migrate:down\nDROP TABLE no_tx;\n");
    add_sql(f, "2_tx_true", "-- migrate:up transaction:true\nCREATE TABLE tx_true (id INTEGER);\n");
    add_sql(f, "3_plain", "-- migrate:up\nCREATE TABLE plain (id INTEGER);\n");
    add_sql(f, "4_both",
            "-- migrate:up dialect=sqlite transaction:false\nCREATE TABLE both_ "
            "(id INTEGER);\n-- migrate:down\nDROP TABLE both_;\n");
    assert_int_equal(find(f->src, "1_no_tx")->options, PM_MIGRATION_NO_TRANSACTION);
    assert_int_equal(find(f->src, "2_tx_true")->options, PM_MIGRATION_DEFAULT);
    assert_int_equal(find(f->src, "3_plain")->options, PM_MIGRATION_DEFAULT);
    assert_int_equal(find(f->src, "4_both")->options, PM_MIGRATION_NO_TRANSACTION);
    pm_engine *e = engine_of(f);
    pm_test_ok(pm_engine_up(e, PM_ALL, NULL, &f->err), &f->err);
    assert_tables(f->db, TABLES("no_tx", "tx_true", "plain", "both_"), NULL);
    assert_int_equal(pm_test_int(f->db, "SELECT count(*) FROM seaql_migrations WHERE state = "
                                        "'applied' OR state IS NULL"),
                     4);
    assert_int_equal(pm_test_int(f->db, "SELECT count(*) FROM seaql_migrations WHERE state = "
                                        "'applied' AND version IN ('1_no_tx', '4_both')"),
                     2);
}

/* ==== Failures while running ==== */

#define BAD_INSERT "INSERT INTO no_such_table_xyz VALUES (1)"

static void test_sqlsource__failing_statement_is_named_and_rolled_back(void **state)
{
    fixture *f = *state;
    add_sql(f, "1_ok", "-- migrate:up\nCREATE TABLE ok_first (id INTEGER);\n");
    add_sql(f, "2_fails",
            "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n"
            "INSERT INTO items VALUES (1);\n" BAD_INSERT ";\nINSERT INTO items "
            "VALUES (2);\n-- migrate:down\nDROP TABLE items;\n");
    pm_engine *e = engine_of(f);
    size_t applied = 99;
    assert_int_equal(pm_engine_up(e, PM_ALL, &applied, &f->err), PM_EDB);
    assert_int_equal(applied, 1);
    assert_non_null(f->err.migration);
    assert_string_equal(f->err.migration, "2_fails");
    assert_non_null(f->err.statement);
    assert_string_equal(f->err.statement, BAD_INSERT);
    assert_contains(f->err.message, "no_such_table_xyz");
    assert_tables(f->db, TABLES("ok_first"), TABLES("items"));
    assert_history(f, "1_ok");
}

/* ==== Checksums ==== */

#define LF_TEXT                                                                                    \
    "-- migrate:up\nCREATE TABLE crlf_t (id INTEGER);\n-- migrate:down dialect=sqlite\n"           \
    "DROP TABLE crlf_t;\n"
#define CRLF_BOM_TEXT                                                                              \
    "\xEF\xBB\xBF-- migrate:up\r\nCREATE TABLE crlf_t (id INTEGER);\r\n"                           \
    "-- migrate:down dialect=sqlite\r\nDROP TABLE crlf_t;\r\n"
#define EDITED_TEXT                                                                                \
    "-- migrate:up\nCREATE TABLE crlf_t (id INTEGEr);\n-- migrate:down dialect=sqlite\n"           \
    "DROP TABLE crlf_t;\n"

static void test_sqlsource__checksum_ignores_crlf_and_bom_but_not_edits(void **state)
{
    fixture *f = *state;
    add_sql(f, "1_lf", LF_TEXT);
    add_sql(f, "2_crlf_bom", CRLF_BOM_TEXT);
    add_sql(f, "3_edited", EDITED_TEXT);
    const char *lf = find(f->src, "1_lf")->checksum;
    const char *crlf = find(f->src, "2_crlf_bom")->checksum;
    const char *edited = find(f->src, "3_edited")->checksum;
    assert_non_null(lf);
    assert_non_null(crlf);
    assert_non_null(edited);
    assert_string_equal(crlf, lf);
    assert_string_not_equal(edited, lf);
    char sum[PM_CHECKSUM_SIZE];
    pm_test_ok(pm_checksum(sum, LF_TEXT, strlen(LF_TEXT), &f->err), &f->err);
    assert_string_equal(lf, sum);

    /* The CRLF file with a BOM runs like the LF one, its dialect option
     * read without the CR. */
    reset_source(f);
    add_sql(f, "1_crlf_bom", CRLF_BOM_TEXT);
    pm_engine *e = engine_of(f);
    pm_test_ok(pm_engine_up(e, PM_ALL, NULL, &f->err), &f->err);
    assert_tables(f->db, TABLES("crlf_t"), NULL);
    char *stored = pm_test_text(f->db, "SELECT checksum FROM seaql_migrations");
    assert_non_null(stored);
    assert_string_equal(stored, sum);
    free(stored);
    pm_test_ok(pm_engine_down(e, 1, NULL, &f->err), &f->err);
    assert_tables(f->db, NULL, TABLES("crlf_t"));
}

/* ==== Errors ==== */

#define PRE "m2024_01_01_000000_pre"

/* Adds the folder fixtures/sub (or an absolute path) to a source holding one
 * migration; it must fail with PM_ESET, a message holding the folder's path
 * and each needle, and add nothing. */
static void expect_dir_error_(fixture *f, const char *sub, const char *const *needles,
                              const char *file, int line)
{
    pm_source *src = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_source_new(&src, &err), &err);
    const char *text = "-- migrate:up\nCREATE TABLE pre (id INTEGER);\n";
    pm_test_ok(pm_source_add_sql(src, PRE, text, strlen(text), "pre.sql", &err), &err);
    const char *dir = sub[0] == '/' ? sub : fixture_path(f, sub);
    int rc = pm_source_add_dir(src, dir, &err);
    int ok = rc == PM_ESET && err.code == PM_ESET && err.message && strstr(err.message, dir);
    for (size_t i = 0; ok && needles[i]; i++)
        ok = strstr(err.message, needles[i]) != NULL;
    if (!ok) {
        print_error("pm_source_add_dir(%s) returned %d (%s): %s\nexpected PM_ESET naming the "
                    "folder and holding:\n",
                    dir, rc, pm_strerror(rc), err.message ? err.message : "(no message)");
        for (size_t i = 0; needles[i]; i++)
            print_error("  \"%s\"\n", needles[i]);
    }
    char names[2048];
    names_of(src, names, sizeof(names));
    if (ok && strcmp(names, PRE) != 0) {
        print_error("after the failed pm_source_add_dir(%s) the source holds %s; expected only "
                    "%s\n",
                    dir, names, PRE);
        ok = 0;
    }
    pm_error_clear(&err);
    pm_source_free(src);
    if (!ok)
        _fail(file, line);
}

#define EXPECT_DIR_ERROR(f, sub, ...)                                                              \
    expect_dir_error_((f), (sub), (const char *const[]){__VA_ARGS__, NULL}, __FILE__, __LINE__)

static void test_sqlsource__file_without_an_up_section(void **state)
{
    EXPECT_DIR_ERROR(*state, "invalid/no_up", "/2_no_up.sql", "no -- migrate:up section");
}

static void test_sqlsource__two_files_with_one_version(void **state)
{
    EXPECT_DIR_ERROR(*state, "invalid/same_version", "001_a", "1_b", "same version");
    EXPECT_DIR_ERROR(*state, "invalid/same_version_padded", "001_a", "001_b", "same version");
}

static void test_sqlsource__names_that_do_not_parse(void **state)
{
    EXPECT_DIR_ERROR(*state, "invalid/bad_name", "/create_users.sql", "is not a migration name",
                     "must start with a version");
}

static void test_sqlsource__unknown_section_option_names_file_and_line(void **state)
{
    EXPECT_DIR_ERROR(*state, "invalid/unknown_option",
                     "/2_option.sql:3: ", "unknown section option \"foo:bar\"");
}

static void test_sqlsource__unknown_dialect_names_file_and_line(void **state)
{
    EXPECT_DIR_ERROR(*state, "invalid/unknown_dialect",
                     "/2_dialect.sql:3: ", "unknown dialect \"oracle\"");
}

static void test_sqlsource__second_up_section_names_file_and_line(void **state)
{
    EXPECT_DIR_ERROR(*state, "invalid/duplicate_section",
                     "/2_twice.sql:5: ", "a second -- migrate:up section");
}

static void test_sqlsource__sql_before_the_first_section(void **state)
{
    EXPECT_DIR_ERROR(*state, "invalid/sql_before_up", "/2_early.sql",
                     "SQL before the first -- migrate:up");
}

static void test_sqlsource__down_file_without_its_up_file(void **state)
{
    EXPECT_DIR_ERROR(*state, "invalid/down_without_up", "/000002_orphan.down.sql",
                     "without its .up.sql");
}

static void test_sqlsource__folder_without_migrations(void **state)
{
    fixture *f = *state;
    EXPECT_DIR_ERROR(f, "invalid/no_sql", "holds no migration");
    EXPECT_DIR_ERROR(f, make_tmpdir(f), "holds no migration");
}

static void test_sqlsource__missing_or_unreadable_folder(void **state)
{
    fixture *f = *state;
    EXPECT_DIR_ERROR(f, "invalid/does_not_exist", "cannot read the migrations folder",
                     "No such file or directory");
    /* A file is not a folder. */
    EXPECT_DIR_ERROR(f, "dbmate/1_create_users.sql", "cannot read the migrations folder");
    /* A folder without permissions: unreadable, or (for root) readable and
     * empty; refused either way. */
    char locked[4200];
    snprintf(locked, sizeof(locked), "%s/locked", make_tmpdir(f));
    assert_int_equal(mkdir(locked, 0), 0);
    EXPECT_DIR_ERROR(f, locked, "");
    /* A .sql entry that cannot be read names itself. */
    char sub[4200];
    snprintf(sub, sizeof(sub), "%s/1_dir.sql", f->tmpdir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(sub, sizeof(sub), "%s/2_y.sql", f->tmpdir);
    write_file(sub, "-- migrate:up\nCREATE TABLE y (id INTEGER);\n");
    EXPECT_DIR_ERROR(f, f->tmpdir, "/1_dir.sql", "not a regular file");
}

/* A hang here fails the test (SIGALRM) instead of blocking the suite. */
static void no_hang(void)
{
    alarm(10);
}

static void test_sqlsource__fifo_named_sql_is_refused_at_once(void **state)
{
    fixture *f = *state;
    char path[4200];
    snprintf(path, sizeof(path), "%s/1_pipe.sql", make_tmpdir(f));
    assert_int_equal(mkfifo(path, 0600), 0);
    no_hang();
    EXPECT_DIR_ERROR(f, f->tmpdir, "/1_pipe.sql: not a regular file");
    /* the golang-migrate pair: a FIFO as the .down.sql, found next to a real .up.sql */
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof(path), "%s/2_x.up.sql", f->tmpdir);
    write_file(path, "CREATE TABLE x (id INTEGER);\n");
    snprintf(path, sizeof(path), "%s/2_x.down.sql", f->tmpdir);
    assert_int_equal(mkfifo(path, 0600), 0);
    EXPECT_DIR_ERROR(f, f->tmpdir, "/2_x.down.sql: not a regular file");
    alarm(0);
}

static void test_sqlsource__link_to_dev_zero_is_refused_at_once(void **state)
{
    fixture *f = *state;
    char path[4200];
    snprintf(path, sizeof(path), "%s/1_zero.sql", make_tmpdir(f));
    assert_int_equal(symlink("/dev/zero", path), 0);
    no_hang();
    EXPECT_DIR_ERROR(f, f->tmpdir, "/1_zero.sql: not a regular file");
    alarm(0);
}

static void test_sqlsource__link_to_a_regular_file_is_read(void **state)
{
    fixture *f = *state;
    char target[4200], link[4200];
    snprintf(target, sizeof(target), "%s/real.txt", make_tmpdir(f));
    write_file(target, "-- migrate:up\nCREATE TABLE linked (id INTEGER);\n");
    snprintf(link, sizeof(link), "%s/1_linked.sql", f->tmpdir);
    assert_int_equal(symlink(target, link), 0);
    pm_test_ok(pm_source_add_dir(f->src, f->tmpdir, &f->err), &f->err);
    assert_int_equal(count_of(f->src), 1);
}

static void test_sqlsource__file_over_the_size_limit_is_refused(void **state)
{
    fixture *f = *state;
    char path[4200];
    snprintf(path, sizeof(path), "%s/1_big.sql", make_tmpdir(f));
    write_file(path, "-- migrate:up\n");
    assert_int_equal(truncate(path, (off_t)PM_SQL_FILE_MAX + 1), 0); /* sparse: no disk used */
    EXPECT_DIR_ERROR(f, f->tmpdir, "/1_big.sql: 16777217 bytes", "16 MiB");
    /* exactly at the limit is read (its NUL bytes end the section's text) */
    assert_int_equal(truncate(path, (off_t)PM_SQL_FILE_MAX), 0);
    pm_test_ok(pm_source_add_dir(f->src, f->tmpdir, &f->err), &f->err);
    assert_int_equal(count_of(f->src), 1);
}

/* Files are read with their size known (one read() of it): a file much
 * larger than one read chunk and an empty one are read whole, byte for byte,
 * as their checksums show. */
static void test_sqlsource__large_and_empty_files_are_read_whole(void **state)
{
    fixture *f = *state;
    char path[4200], empty[4200];
    snprintf(path, sizeof(path), "%s/1_large.sql", make_tmpdir(f));
    snprintf(empty, sizeof(empty), "%s/2_empty.sql", f->tmpdir);
    size_t rows = 6000, cap = 64 + rows * 48, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len +=
        (size_t)snprintf(text + len, cap - len, "-- migrate:up\nCREATE TABLE big (n INTEGER);\n");
    for (size_t i = 0; i < rows; i++)
        len += (size_t)snprintf(text + len, cap - len, "INSERT INTO big VALUES (%zu);\n", i);
    assert_true(len > 150000);
    write_file(path, text);
    write_file(empty, "");
    pm_test_ok(pm_source_add_dir(f->src, f->tmpdir, &f->err), &f->err);
    size_t count = 0;
    const pm_migration *const *set = pm_source_migrations(f->src, &count);
    assert_int_equal(count, 2);
    char sum[PM_CHECKSUM_SIZE];
    pm_test_ok(pm_checksum(sum, text, len, &f->err), &f->err);
    assert_string_equal(set[0]->checksum, sum);
    pm_test_ok(pm_checksum(sum, "", 0, &f->err), &f->err);
    assert_string_equal(set[1]->checksum, sum);
    free(text);
}

static void test_sqlsource__repeated_section_option_names_file_and_line(void **state)
{
    fixture *f = *state;
    static const char *const texts[] = {
        "-- migrate:up dialect=sqlite dialect=postgres\nSELECT 1;\n",
        "-- migrate:up dialect=sqlite dialect=sqlite\nSELECT 1;\n",
        "-- migrate:up transaction:false transaction:true\nSELECT 1;\n",
        "-- migrate:up\nSELECT 1;\n-- migrate:down dialect:sqlite dialect=mysql\nSELECT 1;\n",
    };
    static const char *const expected[] = {
        "db/1_x.sql:1: the section option dialect is given twice",
        "db/1_x.sql:1: the section option dialect is given twice",
        "db/1_x.sql:1: the section option transaction is given twice",
        "db/1_x.sql:3: the section option dialect is given twice",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        assert_int_equal(
            pm_source_add_sql(f->src, "1_x", texts[i], strlen(texts[i]), "db/1_x.sql", &f->err),
            PM_ESET);
        assert_contains(f->err.message, expected[i]);
        pm_error_clear(&f->err);
    }
    assert_int_equal(count_of(f->src), 0);
}

/* The whole folder is valid, but one of its versions is already in the
 * source: every file was parsed and added before the clash was found, and
 * all of them are taken out again. */
static void test_sqlsource__clash_with_the_source_adds_nothing(void **state)
{
    fixture *f = *state;
    add_sql(f, "9_pre", "-- migrate:up\nCREATE TABLE pre (id INTEGER);\n");
    assert_int_equal(pm_source_add_dir(f->src, fixture_path(f, "dbmate"), &f->err), PM_ESET);
    assert_contains(f->err.message, "same version");
    assert_contains(f->err.message, "9_pre");
    assert_contains(f->err.message, "9_create_posts");
    assert_names(f->src, "9_pre");
    /* The source is still usable: another folder adds, and runs. */
    pm_test_ok(pm_source_add_dir(f->src, fixture_path(f, "golang"), &f->err), &f->err);
    assert_int_equal(count_of(f->src), 4);
    pm_engine *e = engine_of(f);
    pm_test_ok(pm_engine_up(e, PM_ALL, NULL, &f->err), &f->err);
    assert_history(f, "000001_create_items,000002_add_items_price,9_pre,000010_create_orders");
}

static void test_sqlsource__add_sql_errors_name_the_file(void **state)
{
    fixture *f = *state;
    const char *ok = "-- migrate:up\nSELECT 1;\n";
    assert_int_equal(
        pm_source_add_sql(f->src, "create_users", ok, strlen(ok), "db/create_users.sql", &f->err),
        PM_ESET);
    assert_contains(f->err.message, "db/create_users.sql");
    assert_contains(f->err.message, "is not a migration name");
    const char *option = "-- note\n-- migrate:up foo:bar\nSELECT 1;\n";
    assert_int_equal(
        pm_source_add_sql(f->src, "1_x", option, strlen(option), "db/1_x.sql", &f->err), PM_ESET);
    assert_contains(f->err.message, "db/1_x.sql:2: unknown section option \"foo:bar\"");
    const char *no_up = "-- migrate:down\nSELECT 1;\n";
    assert_int_equal(pm_source_add_sql(f->src, "2_x", no_up, strlen(no_up), "db/2_x.sql", &f->err),
                     PM_ESET);
    assert_contains(f->err.message, "db/2_x.sql");
    assert_contains(f->err.message, "no -- migrate:up section");
    assert_int_equal(count_of(f->src), 0);
}

/* source.h: "Two migrations with the same version are refused by
 * pm_migration_set_check and pm_engine_new." Sets built with
 * pm_source_add_sql, _add_embedded and _add_migrations are not checked by
 * pm_source_add_dir, so the engine must refuse them. */
static const pm_migration clash_c = PM_TEST_MIGRATION("m2024_02_01_000000_c_clash", "c_clash");

static void test_sqlsource__same_version_in_a_set_is_refused_by_the_engine(void **state)
{
    fixture *f = *state;
    add_sql(f, "001_a", "-- migrate:up\nCREATE TABLE a (id INTEGER);\n");
    add_sql(f, "1_b", "-- migrate:up\nCREATE TABLE b (id INTEGER);\n");
    size_t count = 0;
    const pm_migration *const *set = pm_source_migrations(f->src, &count);
    assert_int_equal(count, 2);
    assert_int_equal(pm_engine_new(&f->engine, f->db, set, count, NULL, &f->err), PM_ESET);
    assert_contains(f->err.message, "1_b");
}

/* A C migration and an embedded file with one version. */
static void test_sqlsource__same_dated_version_in_c_and_sql_is_refused(void **state)
{
    fixture *f = *state;
    const pm_migration *c_set[] = {&clash_c};
    pm_test_ok(pm_source_add_migrations(f->src, c_set, 1, &f->err), &f->err);
    pm_test_ok(pm_source_add_embedded(f->src, fixture_embedded, fixture_embedded_count, &f->err),
               &f->err);
    size_t count = 0;
    const pm_migration *const *set = pm_source_migrations(f->src, &count);
    assert_int_equal(count, 3);
    assert_int_equal(pm_engine_new(&f->engine, f->db, set, count, NULL, &f->err), PM_ESET);
    assert_contains(f->err.message, "m2024_02_01_000000");
}

/* ==== Embedded files and C migrations ==== */

static const pm_migration c_first = PM_TEST_MIGRATION("m2024_01_01_000000_c_first", "c_first");
static const pm_migration c_middle = PM_TEST_MIGRATION("m2024_03_01_000000_c_middle", "c_middle");
static const pm_migration c_last = PM_TEST_MIGRATION("m2024_05_01_000000_c_last", "c_last");

#define EMBEDDED_X "m2024_02_01_000000_embedded_x"
#define EMBEDDED_Y "m2024_04_01_000000_embedded_y"

static void test_sqlsource__embedded_files_are_the_files(void **state)
{
    fixture *f = *state;
    assert_int_equal(fixture_embedded_count, 2);
    assert_string_equal(fixture_embedded[0].name, EMBEDDED_X);
    assert_string_equal(fixture_embedded[1].name, EMBEDDED_Y);
    assert_null(fixture_embedded[2].name); /* the terminating entry */
    for (size_t i = 0; i < fixture_embedded_count; i++) {
        char path[4200];
        snprintf(path, sizeof(path), "%s/embedded/%s.sql", fixtures, fixture_embedded[i].name);
        size_t length = 0;
        char *text = read_text(path, &length);
        assert_int_equal(fixture_embedded[i].length, length);
        assert_memory_equal(fixture_embedded[i].text, text, length);
        free(text);
    }
    pm_test_ok(pm_source_add_embedded(f->src, fixture_embedded, fixture_embedded_count, &f->err),
               &f->err);
    char sum[PM_CHECKSUM_SIZE];
    pm_test_ok(pm_checksum(sum, fixture_embedded[0].text, fixture_embedded[0].length, &f->err),
               &f->err);
    assert_string_equal(find(f->src, EMBEDDED_X)->checksum, sum);
}

static void test_sqlsource__embedded_and_c_migrations_interleave_by_version(void **state)
{
    fixture *f = *state;
    const pm_migration *c_set[] = {&c_first, &c_middle, &c_last};
    pm_test_ok(pm_source_add_embedded(f->src, fixture_embedded, fixture_embedded_count, &f->err),
               &f->err);
    pm_test_ok(pm_source_add_migrations(f->src, c_set, PM_ARRAY_LEN(c_set), &f->err), &f->err);
    assert_names(f->src, "m2024_01_01_000000_c_first," EMBEDDED_X
                         ",m2024_03_01_000000_c_middle," EMBEDDED_Y ",m2024_05_01_000000_c_last");
    pm_engine *e = engine_of(f);
    size_t applied = 0;
    pm_test_ok(pm_engine_up(e, PM_ALL, &applied, &f->err), &f->err);
    assert_int_equal(applied, 5);
    assert_history(f, "m2024_01_01_000000_c_first," EMBEDDED_X
                      ",m2024_03_01_000000_c_middle," EMBEDDED_Y ",m2024_05_01_000000_c_last");
    assert_tables(f->db, TABLES("c_first", "embedded_x", "c_middle", "embedded_y", "c_last"),
                  TABLES("embedded_y_fallback"));
    char *note = pm_test_text(f->db, "SELECT note FROM embedded_x WHERE id = 1");
    assert_non_null(note);
    assert_string_equal(note, "quote \" and backslash \\ and ; kept");
    free(note);
    size_t reverted = 0;
    pm_test_ok(pm_engine_down(e, PM_ALL, &reverted, &f->err), &f->err);
    assert_int_equal(reverted, 5);
    assert_tables(f->db, NULL, TABLES("c_first", "embedded_x", "c_middle", "embedded_y", "c_last"));
}

/* The generated C must hold each file's bytes exactly: a "??x" in SQL must
 * not become a trigraph in the C string literal (GCC replaces them in ISO
 * modes, and the project builds with -std=c11), which would change the
 * embedded text, or, with -Werror, fail the build. */
static void test_sqlsource__embedded_text_is_safe_from_trigraphs(void **state)
{
    fixture *f = *state;
    char out[4200], sql[4200];
    snprintf(out, sizeof(out), "%s/trigraph_embedded.c", make_tmpdir(f));
    snprintf(sql, sizeof(sql), "%s/trigraph/m2024_06_01_000000_trigraph.sql", fixtures);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char *const argv[] = {(char *)embed_tool, out, "trigraph_embedded", sql, NULL};
        execv(embed_tool, argv);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        assert_int_equal(errno, EINTR);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    size_t length = 0;
    char *c = read_text(out, &length);
    assert_non_null(strstr(c, "trigraph_embedded[]"));
    for (const char *p = c; (p = strstr(p, "??")); p++)
        if (p[2] && strchr("=/'()!<>-", p[2])) {
            char shown[40];
            snprintf(shown, sizeof(shown), "%.30s", p);
            free(c);
            fail_msg("the generated C holds the trigraph \"%.3s\" (at \"%s\")", shown, shown);
        }
    free(c);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_sqlsource <tests/fixtures/sql> <pm_embed_sql binary>\n");
        return 2;
    }
    fixtures = argv[1];
    embed_tool = argv[2];
    const struct CMUnitTest tests[] = {
        TEST(test_sqlsource__dbmate_folder_loads_in_numeric_order),
        TEST(test_sqlsource__folder_named_any_way_loads_the_same_files),
        TEST(test_sqlsource__dbmate_folder_applies_and_reverts),
        TEST(test_sqlsource__golang_migrate_folder_pairs_up_and_down),
        TEST(test_sqlsource__golang_up_without_down_cannot_be_reverted),
        TEST(test_sqlsource__golang_files_with_bom_and_crlf_behave_like_lf),
        TEST(test_sqlsource__sequence_numbers_order_as_numbers),
        TEST(test_sqlsource__dialect_section_for_sqlite_wins_over_the_fallback),
        TEST(test_sqlsource__missing_section_for_the_dialect_fails),
        TEST(test_sqlsource__transaction_false_runs_without_a_transaction),
        TEST(test_sqlsource__failing_statement_is_named_and_rolled_back),
        TEST(test_sqlsource__checksum_ignores_crlf_and_bom_but_not_edits),
        TEST(test_sqlsource__file_without_an_up_section),
        TEST(test_sqlsource__two_files_with_one_version),
        TEST(test_sqlsource__names_that_do_not_parse),
        TEST(test_sqlsource__unknown_section_option_names_file_and_line),
        TEST(test_sqlsource__unknown_dialect_names_file_and_line),
        TEST(test_sqlsource__second_up_section_names_file_and_line),
        TEST(test_sqlsource__sql_before_the_first_section),
        TEST(test_sqlsource__down_file_without_its_up_file),
        TEST(test_sqlsource__folder_without_migrations),
        TEST(test_sqlsource__missing_or_unreadable_folder),
        TEST(test_sqlsource__fifo_named_sql_is_refused_at_once),
        TEST(test_sqlsource__link_to_dev_zero_is_refused_at_once),
        TEST(test_sqlsource__link_to_a_regular_file_is_read),
        TEST(test_sqlsource__file_over_the_size_limit_is_refused),
        TEST(test_sqlsource__large_and_empty_files_are_read_whole),
        TEST(test_sqlsource__repeated_section_option_names_file_and_line),
        TEST(test_sqlsource__clash_with_the_source_adds_nothing),
        TEST(test_sqlsource__add_sql_errors_name_the_file),
        TEST(test_sqlsource__same_version_in_a_set_is_refused_by_the_engine),
        TEST(test_sqlsource__same_dated_version_in_c_and_sql_is_refused),
        TEST(test_sqlsource__embedded_files_are_the_files),
        TEST(test_sqlsource__embedded_and_c_migrations_interleave_by_version),
        TEST(test_sqlsource__embedded_text_is_safe_from_trigraphs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
