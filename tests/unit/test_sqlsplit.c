/* test_sqlsplit.c: golden tests of pm_sql_split(), the lexer that cuts SQL
 * text into statements for the PostgreSQL and libdbi drivers: each input is
 * split, and the statements and their offsets compared with what they must
 * be. A ';' inside a string, a quoted identifier, a comment, a dollar quote
 * or a trigger body never splits; an unterminated one is PM_EINVAL naming
 * its line and column. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poblysh/sys/driver.h"
#include "testutil.h"

#define MAX_STATEMENTS 32

typedef struct collected {
    size_t count;
    char *text[MAX_STATEMENTS];
    size_t offset[MAX_STATEMENTS];
    int stop_after; /* > 0: return PM_EINTERRUPTED after that many statements */
} collected;

static int collect(void *ctx, const char *statement, size_t length, size_t offset)
{
    collected *c = ctx;
    if (c->count == MAX_STATEMENTS)
        fail_msg("more than %d statements", MAX_STATEMENTS);
    char *copy = malloc(length + 1);
    assert_non_null(copy);
    memcpy(copy, statement, length);
    copy[length] = '\0';
    c->text[c->count] = copy;
    c->offset[c->count] = offset;
    c->count++;
    if (c->stop_after > 0 && c->count == (size_t)c->stop_after)
        return PM_EINTERRUPTED;
    return 0;
}

static void collected_free(collected *c)
{
    for (size_t i = 0; i < c->count; i++)
        free(c->text[i]);
    memset(c, 0, sizeof(*c));
}

static void print_collected(const char *sql, const collected *c)
{
    print_error("input:\n---\n%s\n---\nsplit into %zu statement(s):\n", sql, c->count);
    for (size_t i = 0; i < c->count; i++)
        print_error("  [%zu] at %zu: <<%s>>\n", i, c->offset[i], c->text[i]);
}

/* Splits sql and compares with the NULL-terminated list of statements:
 * texts, and that each offset points at its statement in sql. */
static void expect_split_(const char *sql, const char *const *expected, const char *file, int line)
{
    collected c = {0};
    pm_error err = PM_ERROR_INIT;
    int rc = pm_sql_split(sql, collect, &c, &err);
    if (rc != 0) {
        print_error("pm_sql_split failed with %d: %s\n", rc, err.message ? err.message : "?");
        print_collected(sql, &c);
        pm_error_clear(&err);
        collected_free(&c);
        _fail(file, line);
    }
    assert_null(err.message);
    size_t n = 0;
    while (expected[n])
        n++;
    int ok = c.count == n;
    for (size_t i = 0; ok && i < n; i++) {
        ok = strcmp(c.text[i], expected[i]) == 0 && c.offset[i] < strlen(sql) &&
             strncmp(sql + c.offset[i], c.text[i], strlen(c.text[i])) == 0;
    }
    if (!ok) {
        print_error("expected %zu statement(s):\n", n);
        for (size_t i = 0; i < n; i++)
            print_error("  [%zu] <<%s>>\n", i, expected[i]);
        print_collected(sql, &c);
        collected_free(&c);
        _fail(file, line);
    }
    collected_free(&c);
}

#define EXPECT_SPLIT(sql, ...)                                                                     \
    expect_split_((sql), (const char *const[]){__VA_ARGS__, NULL}, __FILE__, __LINE__)
#define EXPECT_NO_STATEMENT(sql)                                                                   \
    expect_split_((sql), (const char *const[]){NULL}, __FILE__, __LINE__)

/* Splits sql, which must fail with PM_EINVAL and a message holding each of
 * the NULL-terminated needles. */
static void expect_invalid_(const char *sql, const char *const *needles, const char *file, int line)
{
    collected c = {0};
    pm_error err = PM_ERROR_INIT;
    int rc = pm_sql_split(sql, collect, &c, &err);
    int ok = rc == PM_EINVAL && err.code == PM_EINVAL && err.message;
    for (size_t i = 0; ok && needles[i]; i++)
        ok = strstr(err.message, needles[i]) != NULL;
    if (!ok) {
        print_error("expected PM_EINVAL with a message holding:\n");
        for (size_t i = 0; needles[i]; i++)
            print_error("  \"%s\"\n", needles[i]);
        print_error("got %d (%s): %s\n", rc, pm_strerror(rc), err.message ? err.message : "(none)");
        print_collected(sql, &c);
    }
    pm_error_clear(&err);
    collected_free(&c);
    if (!ok)
        _fail(file, line);
}

#define EXPECT_INVALID(sql, ...)                                                                   \
    expect_invalid_((sql), (const char *const[]){__VA_ARGS__, NULL}, __FILE__, __LINE__)

/* ==== Strings ==== */

static void test_sqlsplit__semicolon_in_a_string_does_not_split(void **state)
{
    (void)state;
    EXPECT_SPLIT("INSERT INTO t VALUES (';')", "INSERT INTO t VALUES (';')");
    EXPECT_SPLIT("INSERT INTO t VALUES (';');", "INSERT INTO t VALUES (';')");
    EXPECT_SPLIT("INSERT INTO t VALUES (';'); SELECT 2", "INSERT INTO t VALUES (';')", "SELECT 2");
}

static void test_sqlsplit__doubled_quotes_escape_a_quote(void **state)
{
    (void)state;
    EXPECT_SPLIT("INSERT INTO t VALUES ('it''s; fine'); SELECT 2",
                 "INSERT INTO t VALUES ('it''s; fine')", "SELECT 2");
    EXPECT_SPLIT("SELECT ''; SELECT ';'''; SELECT '''';", "SELECT ''", "SELECT ';'''",
                 "SELECT ''''");
}

static void test_sqlsplit__e_strings_take_backslash_escapes(void **state)
{
    (void)state;
    EXPECT_SPLIT("SELECT E'a\\';b'; SELECT 2", "SELECT E'a\\';b'", "SELECT 2");
    EXPECT_SPLIT("SELECT e'a\\';b'; SELECT 2", "SELECT e'a\\';b'", "SELECT 2");
    EXPECT_SPLIT("SELECT E'\\\\'; SELECT 2", "SELECT E'\\\\'", "SELECT 2");
    EXPECT_SPLIT("SELECT (E'x\\'y;'); SELECT 2", "SELECT (E'x\\'y;')", "SELECT 2");
    /* Outside E'' a backslash is an ordinary character. */
    EXPECT_SPLIT("SELECT 'a\\'; SELECT 2", "SELECT 'a\\'", "SELECT 2");
    /* A word that ends in e before a string is not the E prefix. */
    EXPECT_SPLIT("SELECT name'a\\'; SELECT 2", "SELECT name'a\\'", "SELECT 2");
}

/* ==== Quoted identifiers ==== */

static void test_sqlsplit__quoted_identifiers_hold_semicolons(void **state)
{
    (void)state;
    EXPECT_SPLIT("SELECT \"a;b\" FROM t; SELECT `a;b` FROM u", "SELECT \"a;b\" FROM t",
                 "SELECT `a;b` FROM u");
    EXPECT_SPLIT("CREATE TABLE \"x\"\";y\" (id INTEGER); SELECT 2",
                 "CREATE TABLE \"x\"\";y\" (id INTEGER)", "SELECT 2");
    EXPECT_SPLIT("SELECT `x``;y`; SELECT 2", "SELECT `x``;y`", "SELECT 2");
    /* A quote of one kind inside the other is an ordinary character. */
    EXPECT_SPLIT("SELECT \"it's;\", 'say \"hi;\"'; SELECT 2", "SELECT \"it's;\", 'say \"hi;\"'",
                 "SELECT 2");
}

/* ==== Comments ==== */

static void test_sqlsplit__line_comments_hide_quotes_and_semicolons(void **state)
{
    (void)state;
    EXPECT_SPLIT("SELECT 1 -- it's; here\n; SELECT 2", "SELECT 1 -- it's; here", "SELECT 2");
    EXPECT_SPLIT("-- don't; split \"here\n SELECT 1; SELECT 2", "-- don't; split \"here\n SELECT 1",
                 "SELECT 2");
    EXPECT_SPLIT("SELECT 1; -- the end; it's over", "SELECT 1");
    /* A single '-' is an operator. */
    EXPECT_SPLIT("SELECT 3 - 1; SELECT -2", "SELECT 3 - 1", "SELECT -2");
}

static void test_sqlsplit__block_comments_nest(void **state)
{
    (void)state;
    EXPECT_SPLIT("SELECT 1 /* /* ; */ ; */ ; SELECT 2", "SELECT 1 /* /* ; */ ; */", "SELECT 2");
    EXPECT_SPLIT("SELECT /* it's; \"a\" $$ */ 1; SELECT 2", "SELECT /* it's; \"a\" $$ */ 1",
                 "SELECT 2");
    EXPECT_SPLIT("SELECT 1 /**/; SELECT 2 /***/", "SELECT 1 /**/", "SELECT 2 /***/");
    EXPECT_SPLIT("SELECT 6 / 2 * 3; SELECT 2", "SELECT 6 / 2 * 3", "SELECT 2");
}

/* ==== Dollar quotes ==== */

#define PLPGSQL_FUNCTION                                                                           \
    "CREATE OR REPLACE FUNCTION audit_note(n TEXT) RETURNS INTEGER AS $BODY$\n"                    \
    "DECLARE\n"                                                                                    \
    "  k INTEGER; -- a comment; it's here\n"                                                       \
    "BEGIN\n"                                                                                      \
    "  INSERT INTO audit (note) VALUES (n || ';');\n"                                              \
    "  SELECT count(*) INTO k FROM audit WHERE note <> $$x;$$;\n"                                  \
    "  RETURN k;\n"                                                                                \
    "END;\n"                                                                                       \
    "$BODY$ LANGUAGE plpgsql"

static void test_sqlsplit__plpgsql_function_in_a_tagged_dollar_quote(void **state)
{
    (void)state;
    EXPECT_SPLIT("CREATE TABLE audit (note TEXT);\n" PLPGSQL_FUNCTION
                 ";\nSELECT audit_note('a;b');\n",
                 "CREATE TABLE audit (note TEXT)", PLPGSQL_FUNCTION, "SELECT audit_note('a;b')");
    /* A tag that only starts like the opening one does not close it. */
    EXPECT_SPLIT("SELECT $a$ $ab$ ; $ab$ ; $a$; SELECT 2", "SELECT $a$ $ab$ ; $ab$ ; $a$",
                 "SELECT 2");
    EXPECT_SPLIT("SELECT $_x1$;$_x1$; SELECT 2", "SELECT $_x1$;$_x1$", "SELECT 2");
}

static void test_sqlsplit__plain_dollar_quotes(void **state)
{
    (void)state;
    const char *block = "DO $$\nBEGIN\n  RAISE NOTICE 'a;b';\n  PERFORM 1;\nEND\n$$";
    char *sql = malloc(strlen(block) + 32);
    assert_non_null(sql);
    sprintf(sql, "%s;\nSELECT 2;", block);
    EXPECT_SPLIT(sql, block, "SELECT 2");
    free(sql);
    EXPECT_SPLIT("SELECT $$it's; \"x$$; SELECT 2", "SELECT $$it's; \"x$$", "SELECT 2");
    /* $$ inside a string or an identifier does not open a quote. */
    EXPECT_SPLIT("SELECT '$$'; SELECT \"$$\"; SELECT 3", "SELECT '$$'", "SELECT \"$$\"",
                 "SELECT 3");
}

static void test_sqlsplit__positional_parameters_are_not_dollar_quotes(void **state)
{
    (void)state;
    EXPECT_SPLIT("UPDATE t SET a = $1 WHERE b = $2; SELECT $1", "UPDATE t SET a = $1 WHERE b = $2",
                 "SELECT $1");
    EXPECT_SPLIT("SELECT $1$; SELECT 2", "SELECT $1$", "SELECT 2");
    EXPECT_SPLIT("SELECT $12::text || ';'; SELECT 2", "SELECT $12::text || ';'", "SELECT 2");
    /* '$' inside an identifier (PostgreSQL allows it after the first
     * character) opens nothing. */
    EXPECT_SPLIT("SELECT a$b, c$d$ FROM t; SELECT 2", "SELECT a$b, c$d$ FROM t", "SELECT 2");
    /* A lone '$' is an ordinary character. */
    EXPECT_SPLIT("SELECT $; SELECT 2", "SELECT $", "SELECT 2");
    EXPECT_SPLIT("$", "$");
}

/* ==== Trigger bodies ==== */

#define SQLITE_TRIGGER                                                                             \
    "CREATE TRIGGER posts_audit AFTER INSERT ON posts\n"                                           \
    "BEGIN\n"                                                                                      \
    "  INSERT INTO audit (what) VALUES ('insert; post');\n"                                        \
    "  UPDATE counters SET n = CASE WHEN n IS NULL THEN 1 ELSE n + 1 END WHERE name = 'posts';\n"  \
    "  DELETE FROM pending WHERE id = new.id;\n"                                                   \
    "END"

static void test_sqlsplit__sqlite_trigger_body_is_one_statement(void **state)
{
    (void)state;
    EXPECT_SPLIT("CREATE TABLE posts (id INTEGER);\n" SQLITE_TRIGGER ";\nSELECT 1;",
                 "CREATE TABLE posts (id INTEGER)", SQLITE_TRIGGER, "SELECT 1");
    /* Lower case, TEMP, a WHEN clause with its own CASE ... END before BEGIN,
     * and a nested CASE inside. */
    const char *temp =
        "create temp trigger t1 after update on x when case when new.a then 1 else 0 "
        "end begin select case when 1 then case when 2 then 'a;' end end; "
        "update y set b = 1; end";
    char sql[512];
    snprintf(sql, sizeof(sql), "%s; select 2", temp);
    EXPECT_SPLIT(sql, temp, "select 2");
}

static void test_sqlsplit__begin_outside_a_trigger_splits(void **state)
{
    (void)state;
    EXPECT_SPLIT("BEGIN; SELECT 1; END; COMMIT", "BEGIN", "SELECT 1", "END", "COMMIT");
    EXPECT_SPLIT("CREATE TABLE events (\"begin\" INTEGER, \"end\" INTEGER); SELECT 1",
                 "CREATE TABLE events (\"begin\" INTEGER, \"end\" INTEGER)", "SELECT 1");
    EXPECT_SPLIT("SELECT CASE WHEN 1 THEN 2 END; SELECT 3", "SELECT CASE WHEN 1 THEN 2 END",
                 "SELECT 3");
    /* After a trigger, the next statement starts afresh. */
    EXPECT_SPLIT("CREATE TRIGGER a AFTER INSERT ON x BEGIN SELECT 1; END; BEGIN; SELECT 2",
                 "CREATE TRIGGER a AFTER INSERT ON x BEGIN SELECT 1; END", "BEGIN", "SELECT 2");
}

#define MYSQL_TRIGGER                                                                              \
    "CREATE DEFINER=`root`@`localhost` TRIGGER items_bi BEFORE INSERT ON items FOR EACH ROW\n"     \
    "BEGIN\n"                                                                                      \
    "  SET NEW.name = TRIM(NEW.name);\n"                                                           \
    "  SET NEW.price = COALESCE(NEW.price, 0);\n"                                                  \
    "END"

static void test_sqlsplit__mysql_trigger_body_is_one_statement(void **state)
{
    (void)state;
    EXPECT_SPLIT(MYSQL_TRIGGER ";\nINSERT INTO items (name) VALUES ('x;y');", MYSQL_TRIGGER,
                 "INSERT INTO items (name) VALUES ('x;y')");
    /* A CASE expression inside the body. */
    const char *with_case = "CREATE TRIGGER items_bu BEFORE UPDATE ON items FOR EACH ROW BEGIN "
                            "SET NEW.x = CASE WHEN NEW.price < 0 THEN 'neg;' ELSE 'pos' END; "
                            "SET NEW.y = 2; END";
    char sql[512];
    snprintf(sql, sizeof(sql), "%s; SELECT 1", with_case);
    EXPECT_SPLIT(sql, with_case, "SELECT 1");
}

/* IF ... END IF (and CASE ... END CASE, WHILE ... END WHILE, LOOP ... END
 * LOOP, REPEAT ... END REPEAT) are the usual content of a MySQL trigger
 * body: the END of one must neither close the BEGIN nor open a block. */
#define MYSQL_TRIGGER_WITH_IF                                                                      \
    "CREATE TRIGGER items_bu BEFORE UPDATE ON items FOR EACH ROW\n"                                \
    "BEGIN\n"                                                                                      \
    "  IF NEW.price < 0 THEN\n"                                                                    \
    "    SET NEW.price = 0;\n"                                                                     \
    "  END IF;\n"                                                                                  \
    "  CASE WHEN NEW.kind IS NULL THEN SET NEW.kind = 'x;'; ELSE SET NEW.seen = 1; END CASE;\n"    \
    "  WHILE NEW.n > 10 DO\n"                                                                      \
    "    SET NEW.n = NEW.n - 10;\n"                                                                \
    "  END WHILE;\n"                                                                               \
    "  SET NEW.updated = 1;\n"                                                                     \
    "END"

static void test_sqlsplit__mysql_trigger_with_if_and_while_is_one_statement(void **state)
{
    (void)state;
    EXPECT_SPLIT(MYSQL_TRIGGER_WITH_IF ";\nSELECT 1;", MYSQL_TRIGGER_WITH_IF, "SELECT 1");
}

/* ==== Blank statements, offsets, the callback ==== */

static void test_sqlsplit__empty_and_comment_only_statements_are_skipped(void **state)
{
    (void)state;
    EXPECT_SPLIT(";;; SELECT 1;; ;\n; SELECT 2;", "SELECT 1", "SELECT 2");
    EXPECT_SPLIT("SELECT 1; /* c; */ ; -- d\n; SELECT 2", "SELECT 1", "SELECT 2");
    EXPECT_SPLIT("SELECT 1;\n-- the end\n/* really; */\n  \n", "SELECT 1");
    EXPECT_SPLIT("SELECT 1\n\n-- trailing note\n", "SELECT 1\n\n-- trailing note");
    EXPECT_NO_STATEMENT("");
    EXPECT_NO_STATEMENT(" \n\t\r\n ");
    EXPECT_NO_STATEMENT(";");
    EXPECT_NO_STATEMENT("-- nothing here; at all\n/* nor; here */\n;\n");
    EXPECT_NO_STATEMENT("--");
}

static void test_sqlsplit__offsets_point_at_each_statement(void **state)
{
    (void)state;
    const char *sql = "  SELECT 1;\n\n  INSERT INTO t VALUES (';');\tSELECT 3  ";
    collected c = {0};
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_sql_split(sql, collect, &c, &err), &err);
    assert_int_equal(c.count, 3);
    assert_string_equal(c.text[0], "SELECT 1");
    assert_int_equal(c.offset[0], 2);
    assert_string_equal(c.text[1], "INSERT INTO t VALUES (';')");
    assert_int_equal(c.offset[1], 15);
    assert_string_equal(c.text[2], "SELECT 3");
    assert_int_equal(c.offset[2], 43);
    collected_free(&c);

    /* Blanks are trimmed, a comment before a statement is part of it. */
    sql = "SELECT 1;\r\n-- note\r\nSELECT 2;";
    pm_test_ok(pm_sql_split(sql, collect, &c, &err), &err);
    assert_int_equal(c.count, 2);
    assert_string_equal(c.text[1], "-- note\r\nSELECT 2");
    assert_int_equal(c.offset[1], 11);
    collected_free(&c);
    pm_error_clear(&err);
}

static void test_sqlsplit__callback_error_stops_the_split(void **state)
{
    (void)state;
    collected c = {0};
    c.stop_after = 2;
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_sql_split("SELECT 1; SELECT 2; SELECT 3", collect, &c, &err),
                     PM_EINTERRUPTED);
    assert_int_equal(c.count, 2);
    collected_free(&c);
    pm_error_clear(&err);
}

/* ==== Unterminated input ==== */

static void test_sqlsplit__unterminated_string_names_line_and_column(void **state)
{
    (void)state;
    EXPECT_INVALID("SELECT 1;\nSELECT 2;\n  INSERT INTO t VALUES ('abc);\nSELECT 3;\n",
                   "unterminated string", "line 3, column 25");
    EXPECT_INVALID("SELECT 1;\n\nSELECT E'it\\'s;\n", "unterminated string", "line 3, column 9");
    EXPECT_INVALID("SELECT 'a''\n", "unterminated string", "line 1, column 8");
    EXPECT_INVALID("'", "unterminated string", "line 1, column 1");
    EXPECT_INVALID("E'\\", "unterminated string", "line 1, column 2");
    EXPECT_INVALID("'\\", "unterminated string", "line 1, column 1");
}

static void test_sqlsplit__unterminated_quoted_identifier_names_line_and_column(void **state)
{
    (void)state;
    EXPECT_INVALID("SELECT 1;\nSELECT \"abc FROM t;\nSELECT 2;", "unterminated quoted identifier",
                   "line 2, column 8");
    EXPECT_INVALID("SELECT 1;\nSELECT 2;\n\n\tSELECT `abc;\n", "unterminated quoted identifier",
                   "line 4, column 9");
    EXPECT_INVALID("\"", "unterminated quoted identifier", "line 1, column 1");
    EXPECT_INVALID("`", "unterminated quoted identifier", "line 1, column 1");
}

static void test_sqlsplit__unterminated_block_comment_names_line_and_column(void **state)
{
    (void)state;
    /* The inner comment closes; the outer one, where the error is, does not. */
    EXPECT_INVALID("SELECT 1;\nSELECT 2 /* outer /* inner */ still open\n;\n",
                   "unterminated comment", "line 2, column 10");
    EXPECT_INVALID("/*", "unterminated comment", "line 1, column 1");
    EXPECT_INVALID("/*/", "unterminated comment", "line 1, column 1");
    EXPECT_INVALID("SELECT 1; /* a */ /* b", "unterminated comment", "line 1, column 19");
}

static void test_sqlsplit__unterminated_dollar_quote_names_line_and_column(void **state)
{
    (void)state;
    EXPECT_INVALID("SELECT 1;\n\nCREATE FUNCTION f() RETURNS int AS $fn$\nBEGIN RETURN 1; END;\n"
                   "$fx$ LANGUAGE plpgsql;\n",
                   "unterminated dollar-quoted string", "line 3, column 36");
    EXPECT_INVALID("SELECT 1;\nSELECT $$abc;\n", "unterminated dollar-quoted string",
                   "line 2, column 8");
    EXPECT_INVALID("$a$", "unterminated dollar-quoted string", "line 1, column 1");
    EXPECT_INVALID("$$", "unterminated dollar-quoted string", "line 1, column 1");
    EXPECT_INVALID("$a$ $a", "unterminated dollar-quoted string", "line 1, column 1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlsplit__semicolon_in_a_string_does_not_split),
        cmocka_unit_test(test_sqlsplit__doubled_quotes_escape_a_quote),
        cmocka_unit_test(test_sqlsplit__e_strings_take_backslash_escapes),
        cmocka_unit_test(test_sqlsplit__quoted_identifiers_hold_semicolons),
        cmocka_unit_test(test_sqlsplit__line_comments_hide_quotes_and_semicolons),
        cmocka_unit_test(test_sqlsplit__block_comments_nest),
        cmocka_unit_test(test_sqlsplit__plpgsql_function_in_a_tagged_dollar_quote),
        cmocka_unit_test(test_sqlsplit__plain_dollar_quotes),
        cmocka_unit_test(test_sqlsplit__positional_parameters_are_not_dollar_quotes),
        cmocka_unit_test(test_sqlsplit__sqlite_trigger_body_is_one_statement),
        cmocka_unit_test(test_sqlsplit__begin_outside_a_trigger_splits),
        cmocka_unit_test(test_sqlsplit__mysql_trigger_body_is_one_statement),
        cmocka_unit_test(test_sqlsplit__mysql_trigger_with_if_and_while_is_one_statement),
        cmocka_unit_test(test_sqlsplit__empty_and_comment_only_statements_are_skipped),
        cmocka_unit_test(test_sqlsplit__offsets_point_at_each_statement),
        cmocka_unit_test(test_sqlsplit__callback_error_stops_the_split),
        cmocka_unit_test(test_sqlsplit__unterminated_string_names_line_and_column),
        cmocka_unit_test(test_sqlsplit__unterminated_quoted_identifier_names_line_and_column),
        cmocka_unit_test(test_sqlsplit__unterminated_block_comment_names_line_and_column),
        cmocka_unit_test(test_sqlsplit__unterminated_dollar_quote_names_line_and_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
