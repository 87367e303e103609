/* test_render.c: pins down the SQL the portable schema builder renders, as
 * golden strings, for the real SQLite dialect and for two dialects defined
 * here as plain data (so the renderer is shown to follow the data, not to
 * know backends), and proves end to end that what it renders for SQLite runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/src/internal.h"
#include "testutil.h"

extern const pm_migration m2024_01_01_000001_create_tenants;

/* ==== Test dialects ==== */

/* PostgreSQL's spelling, as data only: no postgres driver is needed. */
static const pm_dialect pg_like = {
    .version = PM_DIALECT_VERSION,
    .name = "pg_like",
    .quote = '"',
    .types =
        {
            [PM_TYPE_UUID] = "UUID",
            [PM_TYPE_TEXT] = "TEXT",
            [PM_TYPE_STRING] = "VARCHAR(%u)",
            [PM_TYPE_INTEGER] = "INTEGER",
            [PM_TYPE_BIGINT] = "BIGINT",
            [PM_TYPE_BOOLEAN] = "BOOLEAN",
            [PM_TYPE_DOUBLE] = "DOUBLE PRECISION",
            [PM_TYPE_TIMESTAMPTZ] = "TIMESTAMPTZ",
            [PM_TYPE_DATE] = "DATE",
            [PM_TYPE_JSON] = "JSONB",
            [PM_TYPE_BINARY] = "BYTEA",
        },
    .string_default = "VARCHAR",
    .now = "now()",
    .bool_true = "TRUE",
    .bool_false = "FALSE",
    .drop_index_on_table = false,
};

/* MySQL's spelling: backtick quotes, DROP INDEX ... ON table. */
static const pm_dialect mysql_like = {
    .version = PM_DIALECT_VERSION,
    .name = "mysql_like",
    .quote = '`',
    .types =
        {
            [PM_TYPE_UUID] = "CHAR(36)",
            [PM_TYPE_TEXT] = "LONGTEXT",
            [PM_TYPE_STRING] = "VARCHAR(%u)",
            [PM_TYPE_INTEGER] = "INT",
            [PM_TYPE_BIGINT] = "BIGINT",
            [PM_TYPE_BOOLEAN] = "TINYINT(1)",
            [PM_TYPE_DOUBLE] = "DOUBLE",
            [PM_TYPE_TIMESTAMPTZ] = "DATETIME(3)",
            [PM_TYPE_DATE] = "DATE",
            [PM_TYPE_JSON] = "JSON",
            [PM_TYPE_BINARY] = "LONGBLOB",
        },
    .string_default = "VARCHAR(255)",
    .now = "(CURRENT_TIMESTAMP(3))",
    .bool_true = "b'1'",
    .bool_false = "b'0'",
    .drop_index_on_table = true,
};

/* A dialect that lacks a type: the renderer must refuse, not crash. */
static const pm_dialect no_json = {
    .version = PM_DIALECT_VERSION,
    .name = "no_json",
    .quote = '"',
    .types = {[PM_TYPE_TEXT] = "TEXT"},
    .string_default = "TEXT",
    .now = "now()",
    .bool_true = "1",
    .bool_false = "0",
};

#define SQLITE_NOW "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"

/* ==== Fixture: each test gets a fresh in-memory SQLite database ==== */

static int setup_db(void **state)
{
    *state = pm_test_open("sqlite::memory:");
    return 0;
}

static int teardown_db(void **state)
{
    pm_db_close(*state);
    return 0;
}

static const pm_dialect *sqlite_dialect(void **state)
{
    const pm_dialect *d = pm__db_dialect(*state);
    assert_non_null(d);
    assert_string_equal(d->name, "sqlite");
    return d;
}

/* ==== Helpers ==== */

/* Checks a successful render and frees its SQL. */
static void expect_sql(int rc, pm_error *err, char *sql, const char *expected)
{
    pm_test_ok(rc, err);
    assert_int_equal(err->code, PM_OK);
    assert_non_null(sql);
    if (strcmp(sql, expected) != 0)
        fail_msg("rendered:\n  %s\nexpected:\n  %s", sql, expected);
    free(sql);
    pm_error_clear(err);
}

/* Checks a refused render: PM_EINVAL, no SQL, a message holding needle. */
static void expect_einval(int rc, pm_error *err, char *sql, const char *needle)
{
    assert_int_equal(rc, PM_EINVAL);
    assert_int_equal(err->code, PM_EINVAL);
    assert_null(sql);
    assert_non_null(err->message);
    if (!strstr(err->message, needle))
        fail_msg("message \"%s\" does not mention \"%s\"", err->message, needle);
    pm_error_clear(err);
}

static void assert_table_sql(const pm_dialect *d, const pm_table *t, unsigned int flags,
                             const char *expected)
{
    char *sql = NULL;
    pm_error err = PM_ERROR_INIT;
    int rc = pm__render_create_table(&sql, d, t, flags, &err);
    expect_sql(rc, &err, sql, expected);
}

static void assert_table_refused(const pm_dialect *d, const pm_table *t, const char *needle)
{
    char *sql = NULL;
    pm_error err = PM_ERROR_INIT;
    int rc = pm__render_create_table(&sql, d, t, 0, &err);
    expect_einval(rc, &err, sql, needle);
}

/* Renders one column as ALTER TABLE "t" ADD COLUMN ... and compares the part
 * after ADD COLUMN. */
static void assert_column_sql(const pm_dialect *d, const pm_column *c, const char *expected)
{
    char *sql = NULL;
    pm_error err = PM_ERROR_INIT;
    int rc = pm__render_add_column(&sql, d, "t", c, &err);
    char full[512];
    snprintf(full, sizeof(full), "ALTER TABLE %ct%c ADD COLUMN %s", d->quote, d->quote, expected);
    expect_sql(rc, &err, sql, full);
}

static void assert_column_refused(const pm_dialect *d, const pm_column *c, const char *needle)
{
    pm_column cols[1] = {*c};
    pm_table t = {.name = "t", .columns = cols, .ncolumns = 1};
    assert_table_refused(d, &t, needle);

    char *sql = NULL;
    pm_error err = PM_ERROR_INIT;
    int rc = pm__render_add_column(&sql, d, "t", c, &err);
    expect_einval(rc, &err, sql, needle);
}

/* ==== The tenants table ==== */

static const pm_column tenants_columns[] = {
    {.name = "id", .type = PM_TYPE_UUID, .flags = PM_PRIMARY_KEY | PM_NOT_NULL},
    {.name = "name", .type = PM_TYPE_TEXT, .flags = PM_NULL},
    {.name = "created_at",
     .type = PM_TYPE_TIMESTAMPTZ,
     .flags = PM_NOT_NULL,
     .default_kind = PM_DEFAULT_NOW},
};

static const pm_table tenants = {
    .name = "tenants",
    .columns = tenants_columns,
    .ncolumns = PM_ARRAY_LEN(tenants_columns),
};

#define TENANTS_SQLITE                                                                             \
    "CREATE TABLE \"tenants\" (\"id\" TEXT PRIMARY KEY NOT NULL, \"name\" TEXT NULL, "             \
    "\"created_at\" TEXT NOT NULL DEFAULT " SQLITE_NOW ")"

static void test_render__tenants_migration_creates_expected_table_on_sqlite(void **state)
{
    pm_db *db = *state;
    const pm_migration *set[] = {&m2024_01_01_000001_create_tenants};
    pm_engine *engine = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_engine_new(&engine, db, set, PM_ARRAY_LEN(set), NULL, &err), &err);
    size_t applied = 0;
    pm_test_ok(pm_engine_up(engine, PM_ALL, &applied, &err), &err);
    assert_int_equal(applied, 1);

    char *sql = pm_test_text(db, "SELECT sql FROM sqlite_master WHERE name='tenants'");
    assert_non_null(sql);
    assert_string_equal(sql, TENANTS_SQLITE);
    free(sql);

    size_t reverted = 0;
    pm_test_ok(pm_engine_down(engine, PM_ALL, &reverted, &err), &err);
    assert_int_equal(reverted, 1);
    assert_false(pm_test_has_table(db, "tenants"));
    pm_engine_free(engine);
    pm_error_clear(&err);
}

static void test_render__tenants_table_on_sqlite(void **state)
{
    assert_table_sql(sqlite_dialect(state), &tenants, 0, TENANTS_SQLITE);
}

static void test_render__tenants_table_on_pg_like(void **state)
{
    (void)state;
    assert_table_sql(&pg_like, &tenants, 0,
                     "CREATE TABLE \"tenants\" (\"id\" UUID PRIMARY KEY NOT NULL, \"name\" TEXT "
                     "NULL, \"created_at\" TIMESTAMPTZ NOT NULL DEFAULT now())");
}

static void test_render__tenants_table_on_mysql_like(void **state)
{
    (void)state;
    assert_table_sql(&mysql_like, &tenants, 0,
                     "CREATE TABLE `tenants` (`id` CHAR(36) PRIMARY KEY NOT NULL, `name` LONGTEXT "
                     "NULL, `created_at` DATETIME(3) NOT NULL DEFAULT (CURRENT_TIMESTAMP(3)))");
}

/* ==== Types ==== */

static const pm_column every_type_columns[] = {
    {.name = "uuid", .type = PM_TYPE_UUID},
    {.name = "text", .type = PM_TYPE_TEXT},
    {.name = "string40", .type = PM_TYPE_STRING, .length = 40},
    {.name = "string", .type = PM_TYPE_STRING},
    {.name = "integer", .type = PM_TYPE_INTEGER},
    {.name = "bigint", .type = PM_TYPE_BIGINT},
    {.name = "boolean", .type = PM_TYPE_BOOLEAN},
    {.name = "double", .type = PM_TYPE_DOUBLE},
    {.name = "timestamptz", .type = PM_TYPE_TIMESTAMPTZ},
    {.name = "date", .type = PM_TYPE_DATE},
    {.name = "json", .type = PM_TYPE_JSON},
    {.name = "binary", .type = PM_TYPE_BINARY},
};

static const pm_table every_type = {
    .name = "every_type",
    .columns = every_type_columns,
    .ncolumns = PM_ARRAY_LEN(every_type_columns),
};

static void test_render__every_type_on_sqlite(void **state)
{
    assert_table_sql(sqlite_dialect(state), &every_type, 0,
                     "CREATE TABLE \"every_type\" (\"uuid\" TEXT, \"text\" TEXT, \"string40\" "
                     "VARCHAR(40), \"string\" VARCHAR, \"integer\" INTEGER, \"bigint\" BIGINT, "
                     "\"boolean\" BOOLEAN, \"double\" REAL, \"timestamptz\" TEXT, \"date\" TEXT, "
                     "\"json\" TEXT, \"binary\" BLOB)");
}

static void test_render__every_type_on_pg_like(void **state)
{
    (void)state;
    assert_table_sql(&pg_like, &every_type, 0,
                     "CREATE TABLE \"every_type\" (\"uuid\" UUID, \"text\" TEXT, \"string40\" "
                     "VARCHAR(40), \"string\" VARCHAR, \"integer\" INTEGER, \"bigint\" BIGINT, "
                     "\"boolean\" BOOLEAN, \"double\" DOUBLE PRECISION, \"timestamptz\" "
                     "TIMESTAMPTZ, \"date\" DATE, \"json\" JSONB, \"binary\" BYTEA)");
}

static void test_render__every_type_on_mysql_like(void **state)
{
    (void)state;
    assert_table_sql(&mysql_like, &every_type, 0,
                     "CREATE TABLE `every_type` (`uuid` CHAR(36), `text` LONGTEXT, `string40` "
                     "VARCHAR(40), `string` VARCHAR(255), `integer` INT, `bigint` BIGINT, "
                     "`boolean` TINYINT(1), `double` DOUBLE, `timestamptz` DATETIME(3), `date` "
                     "DATE, `json` JSON, `binary` LONGBLOB)");
}

static void test_render__string_length_goes_into_varchar(void **state)
{
    const pm_column c = {.name = "code", .type = PM_TYPE_STRING, .length = 4294967295u};
    assert_column_sql(sqlite_dialect(state), &c, "\"code\" VARCHAR(4294967295)");
}

static void test_render__unknown_type_is_refused_naming_column(void **state)
{
    const pm_column c = {.name = "mystery", .type = PM_TYPE__COUNT};
    assert_column_refused(sqlite_dialect(state), &c, "\"mystery\"");
}

static void test_render__type_missing_from_dialect_is_refused(void **state)
{
    (void)state;
    const pm_column ok = {.name = "body", .type = PM_TYPE_TEXT};
    assert_column_sql(&no_json, &ok, "\"body\" TEXT");
    const pm_column c = {.name = "payload", .type = PM_TYPE_JSON};
    assert_column_refused(&no_json, &c, "\"payload\"");
}

/* ==== Nullability, keys, uniqueness ==== */

static void test_render__nullability_flags(void **state)
{
    const pm_dialect *d = sqlite_dialect(state);
    const pm_column plain = {.name = "a", .type = PM_TYPE_INTEGER};
    const pm_column null = {.name = "b", .type = PM_TYPE_INTEGER, .flags = PM_NULL};
    const pm_column not_null = {.name = "c", .type = PM_TYPE_INTEGER, .flags = PM_NOT_NULL};
    const pm_column pk = {.name = "d", .type = PM_TYPE_INTEGER, .flags = PM_PRIMARY_KEY};
    assert_column_sql(d, &plain, "\"a\" INTEGER");
    assert_column_sql(d, &null, "\"b\" INTEGER NULL");
    assert_column_sql(d, &not_null, "\"c\" INTEGER NOT NULL");
    /* A primary key is NOT NULL even when the flag is not given. */
    assert_column_sql(d, &pk, "\"d\" INTEGER PRIMARY KEY NOT NULL");
}

static void test_render__unique_column(void **state)
{
    const pm_column email = {
        .name = "email", .type = PM_TYPE_STRING, .length = 255, .flags = PM_NOT_NULL | PM_UNIQUE};
    const pm_table users = {.name = "users", .columns = &email, .ncolumns = 1};
    assert_table_sql(sqlite_dialect(state), &users, 0,
                     "CREATE TABLE \"users\" (\"email\" VARCHAR(255) NOT NULL UNIQUE)");
    assert_table_sql(&mysql_like, &users, 0,
                     "CREATE TABLE `users` (`email` VARCHAR(255) NOT NULL UNIQUE)");
}

static void test_render__composite_primary_key(void **state)
{
    static const pm_column columns[] = {
        {.name = "tenant_id", .type = PM_TYPE_UUID, .flags = PM_NOT_NULL},
        {.name = "user_id", .type = PM_TYPE_UUID, .flags = PM_NOT_NULL},
        {.name = "role", .type = PM_TYPE_STRING, .length = 16, .flags = PM_NOT_NULL},
    };
    static const char *const pk[] = {"tenant_id", "user_id"};
    const pm_table memberships = {
        .name = "memberships",
        .columns = columns,
        .ncolumns = PM_ARRAY_LEN(columns),
        .primary_key = pk,
        .nprimary_key = PM_ARRAY_LEN(pk),
    };
    assert_table_sql(sqlite_dialect(state), &memberships, 0,
                     "CREATE TABLE \"memberships\" (\"tenant_id\" TEXT NOT NULL, \"user_id\" TEXT "
                     "NOT NULL, \"role\" VARCHAR(16) NOT NULL, PRIMARY KEY (\"tenant_id\", "
                     "\"user_id\"))");
    assert_table_sql(&pg_like, &memberships, 0,
                     "CREATE TABLE \"memberships\" (\"tenant_id\" UUID NOT NULL, \"user_id\" UUID "
                     "NOT NULL, \"role\" VARCHAR(16) NOT NULL, PRIMARY KEY (\"tenant_id\", "
                     "\"user_id\"))");
}

/* ==== Defaults ==== */

static const pm_column defaults_columns[] = {
    {.name = "created_at",
     .type = PM_TYPE_TIMESTAMPTZ,
     .flags = PM_NOT_NULL,
     .default_kind = PM_DEFAULT_NOW},
    {.name = "note",
     .type = PM_TYPE_TEXT,
     .default_kind = PM_DEFAULT_STRING,
     .default_value = "it's"},
    {.name = "empty", .type = PM_TYPE_TEXT, .default_kind = PM_DEFAULT_STRING, .default_value = ""},
    {.name = "count",
     .type = PM_TYPE_INTEGER,
     .flags = PM_NOT_NULL,
     .default_kind = PM_DEFAULT_NUMBER,
     .default_value = "42"},
    {.name = "ratio",
     .type = PM_TYPE_DOUBLE,
     .default_kind = PM_DEFAULT_NUMBER,
     .default_value = "-1.5"},
    {.name = "active",
     .type = PM_TYPE_BOOLEAN,
     .default_kind = PM_DEFAULT_BOOL,
     .default_value = "true"},
    {.name = "deleted",
     .type = PM_TYPE_BOOLEAN,
     .default_kind = PM_DEFAULT_BOOL,
     .default_value = "false"},
    {.name = "code",
     .type = PM_TYPE_TEXT,
     .default_kind = PM_DEFAULT_EXPR,
     .default_value = "(lower('AB'))"},
};

static const pm_table defaults = {
    .name = "defaults",
    .columns = defaults_columns,
    .ncolumns = PM_ARRAY_LEN(defaults_columns),
};

static void test_render__defaults_of_each_kind_on_sqlite(void **state)
{
    assert_table_sql(
        sqlite_dialect(state), &defaults, 0,
        "CREATE TABLE \"defaults\" (\"created_at\" TEXT NOT NULL DEFAULT " SQLITE_NOW
        ", \"note\" TEXT DEFAULT 'it''s', \"empty\" TEXT DEFAULT '', \"count\" INTEGER "
        "NOT NULL DEFAULT 42, \"ratio\" REAL DEFAULT -1.5, \"active\" BOOLEAN DEFAULT "
        "1, \"deleted\" BOOLEAN DEFAULT 0, \"code\" TEXT DEFAULT (lower('AB')))");
}

static void test_render__defaults_of_each_kind_on_pg_like(void **state)
{
    (void)state;
    assert_table_sql(
        &pg_like, &defaults, 0,
        "CREATE TABLE \"defaults\" (\"created_at\" TIMESTAMPTZ NOT NULL DEFAULT now(), "
        "\"note\" TEXT DEFAULT 'it''s', \"empty\" TEXT DEFAULT '', \"count\" INTEGER "
        "NOT NULL DEFAULT 42, \"ratio\" DOUBLE PRECISION DEFAULT -1.5, \"active\" "
        "BOOLEAN DEFAULT TRUE, \"deleted\" BOOLEAN DEFAULT FALSE, \"code\" TEXT "
        "DEFAULT (lower('AB')))");
}

static void test_render__defaults_of_each_kind_on_mysql_like(void **state)
{
    (void)state;
    assert_table_sql(&mysql_like, &defaults, 0,
                     "CREATE TABLE `defaults` (`created_at` DATETIME(3) NOT NULL DEFAULT "
                     "(CURRENT_TIMESTAMP(3)), `note` LONGTEXT DEFAULT 'it''s', `empty` LONGTEXT "
                     "DEFAULT '', `count` INT NOT NULL DEFAULT 42, `ratio` DOUBLE DEFAULT -1.5, "
                     "`active` TINYINT(1) DEFAULT b'1', `deleted` TINYINT(1) DEFAULT b'0', `code` "
                     "LONGTEXT DEFAULT (lower('AB')))");
}

static void test_render__number_defaults_accepted(void **state)
{
    const pm_dialect *d = sqlite_dialect(state);
    const char *numbers[] = {"0", "+7", "-12", "3.25", "10.", ".5"};
    for (size_t i = 0; i < PM_ARRAY_LEN(numbers); i++) {
        const pm_column c = {.name = "n",
                             .type = PM_TYPE_DOUBLE,
                             .default_kind = PM_DEFAULT_NUMBER,
                             .default_value = numbers[i]};
        char expected[64];
        snprintf(expected, sizeof(expected), "\"n\" REAL DEFAULT %s", numbers[i]);
        assert_column_sql(d, &c, expected);
    }
}

static void test_render__invalid_number_default_is_refused(void **state)
{
    const pm_dialect *d = sqlite_dialect(state);
    const char *bad[] = {"12abc", "", "-", ".", "1.2.3", "1e5", "42; DROP TABLE t", " 1"};
    for (size_t i = 0; i < PM_ARRAY_LEN(bad); i++) {
        const pm_column c = {.name = "quantity",
                             .type = PM_TYPE_INTEGER,
                             .default_kind = PM_DEFAULT_NUMBER,
                             .default_value = bad[i]};
        assert_column_refused(d, &c, "\"quantity\"");
    }
}

static void test_render__invalid_bool_default_is_refused(void **state)
{
    const pm_dialect *d = sqlite_dialect(state);
    const char *bad[] = {"yes", "TRUE", "1", ""};
    for (size_t i = 0; i < PM_ARRAY_LEN(bad); i++) {
        const pm_column c = {.name = "enabled",
                             .type = PM_TYPE_BOOLEAN,
                             .default_kind = PM_DEFAULT_BOOL,
                             .default_value = bad[i]};
        assert_column_refused(d, &c, "\"enabled\"");
    }
}

static void test_render__missing_default_value_is_refused(void **state)
{
    const pm_dialect *d = sqlite_dialect(state);
    const pm_default_kind kinds[] = {PM_DEFAULT_STRING, PM_DEFAULT_NUMBER, PM_DEFAULT_BOOL,
                                     PM_DEFAULT_EXPR};
    for (size_t i = 0; i < PM_ARRAY_LEN(kinds); i++) {
        const pm_column c = {.name = "status", .type = PM_TYPE_TEXT, .default_kind = kinds[i]};
        assert_column_refused(d, &c, "\"status\"");
    }
}

static void test_render__unknown_default_kind_is_refused(void **state)
{
    const pm_column c = {.name = "odd",
                         .type = PM_TYPE_TEXT,
                         /* out of the list, within the enum's range (UBSan) */
                         .default_kind = (pm_default_kind)7,
                         .default_value = "x"};
    assert_column_refused(sqlite_dialect(state), &c, "\"odd\"");
}

static void test_render__failed_column_leaves_no_partial_table(void **state)
{
    /* The bad column is the second: the first has already been rendered into
     * the buffer, which must be freed (LeakSanitizer checks) and not returned. */
    static const pm_column columns[] = {
        {.name = "id", .type = PM_TYPE_INTEGER, .flags = PM_PRIMARY_KEY},
        {.name = "flag",
         .type = PM_TYPE_BOOLEAN,
         .default_kind = PM_DEFAULT_BOOL,
         .default_value = "yes"},
    };
    const pm_table t = {.name = "t", .columns = columns, .ncolumns = PM_ARRAY_LEN(columns)};
    assert_table_refused(sqlite_dialect(state), &t, "\"flag\"");
}

/* ==== Foreign keys ==== */

static void test_render__foreign_key_on_delete_cascade(void **state)
{
    static const pm_column columns[] = {
        {.name = "id", .type = PM_TYPE_UUID, .flags = PM_PRIMARY_KEY},
        {.name = "tenant_id",
         .type = PM_TYPE_UUID,
         .flags = PM_NOT_NULL,
         .ref_table = "tenants",
         .ref_column = "id",
         .on_delete = PM_FK_CASCADE},
    };
    const pm_table users = {.name = "users", .columns = columns, .ncolumns = PM_ARRAY_LEN(columns)};
    assert_table_sql(sqlite_dialect(state), &users, 0,
                     "CREATE TABLE \"users\" (\"id\" TEXT PRIMARY KEY NOT NULL, \"tenant_id\" TEXT "
                     "NOT NULL REFERENCES \"tenants\" (\"id\") ON DELETE CASCADE)");
    assert_table_sql(&mysql_like, &users, 0,
                     "CREATE TABLE `users` (`id` CHAR(36) PRIMARY KEY NOT NULL, `tenant_id` "
                     "CHAR(36) NOT NULL REFERENCES `tenants` (`id`) ON DELETE CASCADE)");
}

static void test_render__foreign_key_actions(void **state)
{
    const pm_dialect *d = sqlite_dialect(state);
    pm_column c = {.name = "owner", .type = PM_TYPE_INTEGER, .ref_table = "o", .ref_column = "id"};
    c.on_delete = PM_FK_NO_ACTION;
    assert_column_sql(d, &c, "\"owner\" INTEGER REFERENCES \"o\" (\"id\")");
    c.on_delete = PM_FK_SET_NULL;
    assert_column_sql(d, &c, "\"owner\" INTEGER REFERENCES \"o\" (\"id\") ON DELETE SET NULL");
    c.on_delete = PM_FK_RESTRICT;
    assert_column_sql(d, &c, "\"owner\" INTEGER REFERENCES \"o\" (\"id\") ON DELETE RESTRICT");
}

static void test_render__foreign_key_without_column_is_refused(void **state)
{
    const pm_column c = {.name = "owner", .type = PM_TYPE_INTEGER, .ref_table = "owners"};
    assert_column_refused(sqlite_dialect(state), &c, "\"owner\"");
}

/* ==== Identifiers ==== */

static void test_render__identifiers_escape_the_quote_char(void **state)
{
    const pm_column c = {.name = "say \"hi\"", .type = PM_TYPE_TEXT};
    const pm_table t = {.name = "we\"ird", .columns = &c, .ncolumns = 1};
    assert_table_sql(sqlite_dialect(state), &t, 0,
                     "CREATE TABLE \"we\"\"ird\" (\"say \"\"hi\"\"\" TEXT)");
    /* With backticks only backticks are doubled. */
    const pm_column b = {.name = "a`b\"c", .type = PM_TYPE_TEXT};
    const pm_table tb = {.name = "``", .columns = &b, .ncolumns = 1};
    assert_table_sql(&mysql_like, &tb, 0, "CREATE TABLE `````` (`a``b\"c` LONGTEXT)");
}

static void test_render__ident_appends_quoted_identifier(void **state)
{
    pm_buf b = PM_BUF_INIT;
    pm__render_ident(&b, sqlite_dialect(state), "a\"b");
    pm_buf_appendc(&b, ' ');
    pm__render_ident(&b, &mysql_like, "a`b");
    pm_buf_appendc(&b, ' ');
    pm__render_ident(&b, &pg_like, "");
    assert_string_equal(pm_buf_cstr(&b), "\"a\"\"b\" `a``b` \"\"");
    pm_buf_free(&b);
}

static void test_render__quoted_identifiers_work_on_sqlite(void **state)
{
    pm_db *db = *state;
    const pm_column c = {.name = "say \"hi\"",
                         .type = PM_TYPE_TEXT,
                         .default_kind = PM_DEFAULT_STRING,
                         .default_value = "it's"};
    const pm_table t = {.name = "we\"ird", .columns = &c, .ncolumns = 1};
    char *sql = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm__render_create_table(&sql, pm__db_dialect(db), &t, 0, &err), &err);
    pm_test_exec(db, sql);
    free(sql);
    assert_true(pm_test_has_table(db, "we\"ird"));
    assert_true(pm_test_has_column(db, "we\"ird", "say \"hi\""));
    pm_test_exec(db, "INSERT INTO \"we\"\"ird\" DEFAULT VALUES");
    char *v = pm_test_text(db, "SELECT \"say \"\"hi\"\"\" FROM \"we\"\"ird\"");
    assert_string_equal(v, "it's");
    free(v);
}

/* ==== Create and drop, IF [NOT] EXISTS ==== */

static void test_render__create_table_if_not_exists(void **state)
{
    const pm_column c = {.name = "id", .type = PM_TYPE_INTEGER, .flags = PM_PRIMARY_KEY};
    const pm_table t = {.name = "t", .columns = &c, .ncolumns = 1};
    assert_table_sql(sqlite_dialect(state), &t, PM_IF_NOT_EXISTS,
                     "CREATE TABLE IF NOT EXISTS \"t\" (\"id\" INTEGER PRIMARY KEY NOT NULL)");
    /* PM_IF_EXISTS means nothing to CREATE. */
    assert_table_sql(sqlite_dialect(state), &t, PM_IF_EXISTS,
                     "CREATE TABLE \"t\" (\"id\" INTEGER PRIMARY KEY NOT NULL)");
}

static void test_render__drop_table(void **state)
{
    const pm_dialect *d = sqlite_dialect(state);
    char *sql = NULL;
    pm_error err = PM_ERROR_INIT;
    int rc = pm__render_drop_table(&sql, d, "tenants", 0, &err);
    expect_sql(rc, &err, sql, "DROP TABLE \"tenants\"");
    sql = NULL;
    rc = pm__render_drop_table(&sql, d, "tenants", PM_IF_EXISTS, &err);
    expect_sql(rc, &err, sql, "DROP TABLE IF EXISTS \"tenants\"");
    sql = NULL;
    rc = pm__render_drop_table(&sql, &mysql_like, "tenants", PM_IF_EXISTS, &err);
    expect_sql(rc, &err, sql, "DROP TABLE IF EXISTS `tenants`");
}

static void test_render__drop_table_without_name_is_refused(void **state)
{
    const pm_dialect *d = sqlite_dialect(state);
    char *sql = NULL;
    pm_error err = PM_ERROR_INIT;
    int rc = pm__render_drop_table(&sql, d, NULL, 0, &err);
    expect_einval(rc, &err, sql, "table name is missing");
    rc = pm__render_drop_table(&sql, d, "", PM_IF_EXISTS, &err);
    expect_einval(rc, &err, sql, "table name is missing");
}

static void test_render__table_without_columns_is_refused(void **state)
{
    const pm_table t = {.name = "empty", .columns = NULL, .ncolumns = 0};
    assert_table_refused(sqlite_dialect(state), &t, "\"empty\"");
}

static void test_render__table_without_name_is_refused(void **state)
{
    const pm_column c = {.name = "id", .type = PM_TYPE_INTEGER};
    const pm_table unnamed = {.name = NULL, .columns = &c, .ncolumns = 1};
    assert_table_refused(sqlite_dialect(state), &unnamed, "table name is missing");
    const pm_table empty_name = {.name = "", .columns = &c, .ncolumns = 1};
    assert_table_refused(sqlite_dialect(state), &empty_name, "table name is missing");
}

static void test_render__column_without_name_is_refused(void **state)
{
    const pm_column unnamed = {.name = NULL, .type = PM_TYPE_INTEGER};
    assert_column_refused(sqlite_dialect(state), &unnamed, "no name");
    const pm_column empty = {.name = "", .type = PM_TYPE_INTEGER};
    assert_column_refused(sqlite_dialect(state), &empty, "no name");
}

/* ==== Indexes ==== */

static const char *const tenant_name_columns[] = {"name", "created_at"};

static void test_render__create_unique_index_on_two_columns(void **state)
{
    const pm_index idx = {.name = "tenants_name_created_at",
                          .table = "tenants",
                          .columns = tenant_name_columns,
                          .ncolumns = 2,
                          .unique = true};
    char *sql = NULL;
    pm_error err = PM_ERROR_INIT;
    int rc = pm__render_create_index(&sql, sqlite_dialect(state), &idx, 0, &err);
    expect_sql(rc, &err, sql,
               "CREATE UNIQUE INDEX \"tenants_name_created_at\" ON \"tenants\" (\"name\", "
               "\"created_at\")");
    sql = NULL;
    rc = pm__render_create_index(&sql, &mysql_like, &idx, 0, &err);
    expect_sql(rc, &err, sql,
               "CREATE UNIQUE INDEX `tenants_name_created_at` ON `tenants` (`name`, `created_at`)");
}

static void test_render__create_index_if_not_exists(void **state)
{
    const pm_index idx = {
        .name = "tenants_name", .table = "tenants", .columns = tenant_name_columns, .ncolumns = 1};
    char *sql = NULL;
    pm_error err = PM_ERROR_INIT;
    int rc = pm__render_create_index(&sql, sqlite_dialect(state), &idx, PM_IF_NOT_EXISTS, &err);
    expect_sql(rc, &err, sql,
               "CREATE INDEX IF NOT EXISTS \"tenants_name\" ON \"tenants\" (\"name\")");
}

static void test_render__index_without_columns_or_names_is_refused(void **state)
{
    const pm_dialect *d = sqlite_dialect(state);
    char *sql = NULL;
    pm_error err = PM_ERROR_INIT;
    const pm_index no_columns = {.name = "i", .table = "t", .columns = NULL, .ncolumns = 0};
    int rc = pm__render_create_index(&sql, d, &no_columns, 0, &err);
    expect_einval(rc, &err, sql, "\"i\"");
    const pm_index no_name = {
        .name = NULL, .table = "t", .columns = tenant_name_columns, .ncolumns = 1};
    rc = pm__render_create_index(&sql, d, &no_name, 0, &err);
    expect_einval(rc, &err, sql, "index name is missing");
    const pm_index no_table = {
        .name = "i", .table = "", .columns = tenant_name_columns, .ncolumns = 1};
    rc = pm__render_create_index(&sql, d, &no_table, 0, &err);
    expect_einval(rc, &err, sql, "table name is missing");
}

static void test_render__drop_index_on_sqlite_names_only_the_index(void **state)
{
    const pm_dialect *d = sqlite_dialect(state);
    char *sql = NULL;
    pm_error err = PM_ERROR_INIT;
    int rc = pm__render_drop_index(&sql, d, "tenants", "tenants_name", 0, &err);
    expect_sql(rc, &err, sql, "DROP INDEX \"tenants_name\"");
    sql = NULL;
    rc = pm__render_drop_index(&sql, d, "tenants", "tenants_name", PM_IF_EXISTS, &err);
    expect_sql(rc, &err, sql, "DROP INDEX IF EXISTS \"tenants_name\"");
    /* The table is not needed where the dialect does not name it. */
    sql = NULL;
    rc = pm__render_drop_index(&sql, d, NULL, "tenants_name", 0, &err);
    expect_sql(rc, &err, sql, "DROP INDEX \"tenants_name\"");
}

static void test_render__drop_index_on_mysql_like_names_the_table(void **state)
{
    (void)state;
    char *sql = NULL;
    pm_error err = PM_ERROR_INIT;
    int rc = pm__render_drop_index(&sql, &mysql_like, "tenants", "tenants_name", 0, &err);
    expect_sql(rc, &err, sql, "DROP INDEX `tenants_name` ON `tenants`");
    sql = NULL;
    rc = pm__render_drop_index(&sql, &mysql_like, NULL, "tenants_name", 0, &err);
    expect_einval(rc, &err, sql, "table name is missing");
}

static void test_render__drop_index_without_name_is_refused(void **state)
{
    char *sql = NULL;
    pm_error err = PM_ERROR_INIT;
    int rc = pm__render_drop_index(&sql, sqlite_dialect(state), "t", NULL, 0, &err);
    expect_einval(rc, &err, sql, "index name is missing");
}

/* ==== Altering columns ==== */

static void test_render__add_column(void **state)
{
    const pm_column plan = {.name = "plan",
                            .type = PM_TYPE_STRING,
                            .length = 32,
                            .flags = PM_NOT_NULL,
                            .default_kind = PM_DEFAULT_STRING,
                            .default_value = "free"};
    char *sql = NULL;
    pm_error err = PM_ERROR_INIT;
    int rc = pm__render_add_column(&sql, sqlite_dialect(state), "tenants", &plan, &err);
    expect_sql(rc, &err, sql,
               "ALTER TABLE \"tenants\" ADD COLUMN \"plan\" VARCHAR(32) NOT NULL DEFAULT 'free'");
    sql = NULL;
    rc = pm__render_add_column(&sql, &pg_like, NULL, &plan, &err);
    expect_einval(rc, &err, sql, "table name is missing");
}

static void test_render__drop_column(void **state)
{
    const pm_dialect *d = sqlite_dialect(state);
    char *sql = NULL;
    pm_error err = PM_ERROR_INIT;
    int rc = pm__render_drop_column(&sql, d, "tenants", "plan", &err);
    expect_sql(rc, &err, sql, "ALTER TABLE \"tenants\" DROP COLUMN \"plan\"");
    sql = NULL;
    rc = pm__render_drop_column(&sql, &mysql_like, "tenants", "plan", &err);
    expect_sql(rc, &err, sql, "ALTER TABLE `tenants` DROP COLUMN `plan`");
    sql = NULL;
    rc = pm__render_drop_column(&sql, d, "tenants", "", &err);
    expect_einval(rc, &err, sql, "column name is missing");
    rc = pm__render_drop_column(&sql, d, NULL, "plan", &err);
    expect_einval(rc, &err, sql, "table name is missing");
}

static void test_render__rename_column(void **state)
{
    const pm_dialect *d = sqlite_dialect(state);
    char *sql = NULL;
    pm_error err = PM_ERROR_INIT;
    int rc = pm__render_rename_column(&sql, d, "tenants", "name", "display_name", &err);
    expect_sql(rc, &err, sql, "ALTER TABLE \"tenants\" RENAME COLUMN \"name\" TO \"display_name\"");
    sql = NULL;
    rc = pm__render_rename_column(&sql, &mysql_like, "tenants", "name", "display_name", &err);
    expect_sql(rc, &err, sql, "ALTER TABLE `tenants` RENAME COLUMN `name` TO `display_name`");
    sql = NULL;
    rc = pm__render_rename_column(&sql, d, "tenants", NULL, "x", &err);
    expect_einval(rc, &err, sql, "column name is missing");
    rc = pm__render_rename_column(&sql, d, "tenants", "name", "", &err);
    expect_einval(rc, &err, sql, "new column name is missing");
    rc = pm__render_rename_column(&sql, d, "", "name", "x", &err);
    expect_einval(rc, &err, sql, "table name is missing");
}

/* ==== End to end: the rendered SQL runs on SQLite ==== */

static const pm_column owners_columns[] = {
    {.name = "id", .type = PM_TYPE_UUID, .flags = PM_PRIMARY_KEY},
    {.name = "email", .type = PM_TYPE_STRING, .length = 255, .flags = PM_NOT_NULL | PM_UNIQUE},
};

static const pm_table owners = {
    .name = "owners", .columns = owners_columns, .ncolumns = PM_ARRAY_LEN(owners_columns)};

static const pm_column widgets_columns[] = {
    {.name = "id", .type = PM_TYPE_UUID, .flags = PM_PRIMARY_KEY | PM_NOT_NULL},
    {.name = "owner_id",
     .type = PM_TYPE_UUID,
     .flags = PM_NOT_NULL,
     .ref_table = "owners",
     .ref_column = "id",
     .on_delete = PM_FK_CASCADE},
    {.name = "label", .type = PM_TYPE_TEXT, .flags = PM_NULL},
    {.name = "code",
     .type = PM_TYPE_STRING,
     .length = 8,
     .default_kind = PM_DEFAULT_STRING,
     .default_value = "o'k"},
    {.name = "slug", .type = PM_TYPE_STRING},
    {.name = "quantity",
     .type = PM_TYPE_INTEGER,
     .flags = PM_NOT_NULL,
     .default_kind = PM_DEFAULT_NUMBER,
     .default_value = "42"},
    {.name = "serial",
     .type = PM_TYPE_BIGINT,
     .default_kind = PM_DEFAULT_NUMBER,
     .default_value = "9007199254740993"},
    {.name = "active",
     .type = PM_TYPE_BOOLEAN,
     .flags = PM_NOT_NULL,
     .default_kind = PM_DEFAULT_BOOL,
     .default_value = "true"},
    {.name = "archived",
     .type = PM_TYPE_BOOLEAN,
     .default_kind = PM_DEFAULT_BOOL,
     .default_value = "false"},
    {.name = "price",
     .type = PM_TYPE_DOUBLE,
     .default_kind = PM_DEFAULT_NUMBER,
     .default_value = "-1.5"},
    {.name = "created_at",
     .type = PM_TYPE_TIMESTAMPTZ,
     .flags = PM_NOT_NULL,
     .default_kind = PM_DEFAULT_NOW},
    {.name = "released_on", .type = PM_TYPE_DATE},
    {.name = "attrs",
     .type = PM_TYPE_JSON,
     .default_kind = PM_DEFAULT_EXPR,
     .default_value = "(json_object('a', 1))"},
    {.name = "blob", .type = PM_TYPE_BINARY},
    {.name = "legacy", .type = PM_TYPE_TEXT},
};

static const pm_table widgets = {
    .name = "widgets", .columns = widgets_columns, .ncolumns = PM_ARRAY_LEN(widgets_columns)};

static const char *const widgets_index_columns[] = {"owner_id", "code"};
static const pm_index widgets_index = {.name = "widgets_owner_code",
                                       .table = "widgets",
                                       .columns = widgets_index_columns,
                                       .ncolumns = PM_ARRAY_LEN(widgets_index_columns),
                                       .unique = true};

static const pm_column notes_column = {.name = "notes",
                                       .type = PM_TYPE_TEXT,
                                       .default_kind = PM_DEFAULT_STRING,
                                       .default_value = "none yet"};
static const pm_column legacy_column = {.name = "legacy", .type = PM_TYPE_TEXT};

static int up_create_widgets(pm_schema *s, const void *data)
{
    (void)data;
    int rc = pm_schema_create_table(s, &owners, 0);
    if (rc == 0)
        rc = pm_schema_create_table(s, &widgets, PM_IF_NOT_EXISTS);
    if (rc == 0)
        rc = pm_schema_create_index(s, &widgets_index, PM_IF_NOT_EXISTS);
    return rc;
}

static int down_create_widgets(pm_schema *s, const void *data)
{
    (void)data;
    int rc = pm_schema_drop_index(s, "widgets", "widgets_owner_code", PM_IF_EXISTS);
    if (rc == 0)
        rc = pm_schema_drop_table(s, "widgets", 0);
    if (rc == 0)
        rc = pm_schema_drop_table(s, "owners", PM_IF_EXISTS);
    return rc;
}

static int up_alter_widgets(pm_schema *s, const void *data)
{
    (void)data;
    int rc = pm_schema_add_column(s, "widgets", &notes_column);
    if (rc == 0)
        rc = pm_schema_rename_column(s, "widgets", "label", "title");
    if (rc == 0)
        rc = pm_schema_drop_column(s, "widgets", "legacy");
    return rc;
}

static int down_alter_widgets(pm_schema *s, const void *data)
{
    (void)data;
    int rc = pm_schema_add_column(s, "widgets", &legacy_column);
    if (rc == 0)
        rc = pm_schema_rename_column(s, "widgets", "title", "label");
    if (rc == 0)
        rc = pm_schema_drop_column(s, "widgets", "notes");
    return rc;
}

static const pm_migration create_widgets = {.name = "m2024_02_01_000000_create_widgets",
                                            .up = up_create_widgets,
                                            .down = down_create_widgets};
static const pm_migration alter_widgets = {
    .name = "m2024_02_01_000001_alter_widgets", .up = up_alter_widgets, .down = down_alter_widgets};

static void test_render__rendered_sql_runs_up_and_down_on_sqlite(void **state)
{
    pm_db *db = *state;
    const pm_migration *set[] = {&create_widgets, &alter_widgets};
    pm_engine *engine = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_engine_new(&engine, db, set, PM_ARRAY_LEN(set), NULL, &err), &err);

    size_t n = 0;
    pm_test_ok(pm_engine_up(engine, PM_ALL, &n, &err), &err);
    assert_int_equal(n, 2);
    assert_true(pm_test_has_table(db, "owners"));
    assert_true(pm_test_has_table(db, "widgets"));
    const char *kept[] = {"id",          "owner_id", "code",     "slug",  "quantity",
                          "serial",      "active",   "archived", "price", "created_at",
                          "released_on", "attrs",    "blob",     "notes", "title"};
    for (size_t i = 0; i < PM_ARRAY_LEN(kept); i++)
        if (!pm_test_has_column(db, "widgets", kept[i]))
            fail_msg("widgets has no column \"%s\" after up", kept[i]);
    assert_false(pm_test_has_column(db, "widgets", "label"));
    assert_false(pm_test_has_column(db, "widgets", "legacy"));
    assert_int_equal(pm_test_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
                                     "AND name = 'widgets_owner_code'"),
                     1);

    /* The defaults hold the values the builder promised. */
    pm_test_exec(db, "INSERT INTO owners (id, email) VALUES ('o1', 'a@example.com')");
    pm_test_exec(db, "INSERT INTO widgets (id, owner_id) VALUES ('w1', 'o1')");
    assert_int_equal(pm_test_int(db, "SELECT quantity FROM widgets"), 42);
    assert_int_equal(pm_test_int(db, "SELECT serial FROM widgets"), 9007199254740993LL);
    assert_int_equal(pm_test_int(db, "SELECT active FROM widgets"), 1);
    assert_int_equal(pm_test_int(db, "SELECT archived FROM widgets"), 0);
    assert_int_equal(pm_test_int(db, "SELECT price = -1.5 FROM widgets"), 1);
    char *text = pm_test_text(db, "SELECT code FROM widgets");
    assert_string_equal(text, "o'k");
    free(text);
    text = pm_test_text(db, "SELECT notes FROM widgets");
    assert_string_equal(text, "none yet");
    free(text);
    text = pm_test_text(db, "SELECT attrs FROM widgets");
    assert_string_equal(text, "{\"a\":1}");
    free(text);
    assert_int_equal(pm_test_int(db, "SELECT created_at GLOB "
                                     "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:"
                                     "[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z' FROM widgets"),
                     1);
    /* The unique index and the cascading foreign key are real. */
    pm_error dup = PM_ERROR_INIT;
    assert_int_equal(pm_db_exec(db, "INSERT INTO widgets (id, owner_id) VALUES ('w2', 'o1')", &dup),
                     PM_EDB);
    pm_error_clear(&dup);
    assert_int_equal(
        pm_db_exec(db, "INSERT INTO widgets (id, owner_id) VALUES ('w3', 'none')", &dup), PM_EDB);
    pm_error_clear(&dup);
    pm_test_exec(db, "DELETE FROM owners");
    assert_int_equal(pm_test_int(db, "SELECT count(*) FROM widgets"), 0);

    /* Down one: the column changes are reverted. */
    pm_test_ok(pm_engine_down(engine, 1, &n, &err), &err);
    assert_int_equal(n, 1);
    assert_true(pm_test_has_column(db, "widgets", "label"));
    assert_true(pm_test_has_column(db, "widgets", "legacy"));
    assert_false(pm_test_has_column(db, "widgets", "title"));
    assert_false(pm_test_has_column(db, "widgets", "notes"));

    /* Down the rest: everything is gone. */
    pm_test_ok(pm_engine_down(engine, PM_ALL, &n, &err), &err);
    assert_int_equal(n, 1);
    assert_false(pm_test_has_table(db, "widgets"));
    assert_false(pm_test_has_table(db, "owners"));
    assert_int_equal(pm_test_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
                                     "AND name = 'widgets_owner_code'"),
                     0);
    assert_int_equal(pm_test_history_count(db), 0);

    pm_engine_free(engine);
    pm_error_clear(&err);
}

/* A render failure inside up() rolls the migration back with the column named. */
static int up_bad_default(pm_schema *s, const void *data)
{
    (void)data;
    static const pm_column columns[] = {
        {.name = "id", .type = PM_TYPE_INTEGER, .flags = PM_PRIMARY_KEY},
        {.name = "weight",
         .type = PM_TYPE_DOUBLE,
         .default_kind = PM_DEFAULT_NUMBER,
         .default_value = "12abc"},
    };
    static const pm_table t = {.name = "parcels", .columns = columns, .ncolumns = 2};
    int rc = pm_schema_create_table(s, &owners, 0);
    if (rc == 0)
        rc = pm_schema_create_table(s, &t, 0);
    return rc;
}

static void test_render__invalid_default_fails_migration_and_rolls_back(void **state)
{
    pm_db *db = *state;
    const pm_migration bad = {.name = "m2024_03_01_000000_bad_default",
                              .up = up_bad_default,
                              .down = pm_test_down_drop,
                              .data = "parcels"};
    const pm_migration *set[] = {&bad};
    pm_engine *engine = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_engine_new(&engine, db, set, 1, NULL, &err), &err);
    size_t n = 0;
    assert_int_not_equal(pm_engine_up(engine, PM_ALL, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_non_null(err.message);
    if (!strstr(err.message, "\"weight\""))
        fail_msg("message \"%s\" does not name the column", err.message);
    assert_non_null(err.migration);
    assert_string_equal(err.migration, "m2024_03_01_000000_bad_default");
    assert_false(pm_test_has_table(db, "owners"));
    assert_false(pm_test_has_table(db, "parcels"));
    assert_int_equal(pm_test_history_count(db), 0);
    pm_engine_free(engine);
    pm_error_clear(&err);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup_db, teardown_db)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_render__tenants_migration_creates_expected_table_on_sqlite),
        T(test_render__tenants_table_on_sqlite),
        T(test_render__tenants_table_on_pg_like),
        T(test_render__tenants_table_on_mysql_like),
        T(test_render__every_type_on_sqlite),
        T(test_render__every_type_on_pg_like),
        T(test_render__every_type_on_mysql_like),
        T(test_render__string_length_goes_into_varchar),
        T(test_render__unknown_type_is_refused_naming_column),
        T(test_render__type_missing_from_dialect_is_refused),
        T(test_render__nullability_flags),
        T(test_render__unique_column),
        T(test_render__composite_primary_key),
        T(test_render__defaults_of_each_kind_on_sqlite),
        T(test_render__defaults_of_each_kind_on_pg_like),
        T(test_render__defaults_of_each_kind_on_mysql_like),
        T(test_render__number_defaults_accepted),
        T(test_render__invalid_number_default_is_refused),
        T(test_render__invalid_bool_default_is_refused),
        T(test_render__missing_default_value_is_refused),
        T(test_render__unknown_default_kind_is_refused),
        T(test_render__failed_column_leaves_no_partial_table),
        T(test_render__foreign_key_on_delete_cascade),
        T(test_render__foreign_key_actions),
        T(test_render__foreign_key_without_column_is_refused),
        T(test_render__identifiers_escape_the_quote_char),
        T(test_render__ident_appends_quoted_identifier),
        T(test_render__quoted_identifiers_work_on_sqlite),
        T(test_render__create_table_if_not_exists),
        T(test_render__drop_table),
        T(test_render__drop_table_without_name_is_refused),
        T(test_render__table_without_columns_is_refused),
        T(test_render__table_without_name_is_refused),
        T(test_render__column_without_name_is_refused),
        T(test_render__create_unique_index_on_two_columns),
        T(test_render__create_index_if_not_exists),
        T(test_render__index_without_columns_or_names_is_refused),
        T(test_render__drop_index_on_sqlite_names_only_the_index),
        T(test_render__drop_index_on_mysql_like_names_the_table),
        T(test_render__drop_index_without_name_is_refused),
        T(test_render__add_column),
        T(test_render__drop_column),
        T(test_render__rename_column),
        T(test_render__rendered_sql_runs_up_and_down_on_sqlite),
        T(test_render__invalid_default_fails_migration_and_rolls_back),
    };
    return cmocka_run_group_tests_name("render", tests, NULL, NULL);
}
