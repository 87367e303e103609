/* test_url.c: pins down the database URL parser (every shape a driver sees,
 * every fault it must name), the finder of a URL's secrets, and its two
 * uses: the redaction that keeps passwords out of logs and the scrubbing
 * that keeps them out of driver messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "../../core/src/internal.h"
#include "poblysh/poblysh.h"

/* ==== Helpers ==== */

static pm_url *parse_ok(const char *text)
{
    pm_url *url = NULL;
    pm_error err = PM_ERROR_INIT;
    int rc = pm_url_parse(&url, text, &err);
    if (rc != 0)
        fail_msg("parsing \"%s\" failed (%d): %s", text, rc, err.message ? err.message : "?");
    assert_int_equal(err.code, PM_OK);
    assert_non_null(url);
    pm_error_clear(&err);
    return url;
}

static void assert_redacts(const char *text, const char *expected)
{
    char *got = pm_url_redact(text);
    assert_non_null(got);
    if (strcmp(got, expected) != 0)
        fail_msg("redacting \"%s\": got \"%s\", expected \"%s\"", text, got, expected);
    free(got);
}

/* ==== Parsing ==== */

static void test_url__parses_postgres_url_with_all_parts(void **state)
{
    (void)state;
    pm_url *url = parse_ok("PostgreSQL://alice:s3cret@db.example.com:5433/app"
                           "?sslmode=require&application_name=poblysh");
    assert_string_equal(url->scheme, "postgresql");
    assert_null(url->subscheme);
    assert_int_equal(url->has_authority, 1);
    assert_string_equal(url->user, "alice");
    assert_string_equal(url->password, "s3cret");
    assert_string_equal(url->host, "db.example.com");
    assert_int_equal(url->port, 5433);
    assert_string_equal(url->path, "/app");
    assert_int_equal(url->nparams, 2);
    assert_string_equal(url->params[0].key, "sslmode");
    assert_string_equal(url->params[0].value, "require");
    assert_string_equal(url->params[1].key, "application_name");
    assert_string_equal(url->params[1].value, "poblysh");
    pm_url_free(url);
}

static void test_url__absent_parts_are_null(void **state)
{
    (void)state;
    pm_url *url = parse_ok("postgres://db.example.com");
    assert_string_equal(url->host, "db.example.com");
    assert_null(url->user);
    assert_null(url->password);
    assert_int_equal(url->port, 0);
    assert_null(url->path);
    assert_null(url->params);
    assert_int_equal(url->nparams, 0);
    pm_url_free(url);

    url = parse_ok("mysql://root@:3306/");
    assert_string_equal(url->user, "root");
    assert_null(url->password);
    assert_null(url->host);
    assert_int_equal(url->port, 3306);
    assert_string_equal(url->path, "/");
    pm_url_free(url);

    pm_url_free(NULL);
}

static void test_url__percent_decodes_password_with_special_characters(void **state)
{
    (void)state;
    pm_url *url = parse_ok("postgres://b%40b:p%40ss%3Aw%2Frd%3F%23%25@h/my%20db");
    assert_string_equal(url->user, "b@b");
    assert_string_equal(url->password, "p@ss:w/rd?#%");
    assert_string_equal(url->host, "h");
    assert_string_equal(url->path, "/my db");
    pm_url_free(url);

    /* '+' is not a space outside form encoding, and a raw '@' in the password
     * is kept because the user info ends at the last '@'. */
    url = parse_ok("postgres://u:a+b@c@h:5432/d");
    assert_string_equal(url->user, "u");
    assert_string_equal(url->password, "a+b@c");
    assert_string_equal(url->host, "h");
    assert_int_equal(url->port, 5432);
    pm_url_free(url);

    /* The user and password split at the first ':'; later ones belong to the password. */
    url = parse_ok("postgres://u:x:y@h/d");
    assert_string_equal(url->user, "u");
    assert_string_equal(url->password, "x:y");
    pm_url_free(url);
}

static void test_url__parses_ipv6_host_and_port(void **state)
{
    (void)state;
    pm_url *url = parse_ok("postgres://u:pw@[::1]:5432/db");
    assert_string_equal(url->host, "::1");
    assert_int_equal(url->port, 5432);
    assert_string_equal(url->path, "/db");
    pm_url_free(url);

    url = parse_ok("mysql://[2001:DB8::7]/app");
    assert_string_equal(url->host, "2001:DB8::7");
    assert_int_equal(url->port, 0);
    pm_url_free(url);

    url = parse_ok("postgres://[fe80::1%25eth0]:6543");
    assert_string_equal(url->host, "fe80::1%eth0");
    assert_int_equal(url->port, 6543);
    assert_null(url->path);
    pm_url_free(url);
}

static void test_url__sqlite_memory_is_opaque_path(void **state)
{
    (void)state;
    pm_url *url = parse_ok("sqlite::memory:");
    assert_string_equal(url->scheme, "sqlite");
    assert_int_equal(url->has_authority, 0);
    assert_string_equal(url->path, ":memory:");
    assert_null(url->host);
    assert_int_equal(url->nparams, 0);
    pm_url_free(url);

    url = parse_ok("sqlite:path.db?mode=ro");
    assert_int_equal(url->has_authority, 0);
    assert_string_equal(url->path, "path.db");
    assert_string_equal(pm_url_param_get(url, "mode"), "ro");
    pm_url_free(url);
}

static void test_url__sqlite_relative_and_absolute_paths(void **state)
{
    (void)state;
    pm_url *url = parse_ok("sqlite:///abs/path.db");
    assert_int_equal(url->has_authority, 1);
    assert_null(url->host);
    assert_string_equal(url->path, "/abs/path.db");
    pm_url_free(url);

    /* Not special-cased: the sqlite driver joins host and path back together. */
    url = parse_ok("sqlite://relative/path.db");
    assert_int_equal(url->has_authority, 1);
    assert_string_equal(url->host, "relative");
    assert_string_equal(url->path, "/path.db");
    pm_url_free(url);

    url = parse_ok("sqlite:/abs/opaque.db");
    assert_int_equal(url->has_authority, 0);
    assert_string_equal(url->path, "/abs/opaque.db");
    pm_url_free(url);
}

static void test_url__dbi_scheme_has_subscheme(void **state)
{
    (void)state;
    pm_url *url = parse_ok("dbi:PgSQL://u:pw@h:5432/db");
    assert_string_equal(url->scheme, "dbi");
    assert_string_equal(url->subscheme, "pgsql");
    assert_int_equal(url->has_authority, 1);
    assert_string_equal(url->user, "u");
    assert_string_equal(url->password, "pw");
    assert_string_equal(url->host, "h");
    assert_int_equal(url->port, 5432);
    assert_string_equal(url->path, "/db");
    pm_url_free(url);

    url = parse_ok("DBI:sqlite3:/tmp/x.db");
    assert_string_equal(url->scheme, "dbi");
    assert_string_equal(url->subscheme, "sqlite3");
    assert_int_equal(url->has_authority, 0);
    assert_string_equal(url->path, "/tmp/x.db");
    pm_url_free(url);

    url = parse_ok("postgres://h/db");
    assert_null(url->subscheme);
    pm_url_free(url);
}

static void test_url__query_params_decoded(void **state)
{
    (void)state;
    pm_url *url = parse_ok("postgres://h/db?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem"
                           "&flag&&opt%3Dkey=a%26b+c&empty=&sslmode=disable");
    assert_int_equal(url->nparams, 6);
    assert_string_equal(url->params[0].key, "sslmode");
    assert_string_equal(url->params[0].value, "verify-full");
    assert_string_equal(url->params[1].key, "sslrootcert");
    assert_string_equal(url->params[1].value, "/etc/ca.pem");
    assert_string_equal(url->params[2].key, "flag");
    assert_string_equal(url->params[2].value, "");
    assert_string_equal(url->params[3].key, "opt=key");
    assert_string_equal(url->params[3].value, "a&b+c");
    assert_string_equal(url->params[4].key, "empty");
    assert_string_equal(url->params[4].value, "");
    assert_string_equal(url->params[5].key, "sslmode");
    assert_string_equal(url->params[5].value, "disable");

    /* Lookup is exact and returns the first of repeated keys. */
    assert_string_equal(pm_url_param_get(url, "sslmode"), "verify-full");
    assert_string_equal(pm_url_param_get(url, "opt=key"), "a&b+c");
    assert_string_equal(pm_url_param_get(url, "flag"), "");
    assert_null(pm_url_param_get(url, "SSLMODE"));
    assert_null(pm_url_param_get(url, "missing"));
    assert_null(pm_url_param_get(url, NULL));
    assert_null(pm_url_param_get(NULL, "sslmode"));
    pm_url_free(url);

    /* A query value may hold '@' and '?' (Azure-style user names). */
    url = parse_ok("postgres://h/db?user=alice@server&q=a?b");
    assert_string_equal(pm_url_param_get(url, "user"), "alice@server");
    assert_string_equal(pm_url_param_get(url, "q"), "a?b");
    assert_string_equal(url->path, "/db");
    pm_url_free(url);
}

/* ==== Faults ==== */

static void test_url__rejects_bad_input_with_named_fault(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *fault;
    } cases[] = {
        {"", "empty"},
        {"nocolon", "missing scheme"},
        {"://x", "missing scheme"},
        {"secret@h:5432/d", "missing scheme"},
        {"post_gres://h/d", "'_' at offset 4 is not allowed in a scheme"},
        {"dbi:pgsql", "driver after \"dbi:\""},
        {"postgres://u@h:99999/d", "port \"99999\" is not between 1 and 65535"},
        {"postgres://h:99999/d", "the port after ':' is not between 1 and 65535"},
        {"postgres://admin:s3cr3tPW", "the port after ':' is not a number"},
        {"postgres://u@h:0/d", "port \"0\" is not between 1 and 65535"},
        {"postgres://h:/d", "empty port"},
        {"postgres://u:secret@h:abc/d", "port \"abc\" is not a number"},
        {"postgres://[::1/d", "unterminated IPv6 literal"},
        {"postgres://[]/d", "empty IPv6 literal"},
        {"postgres://[localhost]/d", "not an IPv6 address"},
        {"postgres://[::1]x/d", "after the IPv6 literal"},
        {"postgres://h]/d", "unexpected '[' or ']'"},
        {"dbi:mysql://h1,h2:3306/d", "several hosts"},
        {"postgres://h/d%zz", "bad percent-escape \"%zz\" at offset 14"},
        {"postgres://h/d%4", "bad percent-escape \"%4\" at offset 14"},
        {"postgres://h/d%00", "%00 (a NUL byte) at offset 14"},
        {"postgres://u:sec%zzret@h/d", "bad percent-escape in the password"},
        {"postgres://h/d?password=secret%zz", "bad percent-escape in the password query parameter"},
        {"postgres://u:secret@h/d#frag", "fragments are not supported"},
        {"postgres://u:secret/x@h/d", "'@' after the host"},
        {"postgres://u:secret?x@h/d", "the port after ':' is not a number"},
        {"postgres://h/d?=secret", "query parameter without a name at offset 15"},
        {"postgres://u:secret@h/d\n", "control character at offset 23"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pm_url sentinel;
        pm_url *url = &sentinel; /* must be reset to NULL */
        pm_error err = PM_ERROR_INIT;
        int rc = pm_url_parse(&url, cases[i].text, &err);
        if (rc != PM_EURL)
            fail_msg("\"%s\": expected PM_EURL, got %d", cases[i].text, rc);
        assert_int_equal(err.code, PM_EURL);
        assert_null(url);
        assert_non_null(err.message);
        if (strncmp(err.message, "invalid database URL: ", 22) != 0 ||
            !strstr(err.message, cases[i].fault))
            fail_msg("\"%s\": message \"%s\" does not name \"%s\"", cases[i].text, err.message,
                     cases[i].fault);
        if (strstr(err.message, "secret"))
            fail_msg("\"%s\": message \"%s\" leaks the password", cases[i].text, err.message);
        pm_error_clear(&err);
    }
}

static void test_url__rejects_null_arguments(void **state)
{
    (void)state;
    pm_error err = PM_ERROR_INIT;
    pm_url *url = NULL;
    assert_int_equal(pm_url_parse(&url, NULL, &err), PM_EURL);
    assert_null(url);
    assert_non_null(strstr(err.message, "empty"));
    pm_error_clear(&err);

    assert_int_equal(pm_url_parse(NULL, "sqlite::memory:", &err), PM_EINVAL);
    assert_int_equal(err.code, PM_EINVAL);
    pm_error_clear(&err);

    /* A NULL error object is allowed. */
    assert_int_equal(pm_url_parse(&url, "nocolon", NULL), PM_EURL);
    assert_null(url);
}

/* ==== Redaction ==== */

static void test_url__redacts_password_in_userinfo(void **state)
{
    (void)state;
    assert_redacts("postgres://alice:s3cret@h:5432/db", "postgres://alice:***@h:5432/db");
    assert_redacts("postgres://u:p%40ss%3Aw%2Frd@h/db", "postgres://u:***@h/db");
    assert_redacts("postgres://u:p@ss@h/db?sslmode=require",
                   "postgres://u:***@h/db?sslmode=require");
    assert_redacts("dbi:pgsql://u:pw@h/db", "dbi:pgsql://u:***@h/db");
    assert_redacts("mysql://root:x:y@[::1]:3306/app", "mysql://root:***@[::1]:3306/app");
    /* A raw '/' or '?' in the password cuts the authority short; still hidden. */
    assert_redacts("postgres://u:pa/ss@h/db", "postgres://u:***@h/db");
    assert_redacts("postgres://u:pa?ss@h/db?password=x", "postgres://u:***@h/db?password=***");
}

static void test_url__redacts_password_query_params(void **state)
{
    (void)state;
    assert_redacts(
        "postgres://h/db?user=a&password=s3cret&PWD=x&pass=y&sslpassword=z&sslmode=require",
        "postgres://h/db?user=a&password=***&PWD=***&pass=***&sslpassword=***"
        "&sslmode=require");
    assert_redacts("postgres://u:pw@h/db?Password=s3cret", "postgres://u:***@h/db?Password=***");
    /* Keys are matched after percent-decoding, exactly, like the parser sees them. */
    assert_redacts("sqlite:x.db?p%61ssword=s3cret&passwords=kept&mypass=kept",
                   "sqlite:x.db?p%61ssword=***&passwords=kept&mypass=kept");
}

static void test_url__redacts_unparseable_text(void **state)
{
    (void)state;
    assert_redacts("postgres://u:secret@h:abc/d", "postgres://u:***@h:abc/d");
    assert_redacts("weird://u:secret@[::1/x", "weird://u:***@[::1/x");
    assert_redacts("postgres://u:secret@h/d#frag", "postgres://u:***@h/d#frag");
    assert_redacts("not a url ?password=secret&x", "not a url ?password=***&x");
    assert_redacts("postgres://u:sec%zzret@h/d?pwd=sec%zz", "postgres://u:***@h/d?pwd=***");

    char *empty = pm_url_redact(NULL);
    assert_non_null(empty);
    assert_string_equal(empty, "");
    free(empty);
}

static void test_url__redact_leaves_urls_without_password_unchanged(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "",
        "sqlite::memory:",
        "sqlite:///abs/path.db",
        "sqlite:///tmp/a:b@c.db",
        "sqlite://relative/path.db?mode=ro",
        "postgres://alice@h/db",
        "postgres://h:5432/db?sslmode=require&user=a@b.example",
        "postgres://u:@h/db?password=",
        "dbi:sqlite3:/tmp/x.db",
        "just some text",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        assert_redacts(texts[i], texts[i]);
}

static void test_url__redact_ignores_scheme_separator_inside_query(void **state)
{
    (void)state;
    /* The "://" inside application_name is not the start of an authority. */
    assert_redacts("postgres:?host=127.0.0.1&password=SECRET&application_name=x://y:z",
                   "postgres:?host=127.0.0.1&password=***&application_name=x://y:z");
    assert_redacts("postgres:?application_name=x://u:v@w&pwd=SECRET",
                   "postgres:?application_name=x://u:v@w&pwd=***");
}

static void test_url__redact_ignores_at_sign_in_query_flag(void **state)
{
    (void)state;
    /* An '@' in a query value after host:port does not end a user info. */
    assert_redacts("mysql://127.0.0.1:3306/d?x@y&username=u&password=SECRET",
                   "mysql://127.0.0.1:3306/d?x@y&username=u&password=***");
    assert_redacts("mysql://127.0.0.1:3306?x@y&password=SECRET",
                   "mysql://127.0.0.1:3306?x@y&password=***");
    assert_redacts("mysql://[::1]:3306/d?x@y&password=SECRET",
                   "mysql://[::1]:3306/d?x@y&password=***");
    assert_redacts("postgres://[::1]/d?x@y&password=SECRET", "postgres://[::1]/d?x@y&password=***");
    /* A numeric password with a raw '/' still ends at the '@' before the query. */
    assert_redacts("postgres://u:1234/56@h/db?sslmode=require",
                   "postgres://u:***@h/db?sslmode=require");
}

/* ==== Secrets and scrubbing ==== */

static int has_secret(const pm_secrets *s, const char *value)
{
    for (size_t i = 0; i < s->nvalues; i++) {
        if (strcmp(s->values[i], value) == 0)
            return 1;
    }
    return 0;
}

static void test_url__secrets_found_as_written_and_decoded(void **state)
{
    (void)state;
    static const char *const text = "postgres://u:p%40ss@h/db?sslpassword=a%2Fb&pwd=c&pass=c"
                                    "&password=&user=kept";
    static const char *const expected[] = {"p%40ss", "p@ss", "a%2Fb", "a/b", "c"};
    pm_secrets s = PM_SECRETS_INIT;
    assert_int_equal(pm__secrets_find(&s, text), 0);
    assert_int_equal(s.nvalues, PM_ARRAY_LEN(expected));
    for (size_t i = 0; i < PM_ARRAY_LEN(expected); i++) {
        if (!has_secret(&s, expected[i]))
            fail_msg("\"%s\" not among the secrets of \"%s\"", expected[i], text);
    }
    for (size_t i = 1; i < s.nvalues; i++)
        assert_true(strlen(s.values[i - 1]) >= strlen(s.values[i]));
    /* The spans are where each secret is written: the two "c"s apart. */
    static const char *const written[] = {"p%40ss", "a%2Fb", "c", "c"};
    assert_int_equal(s.nspans, PM_ARRAY_LEN(written));
    for (size_t i = 0; i < s.nspans; i++) {
        size_t n = s.spans[i].end - s.spans[i].start;
        assert_int_equal(n, strlen(written[i]));
        assert_memory_equal(text + s.spans[i].start, written[i], n);
        if (i > 0)
            assert_true(s.spans[i - 1].end < s.spans[i].start);
    }
    pm__secrets_clear(&s);
    assert_int_equal(s.nvalues, 0);
    assert_null(s.values);

    assert_int_equal(pm__secrets_find(&s, "postgres://u@h/db?sslmode=require"), 0);
    assert_int_equal(s.nvalues, 0);
    assert_int_equal(s.nspans, 0);
    pm__secrets_clear(&s);
}

static void test_url__scrub_hides_secrets_in_every_error_field(void **state)
{
    (void)state;
    pm_secrets s = PM_SECRETS_INIT;
    assert_int_equal(pm__secrets_find(&s, "postgres://u:Pw%21d@h/db?password=Qv%2Fx"), 0);
    pm_error err = PM_ERROR_INIT;
    pm_error_set(&err, PM_EDB, "auth failed for Pw!d (Pw%%21d), then Qv/x and Qv%%2Fx");
    err.db_code = strdup("28P01 Pw!d");
    err.detail = strdup("detail Qv/x");
    err.hint = strdup("hint Qv%2Fx");
    err.statement = strdup("SET x = 'Pw%21d'");
    err.migration = strdup("m_Pw!d"); /* ours, not the driver's: left alone */
    pm__secrets_scrub(&s, &err);
    assert_string_equal(err.message, "auth failed for *** (***), then *** and ***");
    assert_string_equal(err.db_code, "28P01 ***");
    assert_string_equal(err.detail, "detail ***");
    assert_string_equal(err.hint, "hint ***");
    assert_string_equal(err.statement, "SET x = '***'");
    assert_string_equal(err.migration, "m_Pw!d");
    pm_error_clear(&err);
    pm__secrets_scrub(&s, NULL);
    pm__secrets_clear(&s);
}

static void test_url__scrub_replaces_longer_secret_first(void **state)
{
    (void)state;
    /* "abc" is part of "abcdef": scrubbing it first would leave "def". */
    pm_secrets s = PM_SECRETS_INIT;
    assert_int_equal(pm__secrets_find(&s, "postgres://u:abc@h/db?password=abcdef"), 0);
    pm_error err = PM_ERROR_INIT;
    pm_error_set(&err, PM_EDB, "abcdef, abc");
    pm__secrets_scrub(&s, &err);
    assert_string_equal(err.message, "***, ***");
    pm_error_clear(&err);
    pm__secrets_clear(&s);
}

/* The parser's own secrets for text: its password and the values of the
 * password-like parameters, as decoded. */
static size_t parser_secrets(const char *text, const char **out, size_t max, pm_url **url)
{
    *url = parse_ok(text);
    size_t n = 0;
    if ((*url)->password && n < max)
        out[n++] = (*url)->password;
    for (size_t i = 0; i < (*url)->nparams && n < max; i++) {
        const char *k = (*url)->params[i].key;
        if ((strcasecmp(k, "password") == 0 || strcasecmp(k, "sslpassword") == 0 ||
             strcasecmp(k, "pwd") == 0 || strcasecmp(k, "pass") == 0) &&
            *(*url)->params[i].value)
            out[n++] = (*url)->params[i].value;
    }
    return n;
}

static void test_url__finder_returns_exactly_what_the_parser_reads(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "postgres:?host=127.0.0.1&port=5432&dbname=d&user=u&password=SECRET"
        "&application_name=x://y:z",
        "mysql://127.0.0.1:3306/d?x@y&username=u&password=SECRET",
        "postgres://u:p%40ss:w@h/d?user=a@b&sslpassword=x%2Fy&pwd=z",
        "postgres://h/d?password=ab&cd=ef",
        "dbi:mysql://u:1234@[::1]:3306/d?PASS=q",
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(texts); i++) {
        const char *want[8];
        pm_url *url = NULL;
        size_t n = parser_secrets(texts[i], want, PM_ARRAY_LEN(want), &url);
        pm_secrets s = PM_SECRETS_INIT;
        assert_int_equal(pm__secrets_find(&s, texts[i]), 0);
        assert_int_equal(s.nspans, n);
        for (size_t k = 0; k < n; k++) {
            if (!has_secret(&s, want[k]))
                fail_msg("the parser reads \"%s\" in \"%s\"; the finder missed it", want[k],
                         texts[i]);
        }
        pm__secrets_clear(&s);
        pm_url_free(url);
    }
}

static void test_url__redaction_hides_password_holding_raw_slash_equals_or_query(void **state)
{
    (void)state;
    /* The parser refuses these; the whole would-be password is still hidden. */
    assert_redacts("postgres://u:a/b=secretX@h/d", "postgres://u:***@h/d");
    assert_redacts("postgres://u:pa?ss@h/d?password=x", "postgres://u:***@h/d?password=***");
    assert_redacts("postgres://u:p@h/d?password=a@b&bad=%zz", "postgres://u:***&bad=%zz");
    assert_redacts("mysql://127.0.0.1:3306/d?x@y&username=u&password=SECRET",
                   "mysql://127.0.0.1:3306/d?x@y&username=u&password=***");
    assert_redacts("postgres:?host=127.0.0.1&port=5432&dbname=d&user=u&password=SECRET"
                   "&application_name=x://y:z",
                   "postgres:?host=127.0.0.1&port=5432&dbname=d&user=u&password=***"
                   "&application_name=x://y:z");
}

/* Scrubs message with the secrets of url and compares. */
static void assert_scrubs(const char *url, const char *message, const char *expected)
{
    pm_secrets s = PM_SECRETS_INIT;
    assert_int_equal(pm__secrets_find(&s, url), 0);
    pm_error err = PM_ERROR_INIT;
    pm_error_set(&err, PM_EDB, "%s", message);
    pm__secrets_scrub(&s, &err);
    if (strcmp(err.message, expected) != 0)
        fail_msg("scrubbing \"%s\" with the secrets of %s: got \"%s\", expected \"%s\"", message,
                 url, err.message, expected);
    pm_error_clear(&err);
    pm__secrets_clear(&s);
}

static void test_url__scrub_leaves_words_that_merely_contain_the_password(void **state)
{
    (void)state;
    assert_scrubs("mysql://u:ev@h/d", "-- Drop previously created objects",
                  "-- Drop previously created objects");
    assert_scrubs("postgres://u:ab@h/d", "relation \"nonexistent_labels\" does not exist",
                  "relation \"nonexistent_labels\" does not exist");
    assert_scrubs("postgres://u:postgres@h/d", "extension postgres_fdw needs postgresql 9",
                  "extension postgres_fdw needs postgresql 9");
    assert_scrubs("postgres://u:x%C3%A9@h/d", "caf\xc3\xa9x\xc3\xa9 x\xc3\xa9t",
                  "caf\xc3\xa9x\xc3\xa9 x\xc3\xa9t");
}

static void test_url__scrub_hides_whole_occurrences_however_short(void **state)
{
    (void)state;
    assert_scrubs("mysql://u:ev@h/d", "Access denied for ev (using password: YES)",
                  "Access denied for *** (using password: YES)");
    /* The password equals the role name: the role is hidden too. */
    assert_scrubs("postgres://u:postgres@h/d", "GRANT ALL ON SCHEMA auth TO postgres;",
                  "GRANT ALL ON SCHEMA auth TO ***;");
    /* Punctuation at a secret's edge needs no boundary there. */
    assert_scrubs("postgres://u:-x!@h/d", "a-x!b and -x!", "a***b and ***");
    assert_scrubs("postgres://u:ev@h/d", "ev,ev ev_ev evev ev", "***,*** ev_ev evev ***");
}

static void test_url__scrub_hides_query_parameter_passwords(void **state)
{
    (void)state;
    assert_scrubs("mysql://h/d?username=u&password=Zq9", "Access denied for 'u'@'h' (Zq9)",
                  "Access denied for 'u'@'h' (***)");
    assert_scrubs("postgres:?host=h&sslpassword=k%2Fey&application_name=x://y:z",
                  "could not decrypt key with k/ey or k%2Fey",
                  "could not decrypt key with *** or ***");
}

/* A driver that claims the schemes below and opens an in-memory SQLite
 * database for any of them, so that a URL with a password or ?password=
 * (which the SQLite driver refuses) reaches real SQLite messages through
 * db.c's wrappers. */
static const pm_driver *sqlite_driver(void)
{
    const pm_driver *const *drivers = pm__builtin_drivers();
    for (size_t i = 0; drivers[i]; i++) {
        if (strcmp(drivers[i]->name, "sqlite") == 0)
            return drivers[i];
    }
    fail_msg("this build has no SQLite driver");
    return NULL;
}

static int open_memory(pm_conn **out, const pm_url *url, const pm_connect_options *opts,
                       pm_error *err)
{
    (void)url;
    pm_url *memory = NULL;
    int rc = pm_url_parse(&memory, "sqlite::memory:", err);
    if (rc == 0)
        rc = sqlite_driver()->open(out, memory, opts, err);
    pm_url_free(memory);
    return rc;
}

/* The PostgreSQL driver's reading of connection strings (libpq's), for a
 * URL that goes to PostgreSQL: its multi-host and key=value forms. */
static int (*libpq_reading(const char *url))(const char *, pm_secret_fn, void *, char **,
                                             pm_error *)
{
    const pm_driver *const *drivers = pm__builtin_drivers();
    bool postgres = strncmp(url, "postgres", 8) == 0 || !strstr(url, "://");
    for (size_t i = 0; postgres && drivers[i]; i++) {
        if (strcmp(drivers[i]->name, "postgres") == 0)
            return drivers[i]->conninfo;
    }
    return NULL;
}

static pm_db *open_on_memory(const char *url)
{
    static const char *const schemes[] = {"postgres", "mysql", "dbi:*", NULL};
    static pm_driver driver;
    driver = *sqlite_driver();
    driver.schemes = schemes;
    driver.open = open_memory;
    driver.conninfo = libpq_reading(url);
    pm_db *db = NULL;
    pm_error err = PM_ERROR_INIT;
    if (pm_driver_register(&driver, &err) != 0 || pm_db_open(&db, url, NULL, &err) != 0)
        fail_msg("opening \"%s\": %s", url, err.message ? err.message : "?");
    assert_int_equal(pm_driver_unregister(&driver), 0);
    pm_error_clear(&err);
    return db;
}

static void assert_hidden(const char *what, const char *url, const char *text, const char *secret)
{
    if (text && strstr(text, secret))
        fail_msg("%s of \"%s\" shows the secret \"%s\": %s", what, url, secret, text);
}

/* Each URL with its secrets, as written and decoded. The redacted URL and
 * a real SQLite error naming every secret (in its message and statement)
 * must both hide all of them. */
static void test_url__redaction_and_scrubbing_agree(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        const char *secrets[4];
    } cases[] = {
        {"postgres://alice:pa%40ss@h/db", {"pa%40ss", "pa@ss"}},
        {"postgres://h/db?user=a&password=Qu%2Bery1&sslmode=require", {"Qu%2Bery1", "Qu+ery1"}},
        {"mysql://u@h/db?sslpassword=Ssl%2Fpw&PWD=PwdPw", {"Ssl%2Fpw", "Ssl/pw", "PwdPw"}},
        {"dbi:pgsql://u:Dbi%3Apw@h/db?pass=Pass2", {"Dbi%3Apw", "Dbi:pw", "Pass2"}},
        {"postgres:?host=127.0.0.1&password=Opaque1&application_name=x://y:z", {"Opaque1"}},
        {"mysql://127.0.0.1:3306/d?x@y&username=u&password=AtFlag1", {"AtFlag1"}},
        {"postgres://u:Multi%2Fpw@h1:5432,h2:5433/app?target_session_attrs=read-write",
         {"Multi%2Fpw", "Multi/pw"}},
        {"host=127.0.0.1 dbname=app user=u password=KvSecret1", {"KvSecret1"}},
        {"host=h password='Kv Quoted\\'2' sslpassword=KvSsl3", {"Kv Quoted'2", "KvSsl3"}},
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(cases); i++) {
        const char *url = cases[i].url;
        if (!libpq_reading("postgres:") && (!strstr(url, "://") || strchr(url, ',')))
            continue; /* a build without the PostgreSQL driver refuses these forms */
        char *shown = pm_url_redact(url);
        assert_non_null(shown);
        pm_buf sql = PM_BUF_INIT;
        pm_buf_append(&sql, "SELECT 1 FROM \"");
        for (size_t k = 0; k < 4 && cases[i].secrets[k]; k++)
            pm_buf_printf(&sql, "%s%s", k ? " " : "", cases[i].secrets[k]);
        pm_buf_append(&sql, "\"");
        char *text = pm_buf_detach(&sql);
        assert_non_null(text);

        pm_db *db = open_on_memory(url);
        pm_error err = PM_ERROR_INIT;
        assert_int_equal(pm__db_exec(db, text, &err), PM_EDB);
        assert_non_null(strstr(err.message, "no such table: ***"));
        for (size_t k = 0; k < 4 && cases[i].secrets[k]; k++) {
            assert_hidden("the redaction", url, shown, cases[i].secrets[k]);
            assert_hidden("the scrubbed message", url, err.message, cases[i].secrets[k]);
            assert_hidden("the scrubbed statement", url, err.statement, cases[i].secrets[k]);
            assert_hidden("the connection's URL", url, pm_db_url(db), cases[i].secrets[k]);
        }
        pm_error_clear(&err);
        pm_db_close(db);
        free(text);
        free(shown);
    }
}

/* Found by fuzz_url: an error about refused text quoted the secret-looking
 * value after "&pwd=" inside a port; parse errors are scrubbed like the -v
 * line is redacted. */
static void test_url__parse_error_never_quotes_a_secret_of_refused_text(void **state)
{
    (void)state;
    pm_url *url = NULL;
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_url_parse(&url, "d://u:p@4:Fy&pwd={wou:161111", &err), PM_EURL);
    assert_null(url);
    assert_non_null(strstr(err.message, "is not a number"));
    assert_null(strstr(err.message, "{wou:161111"));
    assert_non_null(strstr(err.message, "pwd=***"));
    pm_error_clear(&err);
}

/* ==== Connection strings libpq reads itself ==== */

static void test_url__postgres_url_keeps_several_hosts_for_libpq(void **state)
{
    (void)state;
    if (!libpq_reading("postgres:"))
        skip(); /* built without the PostgreSQL driver */
    const char *text = "postgres://u:pw@h1:5432,[::1]:5433/app?target_session_attrs=read-write";
    pm_url *url = parse_ok(text);
    assert_string_equal(url->scheme, "postgres");
    assert_string_equal(url->host, "h1:5432,[::1]:5433");
    assert_int_equal(url->port, 0);
    assert_string_equal(url->password, "pw");
    assert_string_equal(url->text, text);
    assert_int_equal(url->is_conninfo, 0);
    pm_url_free(url);
    assert_redacts(text, "postgres://u:***@h1:5432,[::1]:5433/app?target_session_attrs=read-write");
}

/* Found by fuzz_url: libpq ends the user info at the first '@' before any
 * '/', across a '?', so it reads a password where the parser reads a query.
 * Such a URL is refused, and its redaction hides what libpq would send. */
static void test_url__at_sign_libpq_reads_as_user_info_is_refused_and_hidden(void **state)
{
    (void)state;
    if (!libpq_reading("postgres:"))
        skip(); /* built without the PostgreSQL driver */
    static const char *const texts[] = {
        "postgres://h?application_name=a:Sneaky1@c",
        "postgres://h?x=1:Sneaky1@h2/d?password=Sneaky2",
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(texts); i++) {
        pm_url *url = NULL;
        pm_error err = PM_ERROR_INIT;
        assert_int_equal(pm_url_parse(&url, texts[i], &err), PM_EURL);
        if (!strstr(err.message, "in the query of a URL without a path") ||
            strstr(err.message, "Sneaky"))
            fail_msg("\"%s\": message \"%s\"", texts[i], err.message);
        pm_error_clear(&err);
    }
    assert_redacts(texts[0], "postgres://h?application_name=a:***@c");
    assert_redacts(texts[1], "postgres://h?x=1:***@h2/d?password=***");
    /* A URL of a driver that reads it with the parser keeps its meaning. */
    assert_redacts("mysql://127.0.0.1:3306?x@y&password=SECRET",
                   "mysql://127.0.0.1:3306?x@y&password=***");
}

static void test_url__key_value_string_goes_to_the_driver_whose_library_reads_it(void **state)
{
    (void)state;
    if (!libpq_reading("postgres:"))
        skip(); /* built without the PostgreSQL driver */
    const char *text = "host=127.0.0.1 port=5432 dbname=app target_session_attrs=read-write";
    pm_url *url = parse_ok(text);
    assert_string_equal(url->scheme, "postgres");
    assert_int_equal(url->is_conninfo, 1);
    assert_string_equal(url->text, text);
    assert_null(url->host);
    assert_null(url->password);
    pm_url_free(url);
    url = parse_ok("service=app passfile=/run/secrets/pgpass");
    assert_int_equal(url->is_conninfo, 1);
    pm_url_free(url);
}

static void test_url__key_value_string_is_shown_as_libpq_reads_it(void **state)
{
    (void)state;
    if (!libpq_reading("postgres:"))
        skip(); /* built without the PostgreSQL driver */
    assert_redacts("host=127.0.0.1 dbname=app user=u password=KvSecret1",
                   "user=u password=*** dbname=app host=127.0.0.1");
    assert_redacts("host = h  password = 'a b\\'c' sslpassword=x dbname=''",
                   "password=*** dbname='' host=h sslpassword=***");
    assert_redacts("host=h1,h2 port=5432,5433 passfile=/p service=s",
                   "service=s passfile=/p host=h1,h2 port=5432,5433");
}

static void
test_url__key_value_string_no_library_reads_is_refused_without_its_password(void **state)
{
    (void)state;
    if (!libpq_reading("postgres:"))
        skip(); /* built without the PostgreSQL driver */
    static const char *const texts[] = {
        "hots=h password=Refused1",
        "host=h password='Refused1",
        "host=h password=Refused1 oops",
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(texts); i++) {
        pm_url *url = NULL;
        pm_error err = PM_ERROR_INIT;
        assert_int_equal(pm_url_parse(&url, texts[i], &err), PM_EURL);
        assert_null(url);
        if (!strstr(err.message, "no driver reads it as a key=value connection string") ||
            strstr(err.message, "Refused1"))
            fail_msg("\"%s\": message \"%s\"", texts[i], err.message);
        pm_error_clear(&err);
        char *shown = pm_url_redact(texts[i]);
        assert_non_null(shown);
        if (strstr(shown, "Refused1"))
            fail_msg("\"%s\" is shown as \"%s\"", texts[i], shown);
        free(shown);
    }
    /* Without a password, libpq's own reason is quoted. */
    pm_url *url = NULL;
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_url_parse(&url, "hots=h dbname=app", &err), PM_EURL);
    assert_non_null(strstr(err.message, "libpq: invalid connection option \"hots\""));
    pm_error_clear(&err);
}

static void test_url__driver_message_never_shows_query_password(void **state)
{
    (void)state;
    pm_db *db = open_on_memory("postgres://h/db?sslmode=require&password=Tbl%5Fpw");
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm__db_exec(db, "SELECT 1 FROM Tbl_pw", &err), PM_EDB);
    assert_string_equal(err.message, "no such table: ***");
    assert_string_equal(err.statement, "SELECT 1 FROM ***");
    pm_error_clear(&err);
    assert_int_equal(pm__db_exec(db, "SELECT 1 FROM \"Tbl%5Fpw\"", &err), PM_EDB);
    assert_string_equal(err.message, "no such table: ***");
    assert_string_equal(err.statement, "SELECT 1 FROM \"***\"");
    pm_error_clear(&err);
    /* Text that is not a secret is left as it was. */
    assert_int_equal(pm__db_exec(db, "SELECT 1 FROM Tbl_p", &err), PM_EDB);
    assert_string_equal(err.message, "no such table: Tbl_p");
    pm_error_clear(&err);
    pm_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url__parses_postgres_url_with_all_parts),
        cmocka_unit_test(test_url__absent_parts_are_null),
        cmocka_unit_test(test_url__percent_decodes_password_with_special_characters),
        cmocka_unit_test(test_url__parses_ipv6_host_and_port),
        cmocka_unit_test(test_url__sqlite_memory_is_opaque_path),
        cmocka_unit_test(test_url__sqlite_relative_and_absolute_paths),
        cmocka_unit_test(test_url__dbi_scheme_has_subscheme),
        cmocka_unit_test(test_url__query_params_decoded),
        cmocka_unit_test(test_url__rejects_bad_input_with_named_fault),
        cmocka_unit_test(test_url__rejects_null_arguments),
        cmocka_unit_test(test_url__redacts_password_in_userinfo),
        cmocka_unit_test(test_url__redacts_password_query_params),
        cmocka_unit_test(test_url__redacts_unparseable_text),
        cmocka_unit_test(test_url__redact_leaves_urls_without_password_unchanged),
        cmocka_unit_test(test_url__redact_ignores_scheme_separator_inside_query),
        cmocka_unit_test(test_url__redact_ignores_at_sign_in_query_flag),
        cmocka_unit_test(test_url__secrets_found_as_written_and_decoded),
        cmocka_unit_test(test_url__scrub_hides_secrets_in_every_error_field),
        cmocka_unit_test(test_url__scrub_replaces_longer_secret_first),
        cmocka_unit_test(test_url__redaction_and_scrubbing_agree),
        cmocka_unit_test(test_url__finder_returns_exactly_what_the_parser_reads),
        cmocka_unit_test(test_url__redaction_hides_password_holding_raw_slash_equals_or_query),
        cmocka_unit_test(test_url__scrub_leaves_words_that_merely_contain_the_password),
        cmocka_unit_test(test_url__scrub_hides_whole_occurrences_however_short),
        cmocka_unit_test(test_url__scrub_hides_query_parameter_passwords),
        cmocka_unit_test(test_url__driver_message_never_shows_query_password),
        cmocka_unit_test(test_url__parse_error_never_quotes_a_secret_of_refused_text),
        cmocka_unit_test(test_url__postgres_url_keeps_several_hosts_for_libpq),
        cmocka_unit_test(test_url__at_sign_libpq_reads_as_user_info_is_refused_and_hidden),
        cmocka_unit_test(test_url__key_value_string_goes_to_the_driver_whose_library_reads_it),
        cmocka_unit_test(test_url__key_value_string_is_shown_as_libpq_reads_it),
        cmocka_unit_test(
            test_url__key_value_string_no_library_reads_is_refused_without_its_password),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
