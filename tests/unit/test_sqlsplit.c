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
static void expect_split_(const char *sql, unsigned int flags, const char *const *expected,
                          const char *file, int line)
{
    collected c = {0};
    pm_error err = PM_ERROR_INIT;
    int rc = pm_sql_split_flags(sql, flags, collect, &c, &err);
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
    expect_split_((sql), 0, (const char *const[]){__VA_ARGS__, NULL}, __FILE__, __LINE__)
#define EXPECT_NO_STATEMENT(sql)                                                                   \
    expect_split_((sql), 0, (const char *const[]){NULL}, __FILE__, __LINE__)
/* The same under MySQL's rules (PM_SQL_MYSQL). */
#define EXPECT_MYSQL_SPLIT(sql, ...)                                                               \
    expect_split_((sql), PM_SQL_MYSQL, (const char *const[]){__VA_ARGS__, NULL}, __FILE__, __LINE__)

/* Splits sql, which must fail with PM_EINVAL and a message holding each of
 * the NULL-terminated needles. */
static void expect_invalid_(const char *sql, unsigned int flags, const char *const *needles,
                            const char *file, int line)
{
    collected c = {0};
    pm_error err = PM_ERROR_INIT;
    int rc = pm_sql_split_flags(sql, flags, collect, &c, &err);
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
    expect_invalid_((sql), 0, (const char *const[]){__VA_ARGS__, NULL}, __FILE__, __LINE__)
#define EXPECT_MYSQL_INVALID(sql, ...)                                                             \
    expect_invalid_((sql), PM_SQL_MYSQL, (const char *const[]){__VA_ARGS__, NULL}, __FILE__,       \
                    __LINE__)

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

/* ==== MySQL stored programs ==== */

#define PROC_NESTED                                                                                \
    "CREATE PROCEDURE fill(IN n INT)\n"                                                            \
    "BEGIN\n"                                                                                      \
    "  DECLARE i INT DEFAULT 0;\n"                                                                 \
    "  BEGIN\n"                                                                                    \
    "    DECLARE j INT DEFAULT 1;\n"                                                               \
    "    SET i = j;\n"                                                                             \
    "  END;\n"                                                                                     \
    "  IF n > 10 THEN\n"                                                                           \
    "    SET n = 10;\n"                                                                            \
    "  ELSEIF n < 0 THEN\n"                                                                        \
    "    SET n = 0;\n"                                                                             \
    "  ELSE\n"                                                                                     \
    "    IF n = 5 THEN SET n = 6; END IF;\n"                                                       \
    "  END IF;\n"                                                                                  \
    "  INSERT INTO t VALUES (IF(n > 1, 'many;', 'one;'));\n"                                       \
    "END"

static void test_sqlsplit__mysql_procedure_with_nested_blocks_and_if_is_one_statement(void **state)
{
    (void)state;
    EXPECT_MYSQL_SPLIT("SELECT 1;\n" PROC_NESTED ";\nCALL fill(3);", "SELECT 1", PROC_NESTED,
                       "CALL fill(3)");
    /* OR REPLACE and a DEFINER, quoted or not, before PROCEDURE. */
    EXPECT_MYSQL_SPLIT("CREATE OR REPLACE DEFINER = 'root'@'%' PROCEDURE p() BEGIN SELECT 1; END;"
                       " CREATE DEFINER=root@localhost PROCEDURE q() BEGIN SELECT 2; END; SELECT 3",
                       "CREATE OR REPLACE DEFINER = 'root'@'%' PROCEDURE p() BEGIN SELECT 1; END",
                       "CREATE DEFINER=root@localhost PROCEDURE q() BEGIN SELECT 2; END",
                       "SELECT 3");
}

#define PROC_CASE                                                                                  \
    "CREATE PROCEDURE grade(IN score INT, OUT g CHAR(1))\n"                                        \
    "BEGIN\n"                                                                                      \
    "  CASE\n"                                                                                     \
    "    WHEN score >= 90 THEN SET g = 'A';\n"                                                     \
    "    WHEN score >= 50 THEN\n"                                                                  \
    "      SET g = CASE WHEN score > 70 THEN IF(score > 80, 'B', 'C') ELSE 'D' END;\n"             \
    "    ELSE SET g = 'F';\n"                                                                      \
    "  END CASE;\n"                                                                                \
    "  CASE score WHEN 0 THEN SET g = 'Z'; ELSE BEGIN END; END CASE;\n"                            \
    "END"

static void test_sqlsplit__mysql_case_statement_and_case_expression_in_a_procedure(void **state)
{
    (void)state;
    EXPECT_MYSQL_SPLIT(PROC_CASE ";\nSELECT 2;", PROC_CASE, "SELECT 2");
}

#define PROC_LOOPS                                                                                 \
    "CREATE PROCEDURE loops()\n"                                                                   \
    "outer_block: BEGIN\n"                                                                         \
    "  DECLARE i INT DEFAULT 0;\n"                                                                 \
    "  counting: LOOP\n"                                                                           \
    "    SET i = i + 1;\n"                                                                         \
    "    IF i > 3 THEN LEAVE counting; END IF;\n"                                                  \
    "  END LOOP counting;\n"                                                                       \
    "  WHILE i > 0 DO\n"                                                                           \
    "    SET i = i - 1;\n"                                                                         \
    "  END WHILE;\n"                                                                               \
    "  again: REPEAT\n"                                                                            \
    "    SET i = i + 1, @s = REPEAT('x;', i);\n"                                                   \
    "  UNTIL i >= 2 END REPEAT again;\n"                                                           \
    "  inner_block: BEGIN\n"                                                                       \
    "    LEAVE inner_block;\n"                                                                     \
    "  END inner_block;\n"                                                                         \
    "END outer_block"

static void test_sqlsplit__mysql_labels_and_loops_stay_in_the_procedure(void **state)
{
    (void)state;
    EXPECT_MYSQL_SPLIT(PROC_LOOPS ";\nCALL loops();", PROC_LOOPS, "CALL loops()");
}

#define PROC_HANDLER                                                                               \
    "CREATE PROCEDURE safe_insert(IN v INT)\n"                                                     \
    "BEGIN\n"                                                                                      \
    "  DECLARE done INT DEFAULT 0;\n"                                                              \
    "  DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1;\n"                                     \
    "  DECLARE EXIT HANDLER FOR SQLEXCEPTION\n"                                                    \
    "  BEGIN\n"                                                                                    \
    "    ROLLBACK;\n"                                                                              \
    "    RESIGNAL;\n"                                                                              \
    "  END;\n"                                                                                     \
    "  START TRANSACTION;\n"                                                                       \
    "  INSERT INTO t VALUES (v);\n"                                                                \
    "  COMMIT;\n"                                                                                  \
    "END"

static void test_sqlsplit__mysql_declare_handler_with_a_block_is_one_statement(void **state)
{
    (void)state;
    EXPECT_MYSQL_SPLIT(PROC_HANDLER ";\nSELECT 1", PROC_HANDLER, "SELECT 1");
}

#define MYSQL_ROW_TRIGGER                                                                          \
    "CREATE TRIGGER items_ai AFTER INSERT ON items FOR EACH ROW\n"                                 \
    "BEGIN\n"                                                                                      \
    "  IF NEW.qty > 0 THEN\n"                                                                      \
    "    INSERT INTO audit (note) VALUES (CONCAT('added; ', NEW.name));\n"                         \
    "  END IF;\n"                                                                                  \
    "END"

static void test_sqlsplit__mysql_trigger_bodies_with_and_without_begin(void **state)
{
    (void)state;
    EXPECT_MYSQL_SPLIT(MYSQL_ROW_TRIGGER ";\nINSERT INTO items VALUES (1);", MYSQL_ROW_TRIGGER,
                       "INSERT INTO items VALUES (1)");
    /* A body of one statement ends at its ';'; one IF statement is whole. */
    EXPECT_MYSQL_SPLIT("CREATE TRIGGER t1 BEFORE INSERT ON items FOR EACH ROW SET NEW.qty = 1;"
                       " SELECT 1",
                       "CREATE TRIGGER t1 BEFORE INSERT ON items FOR EACH ROW SET NEW.qty = 1",
                       "SELECT 1");
    EXPECT_MYSQL_SPLIT("CREATE TRIGGER t2 BEFORE INSERT ON items FOR EACH ROW IF NEW.qty < 0 THEN "
                       "SET NEW.qty = 0; END IF; SELECT 2",
                       "CREATE TRIGGER t2 BEFORE INSERT ON items FOR EACH ROW IF NEW.qty < 0 THEN "
                       "SET NEW.qty = 0; END IF",
                       "SELECT 2");
}

#define MYSQL_FUNCTION                                                                             \
    "CREATE FUNCTION clamp(x INT) RETURNS INT DETERMINISTIC\n"                                     \
    "BEGIN\n"                                                                                      \
    "  RETURN CASE WHEN x < 0 THEN 0 WHEN x > 9 THEN 9 ELSE x END;\n"                              \
    "END"

static void test_sqlsplit__mysql_function_with_and_without_begin(void **state)
{
    (void)state;
    EXPECT_MYSQL_SPLIT(MYSQL_FUNCTION "; SELECT clamp(12);", MYSQL_FUNCTION, "SELECT clamp(12)");
    EXPECT_MYSQL_SPLIT("CREATE FUNCTION one() RETURNS INT RETURN 1; SELECT one();",
                       "CREATE FUNCTION one() RETURNS INT RETURN 1", "SELECT one()");
    EXPECT_MYSQL_SPLIT("CREATE AGGREGATE FUNCTION IF NOT EXISTS f(x INT) RETURNS INT "
                       "RETURN IF(x > 0, 1, 0); SELECT 2",
                       "CREATE AGGREGATE FUNCTION IF NOT EXISTS f(x INT) RETURNS INT "
                       "RETURN IF(x > 0, 1, 0)",
                       "SELECT 2");
}

#define MYSQL_EVENT                                                                                \
    "CREATE EVENT purge ON SCHEDULE EVERY 1 DAY DO BEGIN\n"                                        \
    "  DELETE FROM log WHERE at < NOW() - INTERVAL 7 DAY;\n"                                       \
    "  INSERT INTO log (at) VALUES (NOW());\n"                                                     \
    "END"

static void test_sqlsplit__mysql_event_body_is_one_statement(void **state)
{
    (void)state;
    EXPECT_MYSQL_SPLIT(MYSQL_EVENT ";\nSELECT 1;", MYSQL_EVENT, "SELECT 1");
    EXPECT_MYSQL_SPLIT("CREATE EVENT e ON SCHEDULE EVERY 1 HOUR DO DELETE FROM log; SELECT 1",
                       "CREATE EVENT e ON SCHEDULE EVERY 1 HOUR DO DELETE FROM log", "SELECT 1");
}

static void test_sqlsplit__mysql_begin_as_a_transaction_start_splits(void **state)
{
    (void)state;
    EXPECT_MYSQL_SPLIT("BEGIN; INSERT INTO t VALUES (1); COMMIT;", "BEGIN",
                       "INSERT INTO t VALUES (1)", "COMMIT");
    EXPECT_MYSQL_SPLIT("BEGIN WORK; SELECT 1; END", "BEGIN WORK", "SELECT 1", "END");
    /* MariaDB's anonymous block is a compound statement of its own. */
    EXPECT_MYSQL_SPLIT("BEGIN NOT ATOMIC SELECT 1; SELECT 2; END; SELECT 3",
                       "BEGIN NOT ATOMIC SELECT 1; SELECT 2; END", "SELECT 3");
    /* CASE, IF() and a table named event outside stored programs. */
    EXPECT_MYSQL_SPLIT("CREATE TABLE event (id INT, begin_at INT); SELECT CASE WHEN 1 THEN 2 END;"
                       " SELECT IF(1, 2, 3); SELECT 4",
                       "CREATE TABLE event (id INT, begin_at INT)", "SELECT CASE WHEN 1 THEN 2 END",
                       "SELECT IF(1, 2, 3)", "SELECT 4");
}

static void test_sqlsplit__mysql_strings_and_comments_hide_begin_end_and_semicolons(void **state)
{
    (void)state;
    const char *proc = "CREATE PROCEDURE p() BEGIN\n"
                       "  -- END; here is a comment\n"
                       "  # END; so is this\n"
                       "  /* END; BEGIN */ SELECT 'END;', \"BEGIN;\", `end;`;\n"
                       "END";
    char sql[512];
    snprintf(sql, sizeof(sql), "%s;\nSELECT 'BEGIN'; -- BEGIN\nSELECT 2", proc);
    EXPECT_MYSQL_SPLIT(sql, proc, "SELECT 'BEGIN'", "-- BEGIN\nSELECT 2");
}

static void test_sqlsplit__mysql_delimiter_lines_change_the_terminator(void **state)
{
    (void)state;
    EXPECT_MYSQL_SPLIT("SELECT 1;\n"
                       "DELIMITER $$\n"
                       "CREATE PROCEDURE p() BEGIN SELECT 1; END$$\n"
                       "CREATE FUNCTION f() RETURNS INT RETURN 1 $$\n"
                       "DELIMITER ;\n"
                       "SELECT 2;",
                       "SELECT 1", "CREATE PROCEDURE p() BEGIN SELECT 1; END",
                       "CREATE FUNCTION f() RETURNS INT RETURN 1", "SELECT 2");
    /* Any case, any delimiter; ';' is text until DELIMITER ; and a body the
     * block counting would not understand is whole up to the delimiter. */
    EXPECT_MYSQL_SPLIT("  delimiter //\n"
                       "CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW\n"
                       "  IF NEW.a THEN SET NEW.b = ';//'; END IF;\n"
                       "//\n"
                       "SELECT 1; SELECT 2//\n"
                       "Delimiter ;\n"
                       "SELECT 3; SELECT 4",
                       "CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW\n"
                       "  IF NEW.a THEN SET NEW.b = ';//'; END IF;",
                       "SELECT 1; SELECT 2", "SELECT 3", "SELECT 4");
    /* Not at the start of a line, or inside a statement, it is a word. */
    EXPECT_MYSQL_SPLIT("CREATE TABLE csv (\n  delimiter CHAR(1)\n); SELECT 1",
                       "CREATE TABLE csv (\n  delimiter CHAR(1)\n)", "SELECT 1");
    /* Other rules leave DELIMITER lines to the database. */
    EXPECT_SPLIT("DELIMITER $$\nSELECT 1$$", "DELIMITER $$\nSELECT 1$$");
    EXPECT_MYSQL_INVALID("SELECT 1;\nDELIMITER \nSELECT 2", "DELIMITER at line 2, column 1",
                         "no delimiter");
}

static void test_sqlsplit__mysql_unterminated_body_names_where_the_statement_starts(void **state)
{
    (void)state;
    EXPECT_MYSQL_INVALID("SELECT 1;\n\n  CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n",
                         "unterminated BEGIN ... END block", "line 3, column 3");
    EXPECT_MYSQL_INVALID("CREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END IF; SELECT 2;",
                         "unterminated BEGIN ... END block", "line 1, column 1");
    EXPECT_MYSQL_INVALID("SELECT 0; CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW "
                         "IF NEW.a THEN SET NEW.b = 1;",
                         "unterminated IF ... END IF block", "line 1, column 11");
    /* With a DELIMITER line, the delimiter alone ends statements. */
    EXPECT_MYSQL_SPLIT("DELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1;\n$$",
                       "CREATE PROCEDURE p() BEGIN SELECT 1;");
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
        cmocka_unit_test(test_sqlsplit__mysql_procedure_with_nested_blocks_and_if_is_one_statement),
        cmocka_unit_test(test_sqlsplit__mysql_case_statement_and_case_expression_in_a_procedure),
        cmocka_unit_test(test_sqlsplit__mysql_labels_and_loops_stay_in_the_procedure),
        cmocka_unit_test(test_sqlsplit__mysql_declare_handler_with_a_block_is_one_statement),
        cmocka_unit_test(test_sqlsplit__mysql_trigger_bodies_with_and_without_begin),
        cmocka_unit_test(test_sqlsplit__mysql_function_with_and_without_begin),
        cmocka_unit_test(test_sqlsplit__mysql_event_body_is_one_statement),
        cmocka_unit_test(test_sqlsplit__mysql_begin_as_a_transaction_start_splits),
        cmocka_unit_test(test_sqlsplit__mysql_strings_and_comments_hide_begin_end_and_semicolons),
        cmocka_unit_test(test_sqlsplit__mysql_delimiter_lines_change_the_terminator),
        cmocka_unit_test(test_sqlsplit__mysql_unterminated_body_names_where_the_statement_starts),
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
