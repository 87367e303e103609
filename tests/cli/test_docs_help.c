/* test_docs_help.c: the --help texts quoted in README.md and the docs/ Markdown files are
 * the binary's, so the docs cannot drift. A quoted help is a ```text block
 * whose first line is either
 *   "$ poblysh ARGS... --help": then every "$ poblysh ... --help" line of the
 *       block is run (with the standalone binary) and the lines up to the next
 *       "$ " line or the block's end must be its stdout (other "$ " lines are
 *       examples, not checked), or
 *   "Usage: poblysh": the whole block must be `poblysh --help`'s stdout.
 * A line holding only "..." skips output: what follows it must come later in
 * the output, in order, after any number of lines left out. A mismatch fails
 * with `diff -u` of the quoted text against the output.
 * Run as: test_docs_help <path to poblysh> <source dir> <work dir>. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testproc.h"

static const char *source_dir;

#define MAX_LINES 4096
#define ELIDED "..."

/* ==== Reading a file as lines ==== */

typedef struct lines {
    char *items[MAX_LINES];
    size_t n;
} lines;

/* Splits text (modified in place) at newlines; a last empty line is dropped. */
static void split_lines(char *text, lines *out)
{
    out->n = 0;
    char *p = text;
    while (*p && out->n < MAX_LINES) {
        char *nl = strchr(p, '\n');
        out->items[out->n++] = p;
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
}

static char *slurp(fixture *f, const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    rewind(fp);
    char *text = keep(f, calloc(1, (size_t)size + 1));
    assert_non_null(text);
    size_t got = fread(text, 1, (size_t)size, fp);
    text[got] = '\0';
    fclose(fp);
    return text;
}

/* ==== Comparing one quoted help ==== */

/* Whether expected (with "..." lines) matches actual, line for line. */
static bool matches(char *const *expected, size_t nexp, char *const *actual, size_t nact)
{
    size_t a = 0;
    for (size_t e = 0; e < nexp; e++) {
        if (strcmp(expected[e], ELIDED) == 0) {
            if (e + 1 == nexp)
                return true; /* a trailing "..." skips the rest */
            while (a < nact && strcmp(actual[a], expected[e + 1]) != 0)
                a++;
            if (a == nact)
                return false;
            continue;
        }
        if (a >= nact || strcmp(expected[e], actual[a]) != 0)
            return false;
        a++;
    }
    return a == nact;
}

static void write_lines(const char *path, char *const *items, size_t n)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (size_t i = 0; i < n; i++)
        fprintf(fp, "%s\n", items[i]);
    fclose(fp);
}

/* Prints `diff -u quoted output` for a mismatch. */
static void show_diff(fixture *f, const char *where, char *const *expected, size_t nexp,
                      char *const *actual, size_t nact)
{
    char *quoted = fmt(f, "%s/quoted.txt", f->dir), *output = fmt(f, "%s/output.txt", f->dir);
    write_lines(quoted, expected, nexp);
    write_lines(output, actual, nact);
    print_error("%s: the quoted help differs from the binary's (-quoted +binary; a line "
                "\"...\" in the docs skips output):\n",
                where);
    fflush(stdout);
    fflush(stderr);
    char *cmd = fmt(f, "diff -u --label quoted --label binary '%s' '%s' >&2", quoted, output);
    if (system(cmd) == -1)
        print_error("(diff could not be run)\n");
}

/* Runs "$ poblysh a b c" (the line after "$ ") and compares its stdout with
 * expected; returns 1 on a mismatch. */
static int check_command(fixture *f, const char *where, const char *command, char *const *expected,
                         size_t nexp)
{
    char *copy = fmt(f, "%s", command);
    const char *args[32];
    size_t nargs = 0;
    strtok(copy, " "); /* "poblysh" */
    for (char *w = strtok(NULL, " "); w && nargs < 31; w = strtok(NULL, " "))
        args[nargs++] = w;
    args[nargs] = NULL;
    const run_result *r = run_cli(f, LOCAL, args);
    if (r->status != 0) {
        print_error("%s: `%s` exited %d: %s\n", where, command, r->status, r->err);
        return 1;
    }
    lines *out = keep(f, calloc(1, sizeof(lines)));
    split_lines(fmt(f, "%s", r->out), out);
    if (matches(expected, nexp, out->items, out->n))
        return 0;
    show_diff(f, fmt(f, "%s, `%s`", where, command), expected, nexp, out->items, out->n);
    return 1;
}

static bool quotes_help(const char *first)
{
    return strncmp(first, "Usage: poblysh", 14) == 0 ||
           (strncmp(first, "$ poblysh ", 10) == 0 && strstr(first, " --help") &&
            strcmp(first + strlen(first) - 7, " --help") == 0);
}

/* Checks the block of lines [start, end) of file; *checked counts the
 * commands compared. Returns the number of mismatches. */
static int check_block(fixture *f, const char *file, const lines *doc, size_t start, size_t end,
                       int *checked)
{
    int mismatches = 0;
    if (strncmp(doc->items[start], "Usage: poblysh", 14) == 0) {
        (*checked)++;
        return check_command(f, fmt(f, "%s:%zu", file, start + 1), "poblysh --help",
                             &doc->items[start], end - start);
    }
    for (size_t i = start; i < end;) {
        size_t next = i + 1;
        while (next < end && strncmp(doc->items[next], "$ ", 2) != 0)
            next++;
        if (quotes_help(doc->items[i])) { /* other commands of the block are examples */
            (*checked)++;
            mismatches += check_command(f, fmt(f, "%s:%zu", file, i + 1), doc->items[i] + 2,
                                        &doc->items[i + 1], next - i - 1);
        }
        i = next;
    }
    return mismatches;
}

/* Checks every quoted help of one Markdown file. */
static int check_file(fixture *f, const char *file, int *checked)
{
    lines *doc = keep(f, calloc(1, sizeof(lines)));
    split_lines(slurp(f, fmt(f, "%s/%s", source_dir, file)), doc);
    int mismatches = 0;
    for (size_t i = 0; i + 1 < doc->n; i++) {
        if (strcmp(doc->items[i], "```text") != 0 || !quotes_help(doc->items[i + 1]))
            continue;
        size_t end = i + 1;
        while (end < doc->n && strcmp(doc->items[end], "```") != 0)
            end++;
        mismatches += check_block(f, file, doc, i + 1, end, checked);
        i = end;
    }
    return mismatches;
}

/* ==== Tests ==== */

static void test_docs_help__every_quoted_help_is_the_binarys(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "docs_help");
    int checked = 0, mismatches = check_file(f, "README.md", &checked);
    DIR *d = opendir(fmt(f, "%s/docs", source_dir));
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n > 3 && strcmp(e->d_name + n - 3, ".md") == 0)
            mismatches += check_file(f, fmt(f, "docs/%s", e->d_name), &checked);
    }
    closedir(d);
    /* README's usage, its status help and workflow.md's command helps at least */
    if (checked < 10)
        fail_msg("only %d quoted helps found: are the markers still as this test expects?",
                 checked);
    if (mismatches)
        fail_msg("%d of %d quoted helps differ from the binary (diffs above)", mismatches, checked);
}

/* The comparison itself: an edited line or a missing one is caught, "..."
 * skips lines, and a trailing "..." skips the rest. */
static void test_docs_help__matching_rules(void **state)
{
    (void)state;
    char *out[] = {"Usage: x", "", "  -a  one", "  -b  two", "end"};
    char *same[] = {"Usage: x", "", "  -a  one", "  -b  two", "end"};
    char *edited[] = {"Usage: x", "", "  -a  uno", "  -b  two", "end"};
    char *short_[] = {"Usage: x", "", "  -a  one", "  -b  two"};
    char *elided[] = {"Usage: x", ELIDED, "  -b  two", "end"};
    char *tail[] = {"Usage: x", ELIDED};
    char *wrong_order[] = {"Usage: x", ELIDED, "end", "  -b  two"};
    assert_true(matches(same, 5, out, 5));
    assert_false(matches(edited, 5, out, 5));
    assert_false(matches(short_, 4, out, 5));
    assert_true(matches(elided, 4, out, 5));
    assert_true(matches(tail, 2, out, 5));
    assert_false(matches(wrong_order, 4, out, 5));
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s <path to poblysh> <source dir> <work dir>\n", argv[0]);
        return 2;
    }
    cli_path = absolute_path(argv[1]);
    source_dir = argv[2];
    work_root = make_dir(argv[3]) == 0 ? absolute_path(argv[3]) : NULL;
    if (!cli_path || access(cli_path, X_OK) != 0 || !work_root) {
        fprintf(stderr, "test_docs_help: bad binary %s or work dir %s\n", argv[1], argv[3]);
        return 2;
    }
    const struct CMUnitTest tests[] = {
        TEST(test_docs_help__matching_rules),
        TEST(test_docs_help__every_quoted_help_is_the_binarys),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    free((char *)cli_path);
    free((char *)work_root);
    return failed;
}
