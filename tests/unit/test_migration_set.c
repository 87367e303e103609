/* test_migration_set.c: pins down the validation every migration set passes
 * before anything runs: the name format (pm_migration_name_check), the set's
 * order, uniqueness and completeness (pm_migration_set_check), and that the
 * engine refuses a bad set without touching the database. */
#include <stdlib.h>
#include <string.h>

#include "poblysh/migrations.h"
#include "testutil.h"

/* ==== Helpers ==== */

static void assert_mentions(const pm_error *err, const char *needle)
{
    assert_non_null(err->message);
    if (!strstr(err->message, needle))
        fail_msg("message \"%s\" does not mention \"%s\"", err->message, needle);
}

static void assert_name_ok(const char *name)
{
    pm_error err = PM_ERROR_INIT;
    int rc = pm_migration_name_check(name, &err);
    if (rc != 0)
        fail_msg("\"%s\" refused: %s", name, err.message ? err.message : "?");
    assert_int_equal(err.code, PM_OK);
    assert_null(err.migration);
    pm_error_clear(&err);
}

static void assert_name_refused(const char *name)
{
    pm_error err = PM_ERROR_INIT;
    int rc = pm_migration_name_check(name, &err);
    if (rc != PM_ESET)
        fail_msg("\"%s\": expected PM_ESET, got %d", name, rc);
    assert_int_equal(err.code, PM_ESET);
    assert_non_null(err.migration);
    assert_string_equal(err.migration, name);
    assert_mentions(&err, name);
    pm_error_clear(&err);
}

/* Checks that set is refused with PM_ESET, naming migration (NULL: none) and
 * mentioning needle. */
static void assert_set_refused(const pm_migration *const *set, size_t count, const char *migration,
                               const char *needle)
{
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_migration_set_check(set, count, &err), PM_ESET);
    assert_int_equal(err.code, PM_ESET);
    if (migration) {
        assert_non_null(err.migration);
        assert_string_equal(err.migration, migration);
    } else {
        assert_null(err.migration);
    }
    assert_mentions(&err, needle);
    pm_error_clear(&err);
}

static int noop(pm_schema *s, const void *data)
{
    (void)s;
    (void)data;
    return 0;
}

/* ==== Names ==== */

static void test_migration_set__valid_names_are_accepted(void **state)
{
    (void)state;
    assert_name_ok("m2024_01_01_000001_create_tenants");
    assert_name_ok("m1970_01_01_000000_a");
    assert_name_ok("m2099_12_31_235959_add_2fa_to_users");
    assert_name_ok("m2024_02_29_120000_leap_day");
    assert_name_ok("m2024_06_15_083000_9");
    assert_name_ok("m2024_06_15_083000__leading_underscore");
}

static void test_migration_set__name_without_leading_m_is_refused(void **state)
{
    (void)state;
    assert_name_refused("M2024_01_01_000001_create_tenants");
    assert_name_refused("x2024_01_01_000001_create_tenants");
}

static void test_migration_set__seaorm_generator_names_are_accepted(void **state)
{
    (void)state;
    assert_name_ok("m20220101_000001_create_table");
    assert_name_ok("m20240229_235959_leap_day");
    assert_name_refused("m20230229_000001_not_a_leap_year");
    assert_name_refused("m20240101_000001_Create");
    assert_name_refused("m20240101_000001");
}

static void test_migration_set__other_tools_names_are_accepted(void **state)
{
    (void)state;
    assert_name_ok("0120_2.9.0_schema");                    /* golang-migrate, dotted */
    assert_name_ok("000057_upgrade_command_webhooks_v6.0"); /* golang-migrate */
    assert_name_ok("00000000000000-initial-schema");        /* dbmate, hyphens */
    assert_name_ok("20240101120000");                       /* dbmate, no description */
    assert_name_ok("2024_01_01_000001_create_tenants");     /* golang-migrate: version 2024 */
    assert_name_ok("2017-01-01-000000_create_users");       /* diesel */
    assert_name_ok("V1__init");                             /* Flyway */
    assert_name_ok("V1.1.2__more tables");                  /* Flyway, dotted, a space */
    assert_name_ok("V2_1__underscored_version");            /* Flyway: V2_1 is 2.1 */
}

static void test_migration_set__name_breaking_a_rule_says_which(void **state)
{
    (void)state;
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_migration_name_check("123456789012345678901_x", &err), PM_ESET);
    assert_mentions(&err, "more than 20 digits");
    pm_error_clear(&err);
    assert_int_equal(pm_migration_name_check("V1.1_more", &err), PM_ESET);
    assert_mentions(&err, "V<version>__<description>");
    pm_error_clear(&err);
    assert_int_equal(pm_migration_name_check("create_users", &err), PM_ESET);
    assert_mentions(&err, "must start with a version");
    pm_error_clear(&err);
    assert_int_equal(pm_migration_name_check("1_a\tb", &err), PM_ESET);
    assert_mentions(&err, "control character");
    pm_error_clear(&err);
    assert_int_equal(pm_migration_name_check("m2024_13_01_000001_x", &err), PM_ESET);
    assert_mentions(&err, "valid date and time");
    pm_error_clear(&err);
}

static void test_migration_set__names_order_by_version_never_by_text(void **state)
{
    (void)state;
    /* As text, m2024_... sorts after m20240...; as timestamps it is earlier. */
    assert_true(pm_migration_name_cmp("m2024_01_01_000001_a", "m20240101_000002_b") < 0);
    assert_true(pm_migration_name_cmp("m20240101_000002_b", "m2024_01_01_000003_c") < 0);
    assert_true(pm_migration_name_cmp("9_a", "10_a") < 0);
    assert_true(pm_migration_name_cmp("0120_2.9.0_schema", "121_x") < 0);
    assert_true(pm_migration_name_cmp("V1.9__a", "V1.10__b") < 0);
    assert_true(pm_migration_name_cmp("V1__a", "V1.1__b") < 0);
    assert_true(pm_migration_name_cmp("V2__a", "V10__b") < 0);
    assert_true(pm_migration_name_cmp("2017-01-01-000000_a", "2017-01-02-000000_b") < 0);
    assert_true(pm_migration_name_cmp("m2024_01_01_000001_a", "m2024_01_01_000001_a") == 0);
    assert_true(pm_migration_name_cmp("1_a", "001_a") != 0); /* equal only when equal */
}

static void test_migration_set__one_version_in_two_styles_is_refused(void **state)
{
    (void)state;
    pm_migration a = {"m2024_01_01_000001_a", noop, noop, 0, NULL, NULL};
    pm_migration b = {"m20240101_000001_b", noop, noop, 0, NULL, NULL};
    const pm_migration *set[] = {&a, &b};
    assert_set_refused(set, 2, "m20240101_000001_b", "same version");
    pm_migration c = {"V1.0__a", noop, noop, 0, NULL, NULL};
    pm_migration d = {"V1__b", noop, noop, 0, NULL, NULL};
    const pm_migration *flyway[] = {&c, &d};
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_migration_set_check(flyway, 2, &err), PM_ESET);
    assert_mentions(&err, "same version");
    pm_error_clear(&err);
}

static void test_migration_set__mixed_timestamp_styles_in_order_are_valid(void **state)
{
    (void)state;
    pm_migration a = {"m2024_01_01_000001_a", noop, noop, 0, NULL, NULL};
    pm_migration b = {"m20240101_000002_b", noop, noop, 0, NULL, NULL};
    pm_migration c = {"m2024_01_01_000003_c", noop, noop, 0, NULL, NULL};
    const pm_migration *set[] = {&a, &b, &c};
    pm_test_ok(pm_migration_set_check(set, 3, NULL), NULL);
}

static void test_migration_set__name_with_bad_month_is_refused(void **state)
{
    (void)state;
    assert_name_refused("m2024_13_01_000001_create_tenants");
    assert_name_refused("m2024_00_01_000001_create_tenants");
}

static void test_migration_set__name_with_bad_day_is_refused(void **state)
{
    (void)state;
    assert_name_refused("m2024_01_00_000001_create_tenants");
    assert_name_refused("m2023_02_29_000001_create_tenants"); /* 2023 is not a leap year */
    assert_name_refused("m2024_04_31_000001_create_tenants");
    assert_int_equal(pm_migration_name_check("m2024_02_29_000001_leap_day", NULL), 0);
    assert_name_refused("m2024_01_32_000001_create_tenants");
}

static void test_migration_set__name_with_bad_time_is_refused(void **state)
{
    (void)state;
    assert_name_refused("m2024_01_01_240000_create_tenants");
    assert_name_refused("m2024_01_01_236000_create_tenants");
    assert_name_refused("m2024_01_01_235960_create_tenants");
}

static void test_migration_set__name_with_implausible_year_is_refused(void **state)
{
    (void)state;
    assert_name_refused("m1969_12_31_235959_create_tenants");
    assert_name_refused("m0000_01_01_000000_create_tenants");
}

static void test_migration_set__name_with_uppercase_description_is_refused(void **state)
{
    (void)state;
    assert_name_refused("m2024_01_01_000001_Create_tenants");
    assert_name_refused("m2024_01_01_000001_CREATE");
}

static void test_migration_set__name_with_empty_description_is_refused(void **state)
{
    (void)state;
    assert_name_refused("m2024_01_01_000001_");
    assert_name_refused("m2024_01_01_000001");
}

static void test_migration_set__name_with_dash_or_other_char_in_description_is_refused(void **state)
{
    (void)state;
    assert_name_refused("m2024_01_01_000001_create-tenants");
    assert_name_refused("m2024_01_01_000001_create tenants");
    assert_name_refused("m2024_01_01_000001_create.tenants");
    assert_name_refused("m2024_01_01_000001_cr\303\251er"); /* UTF-8 e acute */
}

static void test_migration_set__name_too_short_is_refused(void **state)
{
    (void)state;
    assert_name_refused("m");
    assert_name_refused("m2024_01_01_0001_x");
    assert_name_refused("m2024_01_01_00001_x");
    assert_name_refused("m24_01_01_000001_create_tenants");
}

static void test_migration_set__name_with_non_digit_in_version_is_refused(void **state)
{
    (void)state;
    assert_name_refused("m2024_0a_01_000001_create_tenants");
    assert_name_refused("m2024_01_01_00000x_create_tenants");
    assert_name_refused("mabcd_01_01_000001_create_tenants");
    assert_name_refused("m2024_+1_01_000001_create_tenants");
}

static void test_migration_set__name_with_misplaced_separators_is_refused(void **state)
{
    (void)state;
    assert_name_refused("m2024-01-01_000001_create_tenants");
    assert_name_refused("m2024_01_01-000001_create_tenants");
    assert_name_refused("m2024_01_01_000001-create_tenants");
    assert_name_refused("m2024010_1000001_create_tenants");
}

static void test_migration_set__missing_name_is_refused(void **state)
{
    (void)state;
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_migration_name_check(NULL, &err), PM_ESET);
    assert_int_equal(err.code, PM_ESET);
    assert_non_null(err.message);
    pm_error_clear(&err);
    assert_int_equal(pm_migration_name_check("", &err), PM_ESET);
    assert_int_equal(err.code, PM_ESET);
    pm_error_clear(&err);
}

static void test_migration_set__name_check_accepts_null_error(void **state)
{
    (void)state;
    assert_int_equal(pm_migration_name_check("m2024_01_01_000001_ok", NULL), 0);
    assert_int_equal(pm_migration_name_check("m2024_13_01_000001_bad", NULL), PM_ESET);
    assert_int_equal(pm_migration_name_check(NULL, NULL), PM_ESET);
}

/* ==== Sets ==== */

static const pm_migration first = PM_TEST_MIGRATION("m2024_01_01_000001_first", "first");
static const pm_migration second = PM_TEST_MIGRATION("m2024_01_01_000002_second", "second");
static const pm_migration third = PM_TEST_MIGRATION("m2024_02_01_000000_third", "third");

static void test_migration_set__ordered_set_is_valid(void **state)
{
    (void)state;
    const pm_migration *set[] = {&first, &second, &third};
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_migration_set_check(set, PM_ARRAY_LEN(set), &err), &err);
    assert_int_equal(err.code, PM_OK);
    pm_error_clear(&err);
}

static void test_migration_set__empty_set_is_valid(void **state)
{
    (void)state;
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_migration_set_check(NULL, 0, &err), 0);
    assert_int_equal(err.code, PM_OK);
    const pm_migration *set[] = {&first};
    assert_int_equal(pm_migration_set_check(set, 0, &err), 0);
    assert_int_equal(err.code, PM_OK);
    pm_error_clear(&err);
}

static void test_migration_set__builtin_set_is_valid(void **state)
{
    (void)state;
    size_t count = 0;
    const pm_migration *const *set = pm_builtin_migrations(&count);
    assert_true(count >= 1);
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_migration_set_check(set, count, &err), &err);
    pm_error_clear(&err);
}

static void test_migration_set__out_of_order_set_names_later_listed_migration(void **state)
{
    (void)state;
    const pm_migration *set[] = {&first, &third, &second};
    /* "second" is listed after "third" although it is older: it is the
     * migration at fault, and the message names both. */
    assert_set_refused(set, PM_ARRAY_LEN(set), second.name, second.name);
    assert_set_refused(set, PM_ARRAY_LEN(set), second.name, third.name);
}

static void test_migration_set__duplicate_is_refused_naming_it(void **state)
{
    (void)state;
    const pm_migration twin = PM_TEST_MIGRATION("m2024_01_01_000002_second", "second_again");
    const pm_migration *same_name[] = {&first, &second, &twin};
    assert_set_refused(same_name, PM_ARRAY_LEN(same_name), second.name, "twice");
    const pm_migration *same_pointer[] = {&first, &first};
    assert_set_refused(same_pointer, PM_ARRAY_LEN(same_pointer), first.name, first.name);
}

static void test_migration_set__migration_without_down_is_refused(void **state)
{
    (void)state;
    const pm_migration no_down = {.name = "m2024_03_01_000000_no_down", .up = noop};
    const pm_migration *set[] = {&first, &no_down};
    assert_set_refused(set, PM_ARRAY_LEN(set), no_down.name, "down");
}

static void test_migration_set__migration_without_up_is_refused(void **state)
{
    (void)state;
    const pm_migration no_up = {.name = "m2024_03_01_000000_no_up", .down = noop};
    const pm_migration *set[] = {&no_up, &third};
    assert_set_refused(set, PM_ARRAY_LEN(set), no_up.name, "up");
}

static void test_migration_set__null_entry_is_refused(void **state)
{
    (void)state;
    const pm_migration *set[] = {&first, NULL, &third};
    assert_set_refused(set, PM_ARRAY_LEN(set), NULL, "NULL");
}

static void test_migration_set__invalid_name_in_set_is_refused_naming_it(void **state)
{
    (void)state;
    const pm_migration bad = PM_TEST_MIGRATION("m2024_01_01_000003_Bad", "bad");
    const pm_migration *set[] = {&first, &second, &bad};
    assert_set_refused(set, PM_ARRAY_LEN(set), bad.name, bad.name);
}

static void test_migration_set__null_set_with_count_is_refused(void **state)
{
    (void)state;
    pm_error err = PM_ERROR_INIT;
    int rc = pm_migration_set_check(NULL, 2, &err);
    assert_true(rc < 0);
    assert_int_equal(err.code, rc);
    pm_error_clear(&err);
}

/* ==== The engine refuses a bad set before touching the database ==== */

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

static void assert_engine_refuses(pm_db *db, const pm_migration *const *set, size_t count,
                                  const char *migration)
{
    int sentinel = 0;
    pm_engine *engine = (pm_engine *)&sentinel; /* must be reset to NULL */
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_engine_new(&engine, db, set, count, NULL, &err), PM_ESET);
    assert_null(engine);
    assert_int_equal(err.code, PM_ESET);
    if (migration) {
        assert_non_null(err.migration);
        assert_string_equal(err.migration, migration);
    }
    pm_error_clear(&err);
    assert_false(pm_test_has_table(db, "seaql_migrations"));
    assert_int_equal(pm_test_int(db, "SELECT count(*) FROM sqlite_master"), 0);
}

static void test_migration_set__engine_refuses_invalid_set_without_touching_db(void **state)
{
    pm_db *db = *state;
    const pm_migration no_down = {.name = "m2024_03_01_000000_no_down", .up = noop};
    const pm_migration bad_name = PM_TEST_MIGRATION("m2024_01_01_240000_bad_hour", "bad_hour");

    const pm_migration *out_of_order[] = {&second, &first};
    assert_engine_refuses(db, out_of_order, PM_ARRAY_LEN(out_of_order), first.name);
    const pm_migration *duplicate[] = {&first, &first};
    assert_engine_refuses(db, duplicate, PM_ARRAY_LEN(duplicate), first.name);
    const pm_migration *missing_down[] = {&first, &no_down};
    assert_engine_refuses(db, missing_down, PM_ARRAY_LEN(missing_down), no_down.name);
    const pm_migration *invalid_name[] = {&bad_name};
    assert_engine_refuses(db, invalid_name, PM_ARRAY_LEN(invalid_name), bad_name.name);
    const pm_migration *null_entry[] = {&first, NULL};
    assert_engine_refuses(db, null_entry, PM_ARRAY_LEN(null_entry), NULL);
}

static void test_migration_set__engine_accepts_valid_set(void **state)
{
    pm_db *db = *state;
    const pm_migration *set[] = {&first, &second};
    pm_engine *engine = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_engine_new(&engine, db, set, PM_ARRAY_LEN(set), NULL, &err), &err);
    assert_non_null(engine);
    pm_engine_free(engine);
    pm_error_clear(&err);
}

#define T(name) cmocka_unit_test(name)
#define T_DB(name) cmocka_unit_test_setup_teardown(name, setup_db, teardown_db)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_migration_set__valid_names_are_accepted),
        T(test_migration_set__name_without_leading_m_is_refused),
        T(test_migration_set__name_with_bad_month_is_refused),
        T(test_migration_set__name_with_bad_day_is_refused),
        T(test_migration_set__name_with_bad_time_is_refused),
        T(test_migration_set__name_with_implausible_year_is_refused),
        T(test_migration_set__name_with_uppercase_description_is_refused),
        T(test_migration_set__name_with_empty_description_is_refused),
        T(test_migration_set__name_with_dash_or_other_char_in_description_is_refused),
        T(test_migration_set__name_too_short_is_refused),
        T(test_migration_set__name_with_non_digit_in_version_is_refused),
        T(test_migration_set__name_with_misplaced_separators_is_refused),
        T(test_migration_set__missing_name_is_refused),
        T(test_migration_set__name_check_accepts_null_error),
        T(test_migration_set__seaorm_generator_names_are_accepted),
        T(test_migration_set__other_tools_names_are_accepted),
        T(test_migration_set__name_breaking_a_rule_says_which),
        T(test_migration_set__names_order_by_version_never_by_text),
        T(test_migration_set__one_version_in_two_styles_is_refused),
        T(test_migration_set__mixed_timestamp_styles_in_order_are_valid),
        T(test_migration_set__ordered_set_is_valid),
        T(test_migration_set__empty_set_is_valid),
        T(test_migration_set__builtin_set_is_valid),
        T(test_migration_set__out_of_order_set_names_later_listed_migration),
        T(test_migration_set__duplicate_is_refused_naming_it),
        T(test_migration_set__migration_without_down_is_refused),
        T(test_migration_set__migration_without_up_is_refused),
        T(test_migration_set__null_entry_is_refused),
        T(test_migration_set__invalid_name_in_set_is_refused_naming_it),
        T(test_migration_set__null_set_with_count_is_refused),
        T_DB(test_migration_set__engine_refuses_invalid_set_without_touching_db),
        T_DB(test_migration_set__engine_accepts_valid_set),
    };
    return cmocka_run_group_tests_name("migration_set", tests, NULL, NULL);
}
