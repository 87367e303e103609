/* test_checksum.c: pm_checksum(), the "sha256:<hex>" of a migration's text
 * with a leading UTF-8 BOM removed and CRLF turned into LF, and the checksum
 * the build records for each compiled-in migration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poblysh/migrations.h"
#include "testutil.h"

extern const pm_migration m2024_01_01_000001_create_tenants;

#define BOM "\xEF\xBB\xBF"

/* The checksum of a NUL-terminated text; fails the test on error. */
static void sum_of(char out[PM_CHECKSUM_SIZE], const void *text, size_t length)
{
    pm_error err = PM_ERROR_INIT;
    memset(out, 'x', PM_CHECKSUM_SIZE);
    pm_test_ok(pm_checksum(out, text, length, &err), &err);
    assert_null(err.message);
    pm_error_clear(&err);
}

#define SUM(buf, literal) sum_of((buf), (literal), sizeof(literal) - 1)

static void assert_well_formed(const char *sum)
{
    assert_int_equal(strlen(sum), PM_CHECKSUM_SIZE - 1);
    assert_memory_equal(sum, "sha256:", 7);
    for (const char *p = sum + 7; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            fail_msg("\"%s\" is not lowercase hex after sha256:", sum);
}

/* ==== Known vectors ==== */

static void test_checksum__abc_is_the_sha256_test_vector(void **state)
{
    (void)state;
    char sum[PM_CHECKSUM_SIZE];
    SUM(sum, "abc");
    assert_well_formed(sum);
    assert_string_equal(sum,
                        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_checksum__empty_text(void **state)
{
    (void)state;
    char sum[PM_CHECKSUM_SIZE];
    sum_of(sum, "", 0);
    assert_string_equal(sum,
                        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* Only a BOM is empty text too. */
    char bom_only[PM_CHECKSUM_SIZE];
    SUM(bom_only, BOM);
    assert_string_equal(bom_only, sum);
}

/* The length is what counts, not a NUL: bytes after it are ignored and a
 * NUL inside is hashed. */
static void test_checksum__length_is_respected(void **state)
{
    (void)state;
    char abc[PM_CHECKSUM_SIZE], longer[PM_CHECKSUM_SIZE], with_nul[PM_CHECKSUM_SIZE];
    SUM(abc, "abc");
    sum_of(longer, "abcdef", 3);
    assert_string_equal(longer, abc);
    sum_of(with_nul, "abc\0", 4);
    assert_string_not_equal(with_nul, abc);
}

/* ==== Normalization ==== */

static void test_checksum__crlf_and_lf_hash_alike(void **state)
{
    (void)state;
    char lf[PM_CHECKSUM_SIZE], crlf[PM_CHECKSUM_SIZE], mixed[PM_CHECKSUM_SIZE];
    SUM(lf, "line one\nline two\n\nline four\n");
    SUM(crlf, "line one\r\nline two\r\n\r\nline four\r\n");
    SUM(mixed, "line one\r\nline two\n\r\nline four\n");
    assert_string_equal(crlf, lf);
    assert_string_equal(mixed, lf);

    /* At the very start and the very end too. */
    char a[PM_CHECKSUM_SIZE], b[PM_CHECKSUM_SIZE];
    SUM(a, "\n");
    SUM(b, "\r\n");
    assert_string_equal(a, b);
    SUM(a, "\n\nx");
    SUM(b, "\r\n\r\nx");
    assert_string_equal(a, b);
}

static void test_checksum__leading_bom_is_ignored(void **state)
{
    (void)state;
    char plain[PM_CHECKSUM_SIZE], bom[PM_CHECKSUM_SIZE], bom_crlf[PM_CHECKSUM_SIZE];
    SUM(plain, "CREATE TABLE t (id INTEGER);\n");
    SUM(bom, BOM "CREATE TABLE t (id INTEGER);\n");
    SUM(bom_crlf, BOM "CREATE TABLE t (id INTEGER);\r\n");
    assert_string_equal(bom, plain);
    assert_string_equal(bom_crlf, plain);

    /* Only one leading BOM: a second one, or one later on, is text. */
    char other[PM_CHECKSUM_SIZE];
    SUM(other, BOM BOM "CREATE TABLE t (id INTEGER);\n");
    assert_string_not_equal(other, plain);
    SUM(other, "CREATE TABLE t (id INTEGER);\n" BOM);
    assert_string_not_equal(other, plain);
    SUM(other, " " BOM "CREATE TABLE t (id INTEGER);\n");
    assert_string_not_equal(other, bom);
    /* A truncated BOM is not a BOM. */
    char ab[PM_CHECKSUM_SIZE];
    SUM(ab, "ab");
    SUM(other, "\xEF\xBB"
               "ab");
    assert_string_not_equal(other, ab);
    SUM(other, "\xEF"
               "ab");
    assert_string_not_equal(other, ab);
}

static void test_checksum__lone_cr_is_kept(void **state)
{
    (void)state;
    char lf[PM_CHECKSUM_SIZE], cr[PM_CHECKSUM_SIZE], none[PM_CHECKSUM_SIZE];
    SUM(lf, "a\nb");
    SUM(cr, "a\rb");
    SUM(none, "ab");
    assert_string_not_equal(cr, lf);
    assert_string_not_equal(cr, none);

    /* A CR at the very end, or at the start, is kept. */
    char a[PM_CHECKSUM_SIZE], b[PM_CHECKSUM_SIZE];
    SUM(a, "a");
    SUM(b, "a\r");
    assert_string_not_equal(a, b);
    SUM(b, "\ra");
    assert_string_not_equal(a, b);

    /* Of "\r\r\n" only the last CR goes: it is not "\n". */
    SUM(a, "x\r\r\ny");
    SUM(b, "x\r\ny");
    assert_string_not_equal(a, b);
    SUM(b, "x\ny");
    assert_string_not_equal(a, b);
    /* LF CR is not CRLF. */
    SUM(a, "x\n\ry");
    SUM(b, "x\ny");
    assert_string_not_equal(a, b);
}

/* Every one-byte change, insertion or deletion gives another checksum. */
static void test_checksum__any_edit_changes_it(void **state)
{
    (void)state;
    static const char text[] = "static int up(pm_schema *s, const void *d)\n{\n    return 0;\n}\n";
    const size_t n = sizeof(text) - 1;
    char original[PM_CHECKSUM_SIZE], edited[PM_CHECKSUM_SIZE];
    sum_of(original, text, n);
    char copy[sizeof(text) + 1];
    for (size_t i = 0; i < n; i++) {
        memcpy(copy, text, n);
        copy[i] = (char)(copy[i] ^ 0x20);
        sum_of(edited, copy, n);
        if (strcmp(edited, original) == 0)
            fail_msg("changing byte %zu did not change the checksum", i);
        /* deleting byte i */
        memcpy(copy, text, i);
        memcpy(copy + i, text + i + 1, n - i - 1);
        sum_of(edited, copy, n - 1);
        if (strcmp(edited, original) == 0)
            fail_msg("deleting byte %zu did not change the checksum", i);
    }
    memcpy(copy, text, n);
    copy[n] = ' ';
    sum_of(edited, copy, n + 1);
    assert_string_not_equal(edited, original);
}

/* ==== Large text ==== */

static void test_checksum__large_text(void **state)
{
    (void)state;
    enum { MILLION = 1000000 };
    char *text = malloc(MILLION);
    assert_non_null(text);
    memset(text, 'a', MILLION);
    char sum[PM_CHECKSUM_SIZE];
    sum_of(sum, text, MILLION);
    free(text);
    /* FIPS 180-2's one million 'a's. */
    assert_string_equal(sum,
                        "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

    /* A megabyte of short lines: CRLF and LF alike, one CR less differs. */
    enum { LINES = 1 << 17 }; /* 8 bytes a line with CRLF: 1 MiB */
    char *crlf = malloc((size_t)LINES * 8), *lf = malloc((size_t)LINES * 7);
    assert_non_null(crlf);
    assert_non_null(lf);
    for (size_t i = 0; i < LINES; i++) {
        memcpy(crlf + i * 8, "line!\r\n", 7);
        crlf[i * 8 + 7] = (char)('a' + i % 26);
        memcpy(lf + i * 7, "line!\n", 6);
        lf[i * 7 + 6] = (char)('a' + i % 26);
    }
    char a[PM_CHECKSUM_SIZE], b[PM_CHECKSUM_SIZE];
    sum_of(a, crlf, (size_t)LINES * 8);
    sum_of(b, lf, (size_t)LINES * 7);
    assert_string_equal(a, b);
    crlf[(size_t)LINES * 4 + 6] = ' '; /* a CRLF in the middle becomes CR + space */
    sum_of(a, crlf, (size_t)LINES * 8);
    assert_string_not_equal(a, b);
    free(crlf);
    free(lf);
}

/* ==== The compiled-in migration ==== */

/* The repository's root, from this file's path (absolute in CMake builds):
 * <root>/tests/unit/test_checksum.c. malloc'd. */
static char *repo_path(const char *relative)
{
    static const char self[] = "tests/unit/test_checksum.c";
    const char *file = __FILE__;
    size_t n = strlen(file);
    if (n < sizeof(self) - 1 || strcmp(file + n - (sizeof(self) - 1), self) != 0)
        fail_msg("cannot find the repository from __FILE__ \"%s\"", file);
    size_t root = n - (sizeof(self) - 1);
    char *path = malloc(root + strlen(relative) + 1);
    assert_non_null(path);
    memcpy(path, file, root);
    strcpy(path + root, relative);
    return path;
}

static char *read_whole(const char *path, size_t *length)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot open %s", path);
    size_t cap = 4096, len = 0, got;
    char *text = malloc(cap);
    assert_non_null(text);
    while ((got = fread(text + len, 1, cap - len, fp)) > 0) {
        len += got;
        if (len == cap) {
            cap *= 2;
            char *grown = realloc(text, cap);
            assert_non_null(grown);
            text = grown;
        }
    }
    fclose(fp);
    *length = len;
    return text;
}

static void test_checksum__compiled_in_migration_matches_its_file(void **state)
{
    (void)state;
    const pm_migration *m = &m2024_01_01_000001_create_tenants;
    assert_string_equal(m->name, "m2024_01_01_000001_create_tenants");
    assert_non_null(m->checksum);
    assert_well_formed(m->checksum);

    char *path = repo_path("migrations/m2024_01_01_000001_create_tenants.c");
    size_t length = 0;
    char *text = read_whole(path, &length);
    free(path);
    assert_true(length > 0);
    char sum[PM_CHECKSUM_SIZE];
    sum_of(sum, text, length);
    assert_string_equal(sum, m->checksum);

    /* The same file checked out with CRLF line endings and a BOM. */
    char *windows = malloc(3 + 2 * length);
    assert_non_null(windows);
    size_t w = 0;
    memcpy(windows, BOM, 3);
    w = 3;
    for (size_t i = 0; i < length; i++) {
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r'))
            windows[w++] = '\r';
        windows[w++] = text[i];
    }
    assert_true(w > length + 3); /* it has lines */
    char converted[PM_CHECKSUM_SIZE];
    sum_of(converted, windows, w);
    assert_string_equal(converted, m->checksum);

    /* One more space is another migration. */
    text[length - 1] = ' ';
    sum_of(sum, text, length);
    assert_string_not_equal(sum, m->checksum);
    free(windows);
    free(text);
}

/* The registry hands out the same object, checksum and all. */
static void test_checksum__builtin_set_carries_the_checksum(void **state)
{
    (void)state;
    size_t count = 0;
    const pm_migration *const *set = pm_builtin_migrations(&count);
    assert_true(count >= 1);
    assert_ptr_equal(set[0], &m2024_01_01_000001_create_tenants);
    for (size_t i = 0; i < count; i++) {
        assert_non_null(set[i]->checksum);
        assert_well_formed(set[i]->checksum);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksum__abc_is_the_sha256_test_vector),
        cmocka_unit_test(test_checksum__empty_text),
        cmocka_unit_test(test_checksum__length_is_respected),
        cmocka_unit_test(test_checksum__crlf_and_lf_hash_alike),
        cmocka_unit_test(test_checksum__leading_bom_is_ignored),
        cmocka_unit_test(test_checksum__lone_cr_is_kept),
        cmocka_unit_test(test_checksum__any_edit_changes_it),
        cmocka_unit_test(test_checksum__large_text),
        cmocka_unit_test(test_checksum__compiled_in_migration_matches_its_file),
        cmocka_unit_test(test_checksum__builtin_set_carries_the_checksum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
