/* test_manpages.c: keeps man/poblysh.1, man/poblysh-migrate.1 and the bash and
 * zsh completions true to the built binary's --help, in both directions: the
 * commands, every option, the exit codes and the environment variables.
 * Run as: test_manpages <path to poblysh> <man dir> <completions dir> <work dir>. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testproc.h"

static const char *man_dir;
static const char *completions_dir;

/* ==== Sets of strings ==== */

#define SET_MAX 256

/* A small set of strings that live until teardown, in insertion order. */
typedef struct strset {
    const char *items[SET_MAX];
    size_t n;
} strset;

static bool set_has(const strset *s, const char *x)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->items[i], x) == 0)
            return true;
    return false;
}

static void set_add(fixture *f, strset *s, const char *start, size_t len)
{
    char *x = fmt(f, "%.*s", (int)len, start);
    if (set_has(s, x))
        return;
    assert_true(s->n < SET_MAX);
    s->items[s->n++] = x;
}

static void set_add_all(fixture *f, strset *s, const strset *from)
{
    for (size_t i = 0; i < from->n; i++)
        set_add(f, s, from->items[i], strlen(from->items[i]));
}

static char *set_text(fixture *f, const strset *s)
{
    char *text = fmt(f, "%s", "");
    for (size_t i = 0; i < s->n; i++)
        text = fmt(f, "%s%s%s", text, i ? " " : "", s->items[i]);
    return text;
}

/* Prints, one a line, each member of items that in lacks; returns how many. */
static int report_missing(const strset *items, const strset *in, const char *items_name,
                          const char *in_name)
{
    int missing = 0;
    for (size_t i = 0; i < items->n; i++)
        if (!set_has(in, items->items[i])) {
            print_error("%s: in %s, missing from %s\n", items->items[i], items_name, in_name);
            missing++;
        }
    return missing;
}

static void assert_no_mismatch(int mismatches)
{
    if (mismatches)
        fail_msg("%d mismatch(es), listed above", mismatches);
}

/* ==== Reading options out of text ==== */

static bool is_word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* Length of the option token (--long-name or -x) at p, or 0. A token starts a
 * word: golang-migrate, a-z and SHA-256 hold none. */
static size_t option_at(const char *text, const char *p)
{
    if (*p != '-' || (p > text && is_word_char(p[-1])))
        return 0;
    if (p[1] == '-' && islower((unsigned char)p[2])) {
        size_t n = 2;
        while (islower((unsigned char)p[n]) || isdigit((unsigned char)p[n]) || p[n] == '-')
            n++;
        while (p[n - 1] == '-')
            n--;
        return n;
    }
    if (isalpha((unsigned char)p[1]) && !is_word_char(p[2]))
        return 2;
    return 0;
}

/* Adds every option token of text to s. */
static void add_options(fixture *f, strset *s, const char *text)
{
    for (const char *p = text; *p; p++) {
        size_t n = option_at(text, p);
        if (n) {
            set_add(f, s, p, n);
            p += n - 1;
        }
    }
}

/* Adds the long options (--name) of text to s. */
static void add_long_options(fixture *f, strset *s, const char *text)
{
    for (const char *p = text; *p; p++) {
        size_t n = option_at(text, p);
        if (n > 2) {
            set_add(f, s, p, n);
            p += n - 1;
        }
    }
}

/* Adds the options that begin a line of help, "  -n, --num N  ...": the
 * options the help lists, as opposed to those it mentions. */
static void add_listed_options(fixture *f, strset *s, const char *help)
{
    for (const char *line = help; *line;) {
        const char *p = line + strspn(line, " ");
        size_t n;
        while ((n = option_at(help, p)) > 0) {
            set_add(f, s, p, n);
            p += n;
            if (p[0] == ',' && p[1] == ' ')
                p += 2;
        }
        line += strcspn(line, "\n");
        line += *line == '\n';
    }
}

/* ==== Reading the help ==== */

static const char *help_of(fixture *f, const char *const *args)
{
    const run_result *r = run_cli(f, LOCAL, args);
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_true(*r->out);
    return r->out;
}

/* The lines after the line of help that ends with header, up to a blank line. */
static const char *help_section(fixture *f, const char *help, const char *header)
{
    size_t hlen = strlen(header);
    for (const char *line = help; *line;) {
        size_t len = strcspn(line, "\n");
        if (len >= hlen && strncmp(line + len - hlen, header, hlen) == 0) {
            const char *start = line + len + (line[len] == '\n');
            const char *end = strstr(start, "\n\n");
            return fmt(f, "%.*s", (int)(end ? (size_t)(end - start) + 1 : strlen(start)), start);
        }
        line += len + (line[len] == '\n');
    }
    fail_msg("no \"%s\" section in the help:\n%s", header, help);
    return NULL;
}

/* The first word of each line of text (after "migrate " if the line starts
 * with it), or only those words that are whole numbers. */
static void add_first_words(fixture *f, strset *s, const char *text, bool numbers_only)
{
    for (const char *line = text; *line;) {
        size_t indent = strspn(line, " ");
        const char *p = line + indent;
        if (strncmp(p, "database ", 9) == 0) { /* another group: database_commands */
            line += strcspn(line, "\n");
            line += *line == '\n';
            continue;
        }
        if (strncmp(p, "migrate ", 8) == 0)
            p += 8;
        size_t n = strcspn(p, " \n");
        bool number = n > 0 && strspn(p, "0123456789") == n;
        /* Continuation lines of a description are indented past the names. */
        if (n > 0 && indent <= 4 && (!numbers_only || number))
            set_add(f, s, p, n);
        line += strcspn(line, "\n");
        line += *line == '\n';
    }
}

/* The names of the "database NAME" lines of text. */
static void add_database_commands(fixture *f, strset *s, const char *text)
{
    for (const char *line = text; *line;) {
        const char *p = line + strspn(line, " ");
        if (strncmp(p, "database ", 9) == 0)
            set_add(f, s, p + 9, strcspn(p + 9, " \n"));
        line += strcspn(line, "\n");
        line += *line == '\n';
    }
}

/* What --help says: the program's help, and each command's. */
typedef struct help {
    const char *program;
    strset commands;
    const char *command_help[SET_MAX];
    strset database_commands; /* database create|drop|reset */
    strset global;            /* the options the program help lists under "Options:" */
    strset everyone;          /* every option any help mentions */
} help;

static help *load_help(fixture *f)
{
    help *h = keep(f, calloc(1, sizeof(*h)));
    assert_non_null(h);
    h->program = help_of(f, ARGS("--help"));
    add_first_words(f, &h->commands, help_section(f, h->program, "Commands:"), false);
    assert_true(h->commands.n > 0);
    add_listed_options(f, &h->global, help_section(f, h->program, "Options:"));
    assert_true(h->global.n > 0);
    add_options(f, &h->everyone, h->program);
    for (size_t i = 0; i < h->commands.n; i++) {
        h->command_help[i] = help_of(f, ARGS("migrate", h->commands.items[i], "--help"));
        add_options(f, &h->everyone, h->command_help[i]);
    }
    add_database_commands(f, &h->database_commands, help_section(f, h->program, "Commands:"));
    assert_true(h->database_commands.n > 0);
    for (size_t i = 0; i < h->database_commands.n; i++)
        add_options(f, &h->everyone,
                    help_of(f, ARGS("database", h->database_commands.items[i], "--help")));
    return h;
}

/* ==== Reading the man pages ==== */

static char *read_text(fixture *f, const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0;
    int c;
    while ((c = fgetc(fp)) != EOF) {
        if (len + 2 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *more = realloc(text, cap);
            assert_non_null(more);
            text = more;
        }
        text[len++] = (char)c;
    }
    fclose(fp);
    if (!text)
        fail_msg("%s is empty", path);
    text[len] = '\0';
    return keep(f, text);
}

/* The character that stands for roff's \(xx, where name is xx: a quote, a
 * hyphen for the dashes, a space for anything else. */
static char special_char(const char *name)
{
    if (strncmp(name, "aq", 2) == 0)
        return '\'';
    if (strncmp(name, "en", 2) == 0 || strncmp(name, "em", 2) == 0 || strncmp(name, "hy", 2) == 0)
        return '-';
    return ' ';
}

/* The roff source as plain text to compare with the help: comments dropped,
 * \- read as -, font changes and \& \c removed, \(aq as ', dashes as -. */
static char *man_normalise(fixture *f, const char *roff)
{
    char *out = keep(f, malloc(strlen(roff) + 1));
    assert_non_null(out);
    char *o = out;
    for (const char *p = roff; *p;) {
        bool line_start = p == roff || p[-1] == '\n';
        if (line_start && (p[0] == '.' || p[0] == '\'') && p[1] == '\\' && p[2] == '"') {
            p += strcspn(p, "\n");
            p += *p == '\n';
            continue;
        }
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        switch (p[1]) {
        case '-':
            *o++ = '-';
            p += 2;
            break;
        case '&':
        case 'c': p += 2; break;
        case 'e':
            *o++ = '\\';
            p += 2;
            break;
        case '"': p += strcspn(p, "\n"); break;
        case 'f':
            if (p[2] == '(' && p[3] && p[4])
                p += 5;
            else if (p[2] == '[')
                p += strcspn(p, "]") + (strchr(p, ']') != NULL);
            else
                p += 2 + (p[2] != '\0');
            break;
        case '(':
            if (p[2] && p[3]) {
                *o++ = special_char(p + 2);
                p += 4;
            } else
                p += 2;
            break;
        case '\0': p++; break;
        default: *o++ = p[1]; p += 2;
        }
    }
    *o = '\0';
    return out;
}

static const char *load_man(fixture *f, const char *page)
{
    return man_normalise(f, read_text(f, fmt(f, "%s/%s", man_dir, page)));
}

/* The macro's argument when line (up to its newline) is ".MACRO arg", with
 * quotes removed; NULL otherwise. */
static const char *macro_arg(fixture *f, const char *line, const char *macro)
{
    size_t mlen = strlen(macro);
    if (line[0] != '.' || strncmp(line + 1, macro, mlen) != 0 || line[1 + mlen] != ' ')
        return NULL;
    const char *arg = line + 2 + mlen;
    char *out = fmt(f, "%.*s", (int)strcspn(arg, "\n"), arg);
    char *o = out;
    for (const char *q = out; *q; q++)
        if (*q != '"')
            *o++ = *q;
    *o = '\0';
    return out;
}

/* The text from ".<macro> <name>" to the next line of a macro in ends (".SH"
 * ends a section; ".SS" and ".SH" end a subsection); NULL when absent. */
static const char *man_part(fixture *f, const char *man, const char *macro, const char *name,
                            const char *const *ends)
{
    const char *start = NULL;
    for (const char *line = man; *line;) {
        if (start) {
            for (const char *const *e = ends; *e; e++)
                if (macro_arg(f, line, *e))
                    return fmt(f, "%.*s", (int)(line - start), start);
        } else {
            const char *arg = macro_arg(f, line, macro);
            if (arg && strcmp(arg, name) == 0)
                start = line;
        }
        line += strcspn(line, "\n");
        line += *line == '\n';
    }
    return start ? fmt(f, "%s", start) : NULL;
}

static const char *man_section(fixture *f, const char *man, const char *name)
{
    const char *s = man_part(f, man, "SH", name, (const char *const[]){"SH", NULL});
    if (!s)
        fail_msg("the man page has no section .SH \"%s\"", name);
    return s;
}

static const char *man_subsection(fixture *f, const char *section, const char *name)
{
    return man_part(f, section, "SS", name, (const char *const[]){"SH", "SS", NULL});
}

/* The names of the subsections (.SS) of text. */
static void add_subsection_names(fixture *f, strset *s, const char *text)
{
    for (const char *line = text; *line;) {
        const char *arg = macro_arg(f, line, "SS");
        if (arg)
            set_add(f, s, arg, strlen(arg));
        line += strcspn(line, "\n");
        line += *line == '\n';
    }
}

/* The tags of the .TP items of text: each line after a .TP line, its macro
 * (.B, .BI, ...) and quotes removed. */
static void add_tags(fixture *f, strset *s, const char *text)
{
    for (const char *line = text; *line;) {
        size_t len = strcspn(line, "\n");
        const char *next = line + len + (line[len] == '\n');
        if (strncmp(line, ".TP", 3) == 0 && (line[3] == '\n' || line[3] == ' ') && *next) {
            const char *tag = next;
            if (tag[0] == '.')
                tag += strcspn(tag, " \n");
            tag += strspn(tag, " ");
            char *t = fmt(f, "%.*s", (int)strcspn(tag, "\n"), tag);
            char *o = t;
            for (const char *q = t; *q; q++)
                if (*q != '"')
                    *o++ = *q;
            *o = '\0';
            set_add(f, s, t, strlen(t));
        }
        line = next;
    }
}

/* The options in the tags of the .TP items of text: what a page documents. */
static void add_tag_options(fixture *f, strset *s, const char *text)
{
    strset tags = {.n = 0};
    add_tags(f, &tags, text);
    for (size_t i = 0; i < tags.n; i++)
        add_options(f, s, tags.items[i]);
}

/* The first word of each tag of text. */
static void add_tag_words(fixture *f, strset *s, const char *text)
{
    strset tags = {.n = 0};
    add_tags(f, &tags, text);
    for (size_t i = 0; i < tags.n; i++)
        set_add(f, s, tags.items[i], strcspn(tags.items[i], " "));
}

/* ==== Running other programs ==== */

/* Where PATH finds program, or NULL. */
static const char *find_program(fixture *f, const char *program)
{
    static const char *const dirs[] = {"/usr/local/bin", "/usr/bin", "/bin"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char *path = fmt(f, "%s/%s", dirs[i], program);
        if (access(path, X_OK) == 0)
            return path;
    }
    return NULL;
}

/* Runs program (found on PATH, or the test fails saying how to install it)
 * with args, in dir (NULL: here). */
static const run_result *run_program(fixture *f, const char *program, const char *package,
                                     const char *dir, const char *const *args)
{
    const char *path = find_program(f, program);
    if (!path)
        fail_msg("%s is not installed, so this check cannot run: install %s (scripts/deps.sh "
                 "test does)",
                 program, package);
    size_t nargs = 0;
    while (args[nargs])
        nargs++;
    char **argv = keep(f, calloc(nargs + 2, sizeof(*argv)));
    assert_non_null(argv);
    argv[0] = (char *)program;
    for (size_t i = 0; i < nargs; i++)
        argv[i + 1] = (char *)args[i];
    char *envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C.UTF-8", NULL};
    pm_test_spawn_opts opts = {dir, true, false, NULL};
    child c;
    c.pid = pm_test_spawn(path, argv, envp, &opts, &c.out_fd, &c.err_fd);
    return collect(f, c);
}

/* ==== Commands ==== */

static void test_manpages__every_command_has_a_subsection_and_a_line_in_poblysh_1(void **state)
{
    fixture *f = *state;
    help *h = load_help(f);
    strset subsections = {.n = 0}, listed = {.n = 0};
    add_subsection_names(f, &subsections,
                         man_section(f, load_man(f, "poblysh-migrate.1"), "COMMANDS"));
    add_tag_words(f, &listed, man_section(f, load_man(f, "poblysh.1"), "COMMANDS"));

    int bad = report_missing(&h->commands, &subsections, "poblysh --help",
                             "poblysh-migrate(1) COMMANDS (.SS)");
    bad += report_missing(&subsections, &h->commands, "poblysh-migrate(1) COMMANDS (.SS)",
                          "poblysh --help");
    bad += report_missing(&h->commands, &listed, "poblysh --help", "poblysh(1) COMMANDS");
    bad += report_missing(&listed, &h->commands, "poblysh(1) COMMANDS", "poblysh --help");
    assert_no_mismatch(bad);
}

/* poblysh(1) describes each database command, and both completion scripts
 * offer it and, where the help has it, --yes. */
static void test_manpages__database_commands_are_documented_and_completed(void **state)
{
    fixture *f = *state;
    help *h = load_help(f);
    const char *man =
        man_section(f, load_man(f, "poblysh.1"), "CREATING AND DROPPING THE DATABASE");
    assert_non_null(man);
    const char *bash = read_text(f, fmt(f, "%s/poblysh.bash", completions_dir));
    const char *zsh = read_text(f, fmt(f, "%s/_poblysh", completions_dir));
    int bad = 0;
    for (size_t i = 0; i < h->database_commands.n; i++) {
        const char *name = h->database_commands.items[i];
        const char *help_text = help_of(f, ARGS("database", name, "--help"));
        const char *what[] = {man, bash, zsh};
        const char *where[] = {"poblysh(1)", "poblysh.bash", "_poblysh"};
        for (size_t j = 0; j < 3; j++) {
            if (!strstr(what[j], name) ||
                (strstr(help_text, "--yes") && !strstr(what[j], j ? "--yes" : "yes"))) {
                print_error("database %s (or its --yes): missing from %s\n", name, where[j]);
                bad++;
            }
        }
    }
    if (!strstr(bash, "database") || !strstr(zsh, "database")) {
        print_error("the database group is missing from a completion script\n");
        bad++;
    }
    assert_no_mismatch(bad);
}

/* ==== Options ==== */

/* poblysh(1) has an OPTIONS item for each option the program help lists and
 * none other, mentions every option the program help mentions, and mentions
 * none that no help has. */
static void test_manpages__program_options_are_those_of_poblysh_1(void **state)
{
    fixture *f = *state;
    help *h = load_help(f);
    const char *man = load_man(f, "poblysh.1");
    strset documented = {.n = 0}, mentioned = {.n = 0}, in_help = {.n = 0};
    add_tag_options(f, &documented, man_section(f, man, "OPTIONS"));
    add_options(f, &mentioned, man);
    add_options(f, &in_help, h->program);

    int bad = report_missing(&h->global, &documented, "poblysh --help Options",
                             "poblysh(1) OPTIONS items");
    bad += report_missing(&documented, &h->global, "poblysh(1) OPTIONS items",
                          "poblysh --help Options");
    bad += report_missing(&in_help, &mentioned, "poblysh --help", "poblysh(1)");
    bad += report_missing(&mentioned, &h->everyone, "poblysh(1)", "any --help");
    assert_no_mismatch(bad);
}

/* For each command: its subsection mentions every option its help mentions,
 * has an item for every option its help lists, and documents or mentions no
 * option that neither its help nor the global options have. */
static void test_manpages__each_command_documents_the_options_of_its_help(void **state)
{
    fixture *f = *state;
    help *h = load_help(f);
    const char *commands = man_section(f, load_man(f, "poblysh-migrate.1"), "COMMANDS");
    int bad = 0;
    for (size_t i = 0; i < h->commands.n; i++) {
        const char *name = h->commands.items[i];
        const char *part = man_subsection(f, commands, name);
        if (!part) {
            print_error("%s: no subsection in poblysh-migrate(1)\n", name);
            bad++;
            continue;
        }
        strset in_help = {.n = 0}, listed = {.n = 0}, documented = {.n = 0}, mentioned = {.n = 0};
        strset allowed = {.n = 0};
        add_options(f, &in_help, h->command_help[i]);
        add_listed_options(f, &listed, h->command_help[i]);
        add_tag_options(f, &documented, part);
        add_options(f, &mentioned, part);
        set_add_all(f, &allowed, &in_help);
        set_add_all(f, &allowed, &h->global);

        const char *help_name = fmt(f, "migrate %s --help", name);
        const char *part_name = fmt(f, "poblysh-migrate(1) %s", name);
        const char *items_name = fmt(f, "poblysh-migrate(1) %s items", name);
        bad += report_missing(&in_help, &mentioned, help_name, part_name);
        bad += report_missing(&listed, &documented, help_name, items_name);
        bad += report_missing(&documented, &in_help, items_name, help_name);
        bad += report_missing(&mentioned, &allowed, part_name,
                              fmt(f, "%s and the global options", help_name));
    }
    assert_no_mismatch(bad);
}

static void test_manpages__every_option_a_page_mentions_exists(void **state)
{
    fixture *f = *state;
    help *h = load_help(f);
    strset mentioned = {.n = 0};
    add_options(f, &mentioned, load_man(f, "poblysh-migrate.1"));
    assert_no_mismatch(
        report_missing(&mentioned, &h->everyone, "poblysh-migrate(1)", "any --help"));
}

/* ==== Exit status and environment ==== */

static void test_manpages__exit_codes_are_those_of_poblysh_1(void **state)
{
    fixture *f = *state;
    help *h = load_help(f);
    strset in_help = {.n = 0}, in_man = {.n = 0};
    add_first_words(f, &in_help, help_section(f, h->program, "Exit status:"), true);
    assert_true(in_help.n > 0);
    add_tag_words(f, &in_man, man_section(f, load_man(f, "poblysh.1"), "EXIT STATUS"));

    int bad =
        report_missing(&in_help, &in_man, "poblysh --help Exit status", "poblysh(1) EXIT STATUS");
    bad +=
        report_missing(&in_man, &in_help, "poblysh(1) EXIT STATUS", "poblysh --help Exit status");
    assert_no_mismatch(bad);
}

static void test_manpages__environment_variables_are_those_of_poblysh_1(void **state)
{
    fixture *f = *state;
    help *h = load_help(f);
    strset in_help = {.n = 0}, in_man = {.n = 0}, ours = {.n = 0};
    add_first_words(f, &in_help, help_section(f, h->program, "Environment:"), false);
    assert_true(in_help.n > 0);
    add_tag_words(f, &in_man, man_section(f, load_man(f, "poblysh.1"), "ENVIRONMENT"));
    /* The page may name other programs' variables (NO_COLOR); ours must be in --help. */
    for (size_t i = 0; i < in_man.n; i++)
        if (strncmp(in_man.items[i], "POBLYSH_", 8) == 0)
            set_add(f, &ours, in_man.items[i], strlen(in_man.items[i]));

    int bad =
        report_missing(&in_help, &in_man, "poblysh --help Environment", "poblysh(1) ENVIRONMENT");
    bad += report_missing(&ours, &in_help, "poblysh(1) ENVIRONMENT", "poblysh --help Environment");
    assert_no_mismatch(bad);
}

/* ==== Formatting ==== */

static void test_manpages__pages_format_without_warnings(void **state)
{
    fixture *f = *state;
    static const char *const pages[] = {"poblysh.1", "poblysh-migrate.1"};
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        const char *path = fmt(f, "%s/%s", man_dir, pages[i]);
        const run_result *r =
            run_program(f, "groff", "groff-base", NULL, ARGS("-man", "-ww", "-z", "-Tutf8", path));
        assert_exit(r, 0);
        assert_empty(r->err);
    }
}

/* ==== Completions ==== */

/* The case branch of a completion script for name: from the line that starts
 * with "(name)" to the ";;" that ends it; NULL when absent. */
static const char *completion_branch(fixture *f, const char *script, const char *name)
{
    const char *pattern = fmt(f, "(%s)", name);
    for (const char *line = script; *line;) {
        const char *p = line + strspn(line, " \t");
        if (strncmp(p, pattern, strlen(pattern)) == 0) {
            const char *end = strstr(p, ";;");
            if (!end)
                fail_msg("the branch %s has no ;;", pattern);
            return fmt(f, "%.*s", (int)(end - p), p);
        }
        line += strcspn(line, "\n");
        line += *line == '\n';
    }
    return NULL;
}

/* The names of the branches "(name)" of a completion script's case. */
static void add_branch_names(fixture *f, strset *s, const char *script)
{
    for (const char *line = script; *line;) {
        const char *p = line + strspn(line, " \t");
        if (p[0] == '(' && islower((unsigned char)p[1])) {
            size_t n = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz0123456789_-");
            if (p[1 + n] == ')')
                set_add(f, s, p + 1, n);
        }
        line += strcspn(line, "\n");
        line += *line == '\n';
    }
}

static void check_completion_script(fixture *f, const help *h, const char *file, int *bad)
{
    const char *script = read_text(f, fmt(f, "%s/%s", completions_dir, file));
    strset all = {.n = 0}, longs = {.n = 0}, branches = {.n = 0};
    add_options(f, &all, script);
    add_long_options(f, &longs, script);
    add_branch_names(f, &branches, script);

    *bad += report_missing(&h->commands, &branches, "poblysh --help", fmt(f, "%s branches", file));
    *bad += report_missing(&branches, &h->commands, fmt(f, "%s branches", file), "poblysh --help");
    *bad += report_missing(&h->global, &all, "poblysh --help Options", file);
    *bad += report_missing(&longs, &h->everyone, file, "any --help");
    for (size_t i = 0; i < h->commands.n; i++) {
        const char *name = h->commands.items[i];
        const char *branch = completion_branch(f, script, name);
        if (!branch)
            continue;
        strset own = {.n = 0}, offered = {.n = 0};
        strset in_help = {.n = 0};
        add_options(f, &in_help, h->command_help[i]);
        for (size_t j = 0; j < in_help.n; j++)
            if (!set_has(&h->global, in_help.items[j]))
                set_add(f, &own, in_help.items[j], strlen(in_help.items[j]));
        add_options(f, &offered, branch);
        strset allowed = {.n = 0};
        set_add_all(f, &allowed, &in_help);
        set_add_all(f, &allowed, &h->global);
        strset offered_long = {.n = 0};
        add_long_options(f, &offered_long, branch);
        const char *help_name = fmt(f, "migrate %s --help", name);
        const char *branch_name = fmt(f, "%s branch (%s)", file, name);
        *bad += report_missing(&own, &offered, help_name, branch_name);
        *bad += report_missing(&offered_long, &allowed, branch_name,
                               fmt(f, "%s and the global options", help_name));
    }
}

static void test_completions__scripts_offer_every_command_and_option_of_the_help(void **state)
{
    fixture *f = *state;
    help *h = load_help(f);
    int bad = 0;
    check_completion_script(f, h, "poblysh.bash", &bad);
    check_completion_script(f, h, "_poblysh", &bad);
    assert_no_mismatch(bad);
}

static void test_completions__scripts_parse_in_bash_and_zsh(void **state)
{
    fixture *f = *state;
    const char *bash_file = fmt(f, "%s/poblysh.bash", completions_dir);
    const char *zsh_file = fmt(f, "%s/_poblysh", completions_dir);
    const run_result *r = run_program(f, "bash", "bash", NULL, ARGS("-n", bash_file));
    assert_exit(r, 0);
    assert_empty(r->err);
    r = run_program(f, "zsh", "zsh", NULL, ARGS("-n", zsh_file));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(read_text(f, zsh_file), "#compdef poblysh\n");
    assert_contains(read_text(f, bash_file), "complete -F ");
}

/* Sources the bash completion in a directory holding the folder sqldir and
 * the file afile, completes the words (the last is the one being typed) with
 * the function `complete -p poblysh` names, and returns the candidates. */
static strset *bash_complete(fixture *f, const char *const *words)
{
    static const char script[] =
        "file=$1; shift; source \"$file\" || exit 1\n"
        "spec=$(complete -p poblysh) || exit 1\n"
        "fn=${spec##*-F }; fn=${fn%% *}\n"
        "COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); COMP_LINE=\"$*\"; "
        "COMP_POINT=${#COMP_LINE}; COMPREPLY=()\n"
        "\"$fn\" poblysh \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD-1]}\"\n"
        "for w in \"${COMPREPLY[@]}\"; do printf '%s\\n' \"$w\"; done\n";
    const char *dir = fmt(f, "%s/paths", work_root);
    if (make_dir(dir) != 0 || make_dir(fmt(f, "%s/sqldir", dir)) != 0)
        fail_msg("cannot create %s/sqldir: %s", dir, strerror(errno));
    FILE *fp = fopen(fmt(f, "%s/afile", dir), "w");
    assert_non_null(fp);
    fclose(fp);

    const char *args[32] = {"-c", script, "bash", fmt(f, "%s/poblysh.bash", completions_dir)};
    size_t n = 4;
    for (size_t i = 0; words[i]; i++) {
        assert_true(n + 1 < sizeof(args) / sizeof(args[0]));
        args[n++] = words[i];
    }
    args[n] = NULL;
    const run_result *r = run_program(f, "bash", "bash", dir, args);
    assert_exit(r, 0);
    assert_empty(r->err);
    strset *out = keep(f, calloc(1, sizeof(*out)));
    assert_non_null(out);
    for (const char *line = r->out; *line;) {
        size_t len = strcspn(line, "\n");
        if (len)
            set_add(f, out, line, len);
        line += len + (line[len] == '\n');
    }
    return out;
}

static void assert_same_set(fixture *f, const strset *got, const strset *want, const char *what)
{
    int bad = report_missing(want, got, "expected", what);
    bad += report_missing(got, want, what, "expected");
    if (bad)
        fail_msg("%s: got \"%s\", expected \"%s\"", what, set_text(f, got), set_text(f, want));
}

static void test_completions__bash_completes_commands_options_and_paths(void **state)
{
    fixture *f = *state;
    help *h = load_help(f);
    strset migrate = {.n = 0}, sqldir = {.n = 0}, afile = {.n = 0}, none = {.n = 0};
    set_add(f, &migrate, "migrate", 7);
    set_add(f, &migrate, "database", 8); /* the groups */
    set_add(f, &migrate, "config", 6);   /* poblysh config: the profile's settings */
    set_add(f, &sqldir, "sqldir", 6);
    set_add(f, &afile, "afile", 5);

    assert_same_set(f, bash_complete(f, ARGS("poblysh", "")), &migrate, "poblysh <TAB>");
    assert_same_set(f, bash_complete(f, ARGS("poblysh", "-")), &h->global, "poblysh -<TAB>");
    assert_same_set(f, bash_complete(f, ARGS("poblysh", "migrate", "")), &h->commands,
                    "poblysh migrate <TAB>");
    assert_same_set(f, bash_complete(f, ARGS("poblysh", "database", "")), &h->database_commands,
                    "poblysh database <TAB>");
    assert_same_set(f, bash_complete(f, ARGS("poblysh", "--wait", "5", "migrate", "")),
                    &h->commands, "poblysh --wait 5 migrate <TAB>");
    for (size_t i = 0; i < h->commands.n; i++) {
        strset want = {.n = 0};
        add_options(f, &want, h->command_help[i]);
        set_add_all(f, &want, &h->global);
        const char *name = h->commands.items[i];
        assert_same_set(f, bash_complete(f, ARGS("poblysh", "migrate", name, "-")), &want,
                        fmt(f, "poblysh migrate %s -<TAB>", name));
    }
    assert_same_set(f, bash_complete(f, ARGS("poblysh", "migrate", "up", "--source", "")), &sqldir,
                    "--source <TAB>");
    assert_same_set(f, bash_complete(f, ARGS("poblysh", "--source", "=", "s")), &sqldir,
                    "--source=s<TAB>");
    assert_same_set(f, bash_complete(f, ARGS("poblysh", "--source", "a")), &none,
                    "--source a<TAB> (a file)");
    assert_same_set(f, bash_complete(f, ARGS("poblysh", "migrate", "generate", "x", "--dir", "s")),
                    &sqldir, "generate --dir s<TAB>");
    assert_same_set(f, bash_complete(f, ARGS("poblysh", "migrate", "schema", "--output", "a")),
                    &afile, "schema --output a<TAB>");
    /* --targets-query URL SQL: the SQL is a value, never a command */
    assert_same_set(f, bash_complete(f, ARGS("poblysh", "--targets-query", "u", "")), &none,
                    "--targets-query URL <TAB>");
    assert_same_set(f, bash_complete(f, ARGS("poblysh", "--targets-query", "=", "u", "")), &none,
                    "--targets-query=URL <TAB>");
    assert_same_set(f,
                    bash_complete(f, ARGS("poblysh", "--targets-query", "u", "q", "migrate", "")),
                    &h->commands, "--targets-query URL SQL migrate <TAB>");
}

/* ==== Main ==== */

#define MAN_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s <path to poblysh> <man dir> <completions dir> <work dir>\n",
                argv[0]);
        return 2;
    }
    char *binary = absolute_path(argv[1]);
    if (!binary || access(binary, X_OK) != 0) {
        fprintf(stderr, "test_manpages: %s is not an executable: %s\n", argv[1], strerror(errno));
        free(binary);
        return 2;
    }
    char *root = make_dir(argv[4]) == 0 ? absolute_path(argv[4]) : NULL;
    if (!root) {
        fprintf(stderr, "test_manpages: cannot use work dir %s: %s\n", argv[4], strerror(errno));
        free(binary);
        return 2;
    }
    cli_path = binary;
    work_root = root;
    char *man = absolute_path(argv[2]);
    char *completions = absolute_path(argv[3]);
    if (!man || !completions) {
        fprintf(stderr, "test_manpages: out of memory\n");
        free(man);
        free(completions);
        free(binary);
        free(root);
        return 2;
    }
    man_dir = man;
    completions_dir = completions;

    const struct CMUnitTest tests[] = {
        MAN_TEST(test_manpages__every_command_has_a_subsection_and_a_line_in_poblysh_1),
        MAN_TEST(test_manpages__program_options_are_those_of_poblysh_1),
        MAN_TEST(test_manpages__each_command_documents_the_options_of_its_help),
        MAN_TEST(test_manpages__every_option_a_page_mentions_exists),
        MAN_TEST(test_manpages__exit_codes_are_those_of_poblysh_1),
        MAN_TEST(test_manpages__environment_variables_are_those_of_poblysh_1),
        MAN_TEST(test_manpages__pages_format_without_warnings),
        MAN_TEST(test_completions__scripts_offer_every_command_and_option_of_the_help),
        MAN_TEST(test_completions__scripts_parse_in_bash_and_zsh),
        MAN_TEST(test_completions__bash_completes_commands_options_and_paths),
        MAN_TEST(test_manpages__database_commands_are_documented_and_completed),
    };
    int failed = cmocka_run_group_tests_name("manpages", tests, NULL, NULL);
    free(binary);
    free(root);
    free(man);
    free(completions);
    return failed;
}
