/* test_generate.c: `poblysh migrate generate` end to end. One test generates a
 * migration in a copy of the source tree, builds the copy and checks that its
 * poblysh knows the new migration; the others use a scratch migrations folder
 * and check what generate refuses, and that a refusal leaves nothing behind.
 * Run as: test_generate <path to poblysh> <source root> <work dir>. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define TENANTS "m2024_01_01_000001_create_tenants"
#define FUTURE "m2999_01_01_000000_future"

static const char *cli_path;  /* absolute path of the poblysh binary */
static const char *src_root;  /* absolute path of the source tree */
static const char *work_root; /* absolute path of the work dir */

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ==== What a test allocates, freed by teardown ==== */

static void **kept;
static size_t nkept;

static void *keep(void *p)
{
    assert_non_null(p);
    void **grown = realloc(kept, (nkept + 1) * sizeof(*grown));
    if (!grown) {
        free(p);
        fail_msg("out of memory");
        return NULL; /* not reached: fail_msg() leaves the test */
    }
    kept = grown;
    kept[nkept++] = p;
    return p;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < nkept; i++)
        free(kept[i]);
    free(kept);
    kept = NULL;
    nkept = 0;
    return 0;
}

/* A formatted string that lives until teardown. */
static char *fmt(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(NULL, 0, format, ap);
    va_end(ap);
    assert_true(n >= 0);
    char *s = keep(malloc((size_t)n + 1));
    va_start(ap, format);
    vsnprintf(s, (size_t)n + 1, format, ap);
    va_end(ap);
    return s;
}

/* ==== Files ==== */

/* The whole file, or NULL when it cannot be read. */
static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t len = 0, cap = 4096;
    char *text = keep(malloc(cap));
    size_t n;
    while ((n = fread(text + len, 1, cap - len - 1, fp)) > 0) {
        len += n;
        if (cap - len < 1024) {
            char *grown = realloc(text, cap * 2);
            assert_non_null(grown);
            kept[nkept - 1] = text = grown;
            cap *= 2;
        }
    }
    fclose(fp);
    text[len] = '\0';
    return text;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        fail_msg("cannot write %s: %s", path, strerror(errno));
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static size_t entry_count(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s: %s", dir, strerror(errno));
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* text in single quotes for the shell. */
static char *shell_quote(const char *text)
{
    size_t n = 3;
    for (const char *p = text; *p; p++)
        n += *p == '\'' ? 4 : 1;
    char *q = keep(malloc(n)), *w = q;
    *w++ = '\'';
    for (const char *p = text; *p; p++) {
        if (*p == '\'') {
            memcpy(w, "'\\''", 4);
            w += 4;
        } else {
            *w++ = *p;
        }
    }
    *w++ = '\'';
    *w = '\0';
    return q;
}

/* Runs a shell command; returns its exit status (-1 when it did not exit). */
static int sh(const char *command)
{
    fflush(NULL);
    int ws = system(command);
    return ws != -1 && WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

static void remove_tree(const char *path)
{
    if (sh(fmt("rm -rf %s", shell_quote(path))) != 0)
        fail_msg("cannot remove %s", path);
}

/* <work dir>/<name>/migrations, fresh, holding a copy of the source tree's
 * registry.def and nothing else; returns the migrations folder. */
static char *scratch(const char *name)
{
    char *root = fmt("%s/%s", work_root, name);
    remove_tree(root);
    char *dir = fmt("%s/migrations", root);
    if (mkdir(root, 0755) != 0 || mkdir(dir, 0755) != 0)
        fail_msg("cannot create %s: %s", dir, strerror(errno));
    char *registry = slurp(fmt("%s/migrations/registry.def", src_root));
    assert_non_null(registry);
    write_file(fmt("%s/registry.def", dir), registry);
    return dir;
}

/* ==== Running a binary ==== */

typedef struct run_result {
    int status; /* the exit code, or 128 + signal */
    const char *out;
    const char *err;
} run_result;

/* Runs binary with args in cwd; stdout and stderr go through files of the
 * work dir, so nothing can block on a full pipe. */
static run_result run_in(const char *binary, const char *cwd, const char *const *args)
{
    size_t nargs = 0;
    while (args[nargs])
        nargs++;
    char **argv = keep(calloc(nargs + 2, sizeof(*argv)));
    argv[0] = "poblysh"; /* as a user types it; argv[0] names the program */
    for (size_t i = 0; i < nargs; i++)
        argv[i + 1] = (char *)args[i];
    char *out_path = fmt("%s/stdout.txt", work_root);
    char *err_path = fmt("%s/stderr.txt", work_root);

    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out < 0 || err < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
            _exit(125);
        if (chdir(cwd) != 0)
            _exit(126);
        execv(binary, argv);
        _exit(127);
    }
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0)
        assert_int_equal(errno, EINTR);
    run_result r;
    r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    r.out = slurp(out_path);
    r.err = slurp(err_path);
    assert_non_null(r.out);
    assert_non_null(r.err);
    return r;
}

/* `poblysh migrate generate args...` in the work dir. */
static run_result generate(const char *const *args)
{
    size_t nargs = 0;
    while (args[nargs])
        nargs++;
    const char **all = keep(calloc(nargs + 3, sizeof(*all)));
    all[0] = "migrate";
    all[1] = "generate";
    memcpy(all + 2, args, nargs * sizeof(*all));
    return run_in(cli_path, work_root, all);
}

/* ==== Assertions that show the run ==== */

#define assert_exit(r, code) assert_exit_((r), (code), __FILE__, __LINE__)
#define assert_contains(text, needle) assert_contains_((text), (needle), #text, __FILE__, __LINE__)

static void assert_exit_(run_result r, int code, const char *file, int line)
{
    if (r.status == code)
        return;
    print_error("exit status %d, expected %d\n--- stdout\n%s--- stderr\n%s---\n", r.status, code,
                r.out, r.err);
    _fail(file, line);
}

static void assert_contains_(const char *text, const char *needle, const char *what,
                             const char *file, int line)
{
    if (text && strstr(text, needle))
        return;
    print_error("%s does not contain \"%s\":\n---\n%s---\n", what, needle, text ? text : "(null)");
    _fail(file, line);
}

/* The names of the PM_REGISTER(...) lines of text, in order (kept). */
static char **registered(const char *text, size_t *count)
{
    char **names = keep(calloc(strlen(text) / 13 + 1, sizeof(*names)));
    size_t n = 0;
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        if (strncmp(line, "PM_REGISTER(", 12) == 0) {
            const char *close = strchr(line + 12, ')');
            assert_non_null(close);
            names[n++] = fmt("%.*s", (int)(close - line - 12), line + 12);
        }
        line = nl ? nl + 1 : NULL;
    }
    *count = n;
    return names;
}

/* The offset of the line of text that starts with prefix; fails when none. */
static size_t line_starting(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *line = text; line && *line;) {
        if (strncmp(line, prefix, n) == 0)
            return (size_t)(line - text);
        const char *nl = strchr(line, '\n');
        line = nl ? nl + 1 : NULL;
    }
    fail_msg("no line starts with \"%s\" in:\n%s", prefix, text);
    return 0;
}

static bool line_has(const char *text, size_t offset, const char *needle)
{
    const char *end = strchr(text + offset, '\n');
    size_t len = end ? (size_t)(end - text - offset) : strlen(text + offset);
    char *line = fmt("%.*s", (int)len, text + offset);
    return strstr(line, needle) != NULL;
}

/* ==== Tests ==== */

/* The whole path: generate into a copy of the tree, build the copy, and its
 * poblysh lists the new migration as pending after the baseline. */
static void test_generate__new_migration_builds_and_is_pending(void **state)
{
    (void)state;
    char *copy = fmt("%s/copy", work_root);
    remove_tree(copy);
    assert_int_equal(mkdir(copy, 0755), 0);
    static const char *const parts[] = {"core",  "backends", "drivers", "migrations",    "cli",
                                        "tools", "tests",    "cmake",   "CMakeLists.txt"};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        char *from = fmt("%s/%s", src_root, parts[i]);
        if (sh(fmt("cp -r %s %s", shell_quote(from), shell_quote(copy))) != 0)
            fail_msg("cannot copy %s into %s", from, copy);
    }
    char *dir = fmt("%s/migrations", copy);
    char *registry_path = fmt("%s/registry.def", dir);
    char *before = slurp(registry_path);
    assert_non_null(before);
    size_t nbefore = 0;
    char **old_names = registered(before, &nbefore);
    assert_true(nbefore >= 1);

    run_result r = generate(ARGS("add_widgets", "--dir", dir));
    assert_exit(r, 0);

    char *after = slurp(registry_path);
    size_t nafter = 0;
    char **names = registered(after, &nafter);
    assert_int_equal(nafter, nbefore + 1);
    const char *name = names[nafter - 1];
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_migration_name_check(name, &err), &err);
    assert_int_equal(strlen(name), strlen("m2024_01_01_000001_add_widgets"));
    assert_string_equal(name + strlen(name) - strlen("_add_widgets"), "_add_widgets");
    assert_true(strcmp(old_names[nbefore - 1], name) < 0);
    /* One line appended, nothing else touched. */
    assert_string_equal(after, fmt("%sPM_REGISTER(%s)\n", before, name));

    char *file = fmt("%s/%s.c", dir, name);
    assert_string_equal(r.out, fmt("Created %s and registered it in %s\n", file, registry_path));
    assert_string_equal(r.err, "");
    char *source = slurp(file);
    assert_non_null(source);
    assert_contains(source, "#include \"poblysh/poblysh.h\"");
    assert_contains(source, fmt("PM_MIGRATION(%s, up, down, PM_MIGRATION_DEFAULT);", name));

    char *build = fmt("%s/build", copy);
    char *log = fmt("%s/build.log", work_root);
    int rc = sh(fmt("cmake -S %s -B %s -DBUILD_TESTING=OFF -DPOBLYSH_WERROR=ON >%s 2>&1 && "
                    "cmake --build %s --target poblysh-seed -j2 >>%s 2>&1",
                    shell_quote(copy), shell_quote(build), shell_quote(log), shell_quote(build),
                    shell_quote(log)));
    if (rc != 0)
        fail_msg("building the copy with the new migration failed:\n%s", slurp(log));

    char *copy_cli = fmt("%s/migrations/poblysh-seed", build);
    r = run_in(copy_cli, work_root, ARGS("migrate", "status", "--database-url", "sqlite::memory:"));
    assert_exit(r, 0);
    size_t tenants = line_starting(r.out, TENANTS);
    size_t added = line_starting(r.out, name);
    assert_true(tenants < added);
    assert_true(line_has(r.out, tenants, "pending"));
    assert_true(line_has(r.out, added, "pending"));
    assert_contains(r.out, fmt("0 applied, %zu pending.", nafter));
}

/* Without --dir it writes into ./migrations, and says so with that path. A
 * registry whose last line has no newline gets one before the new line. */
static void test_generate__default_dir_and_registry_without_final_newline(void **state)
{
    (void)state;
    char *dir = scratch("default-dir");
    char *registry_path = fmt("%s/registry.def", dir);
    char *text = slurp(registry_path);
    size_t len = strlen(text);
    assert_true(len > 0 && text[len - 1] == '\n');
    text[len - 1] = '\0';
    write_file(registry_path, text);

    run_result r = run_in(cli_path, fmt("%s/default-dir", work_root),
                          ARGS("migrate", "generate", "add_gadgets"));
    assert_exit(r, 0);
    size_t n = 0;
    char **names = registered(slurp(registry_path), &n);
    assert_int_equal(n, 2);
    assert_string_equal(slurp(registry_path), fmt("%s\nPM_REGISTER(%s)\n", text, names[1]));
    assert_string_equal(r.out, fmt("Created migrations/%s.c and registered it in "
                                   "migrations/registry.def\n",
                                   names[1]));
    assert_true(exists(fmt("%s/%s.c", dir, names[1])));
    assert_int_equal(entry_count(dir), 2);
}

static void test_generate__invalid_names_exit_2_and_create_nothing(void **state)
{
    (void)state;
    char *dir = scratch("invalid");
    char *registry_path = fmt("%s/registry.def", dir);
    char *before = slurp(registry_path);
    char long_name[102];
    memset(long_name, 'a', 101);
    long_name[101] = '\0';
    static const char *const bad[] = {"Add-Widgets", "x y", "\xc3\xbcmlaut", "_widgets",
                                      "widgets_",    "a.b", "../evil"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        run_result r = generate(ARGS(bad[i], "--dir", dir));
        assert_exit(r, 2);
        assert_contains(r.err, fmt("\"%s\"", bad[i]));
        assert_string_equal(r.out, "");
    }
    run_result r = generate(ARGS("", "--dir", dir));
    assert_exit(r, 2);
    assert_contains(r.err, "empty");
    r = generate(ARGS(long_name, "--dir", dir));
    assert_exit(r, 2);
    assert_contains(r.err, "longer than 100");
    r = generate(ARGS("--dir", dir));
    assert_exit(r, 2);
    assert_contains(r.err, "needs a NAME");
    assert_contains(r.err, "poblysh migrate generate --help");

    assert_string_equal(slurp(registry_path), before);
    assert_int_equal(entry_count(dir), 1);
}

static void test_generate__same_name_twice_is_refused(void **state)
{
    (void)state;
    char *dir = scratch("duplicate");
    char *registry_path = fmt("%s/registry.def", dir);
    assert_exit(generate(ARGS("add_widgets", "--dir", dir)), 0);
    char *first = slurp(registry_path);
    size_t n = 0;
    char **names = registered(first, &n);
    assert_int_equal(n, 2);

    run_result r = generate(ARGS("add_widgets", "--dir", dir));
    assert_exit(r, 2);
    assert_contains(r.err, "already registered");
    assert_contains(r.err, names[1]);
    assert_string_equal(r.out, "");
    assert_string_equal(slurp(registry_path), first);
    assert_int_equal(entry_count(dir), 2);

    /* So is the description of the baseline, registered long ago. */
    r = generate(ARGS("create_tenants", "--dir", dir));
    assert_exit(r, 2);
    assert_contains(r.err, TENANTS);
    assert_string_equal(slurp(registry_path), first);
    assert_int_equal(entry_count(dir), 2);
}

/* A file of the new name that is not registered (left by hand) is never
 * overwritten: files for every second around now are made first. */
static void test_generate__existing_file_is_never_overwritten(void **state)
{
    (void)state;
    char *dir = scratch("existing");
    char *registry_path = fmt("%s/registry.def", dir);
    char *before = slurp(registry_path);
    time_t now = time(NULL);
    for (int delta = -2; delta <= 30; delta++) {
        time_t t = now + delta;
        struct tm tm;
        char version[32];
        assert_non_null(gmtime_r(&t, &tm));
        assert_true(strftime(version, sizeof(version), "m%Y_%m_%d_%H%M%S", &tm) > 0);
        write_file(fmt("%s/%s_by_hand.c", dir, version), "keep me\n");
    }
    size_t entries = entry_count(dir);

    run_result r = generate(ARGS("by_hand", "--dir", dir));
    assert_exit(r, 2);
    assert_contains(r.err, "already exists");
    assert_contains(r.err, "_by_hand.c");
    assert_string_equal(r.out, "");
    assert_string_equal(slurp(registry_path), before);
    assert_int_equal(entry_count(dir), entries);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, "_by_hand.c"))
            assert_string_equal(slurp(fmt("%s/%s", dir, e->d_name)), "keep me\n");
    closedir(d);
}

/* A clock behind the newest registered version would put the new migration
 * before it: refused, naming that migration. */
static void test_generate__newest_registered_in_future_is_refused(void **state)
{
    (void)state;
    char *dir = scratch("future");
    char *registry_path = fmt("%s/registry.def", dir);
    char *before = fmt("%sPM_REGISTER(" FUTURE ")\n", slurp(registry_path));
    write_file(registry_path, before);

    run_result r = generate(ARGS("add_widgets", "--dir", dir));
    assert_exit(r, 2);
    assert_contains(r.err, FUTURE);
    assert_string_equal(r.out, "");
    assert_string_equal(slurp(registry_path), before);
    assert_int_equal(entry_count(dir), 1);
}

static void test_generate__missing_dir_exits_1_naming_registry(void **state)
{
    (void)state;
    char *dir = fmt("%s/no-such-dir", work_root);
    remove_tree(dir);
    run_result r = generate(ARGS("add_widgets", "--dir", dir));
    assert_exit(r, 1);
    assert_contains(r.err, fmt("%s/registry.def", dir));
    assert_contains(r.err, "--dir");
    assert_string_equal(r.out, "");
    assert_false(exists(dir));
}

/* The registry is replaced by rename(), which would turn a link into a file:
 * refused before anything is written. */
static void test_generate__symlinked_registry_is_refused(void **state)
{
    (void)state;
    char *dir = scratch("symlink");
    char *registry_path = fmt("%s/registry.def", dir);
    char *target = fmt("%s/symlink/registry.real", work_root);
    assert_int_equal(rename(registry_path, target), 0);
    assert_int_equal(symlink(target, registry_path), 0);
    char *before = slurp(target);

    run_result r = generate(ARGS("add_widgets", "--dir", dir));
    assert_exit(r, 1);
    assert_contains(r.err, "symbolic link");
    assert_string_equal(slurp(target), before);
    assert_int_equal(entry_count(dir), 1);
}

static void test_generate__help_exits_0(void **state)
{
    (void)state;
    run_result r = generate(ARGS("--help"));
    assert_exit(r, 0);
    assert_contains(r.out, "Usage: poblysh migrate generate NAME");
    assert_contains(r.out, "--dir DIR");
}

/* ==== --sql ==== */

/* <work dir>/<name>, fresh, holding a copy of tests/fixtures/sql/dbmate. */
static char *dbmate_copy(const char *name)
{
    char *dir = fmt("%s/%s", work_root, name);
    remove_tree(dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    char *from = fmt("%s/tests/fixtures/sql/dbmate/.", src_root);
    if (sh(fmt("cp -r %s %s", shell_quote(from), shell_quote(dir))) != 0)
        fail_msg("cannot copy %s into %s", from, dir);
    return dir;
}

/* The name of the one entry of dir that ends with suffix (kept); fails
 * unless there is exactly one. */
static char *only_entry_ending(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    char *found = NULL;
    size_t n = 0, slen = strlen(suffix);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len >= slen && strcmp(e->d_name + len - slen, suffix) == 0) {
            found = fmt("%s", e->d_name);
            n++;
        }
    }
    closedir(d);
    if (n != 1)
        fail_msg("%zu entries of %s end with %s, expected 1", n, dir, suffix);
    return found;
}

static void test_generate__sql_source_writes_dbmate_file_that_loads(void **state)
{
    (void)state;
    char *dir = dbmate_copy("sql-source");
    size_t before = entry_count(dir);

    run_result r = generate(ARGS("add_things", "--sql", "--source", dir));
    assert_exit(r, 0);
    assert_string_equal(r.err, "");
    assert_int_equal(entry_count(dir), before + 1);
    char *file = only_entry_ending(dir, "_add_things.sql");
    assert_int_equal(strlen(file), 14 + strlen("_add_things.sql"));
    assert_int_equal(strspn(file, "0123456789"), 14);
    char *path = fmt("%s/%s", dir, file);
    assert_string_equal(r.out, fmt("Created %s\n", path));
    char *text = slurp(path);
    assert_non_null(text);
    assert_contains(text, "-- migrate:up");
    assert_contains(text, "-- migrate:down");

    char *name = fmt("%.*s", (int)(strlen(file) - 4), file);
    r = run_in(cli_path, work_root,
               ARGS("migrate", "status", "--source", dir, "--database-url", "sqlite::memory:"));
    assert_exit(r, 0);
    size_t tags = line_starting(r.out, "20240301120000_create_tags ");
    size_t added = line_starting(r.out, fmt("%s ", name));
    assert_true(tags < added);
    assert_true(line_has(r.out, added, "pending"));
    assert_contains(r.out, "0 applied, 5 pending.");

    /* Again: the name is taken; nothing new, the file untouched. */
    r = generate(ARGS("add_things", "--sql", "--source", dir));
    assert_exit(r, 2);
    assert_contains(r.err, name);
    assert_string_equal(r.out, "");
    assert_int_equal(entry_count(dir), before + 1);
    assert_string_equal(slurp(path), text);
}

static void test_generate__sql_dir_writes_embedded_file(void **state)
{
    (void)state;
    char *dir = scratch("sql-dir");
    char *registry_path = fmt("%s/registry.def", dir);
    char *registry = slurp(registry_path);

    run_result r = generate(ARGS("add_things", "--sql", "--dir", dir));
    assert_exit(r, 0);
    assert_string_equal(r.err, "");
    assert_int_equal(entry_count(dir), 2);
    char *file = only_entry_ending(dir, "_add_things.sql");
    assert_int_equal(strlen(file), strlen("m2024_01_01_000001_add_things.sql"));
    char *name = fmt("%.*s", (int)(strlen(file) - 4), file);
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_migration_name_check(name, &err), &err);
    assert_string_equal(
        r.out, fmt("Created %s/%s (embedded in the binary at the next build)\n", dir, file));
    assert_contains(r.out, "embedded in the binary at the next build");
    char *text = slurp(fmt("%s/%s", dir, file));
    assert_contains(text, "-- migrate:up");
    assert_contains(text, "-- migrate:down");
    /* The registry is for .c migrations only. */
    assert_string_equal(slurp(registry_path), registry);
}

static void test_generate__sql_invalid_name_exits_2(void **state)
{
    (void)state;
    char *dir = dbmate_copy("sql-invalid");
    size_t before = entry_count(dir);
    static const char *const bad[] = {"Add-Things", "_things", "../evil"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        run_result r = generate(ARGS(bad[i], "--sql", "--source", dir));
        assert_exit(r, 2);
        assert_contains(r.err, fmt("\"%s\"", bad[i]));
        assert_string_equal(r.out, "");
        r = generate(ARGS(bad[i], "--sql", "--dir", dir));
        assert_exit(r, 2);
        assert_string_equal(r.out, "");
    }
    assert_int_equal(entry_count(dir), before);
}

/* ==== Main ==== */

/* path made absolute against the current directory (kept for the run). */
static char *absolute(const char *path)
{
    if (path[0] == '/')
        return strdup(path);
    char cwd[4096];
    if (!getcwd(cwd, sizeof(cwd)))
        return NULL;
    size_t n = strlen(cwd) + strlen(path) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", cwd, path);
    return s;
}

#define GEN_TEST(fn) cmocka_unit_test_teardown(fn, teardown)

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s <path to poblysh> <source root> <work dir>\n", argv[0]);
        return 2;
    }
    if (mkdir(argv[3], 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "test_generate: cannot create %s: %s\n", argv[3], strerror(errno));
        return 2;
    }
    char *binary = absolute(argv[1]);
    char *source = absolute(argv[2]);
    char *work = absolute(argv[3]);
    if (!binary || !source || !work || access(binary, X_OK) != 0) {
        fprintf(stderr, "test_generate: cannot use %s, %s, %s\n", argv[1], argv[2], argv[3]);
        free(binary);
        free(source);
        free(work);
        return 2;
    }
    cli_path = binary;
    src_root = source;
    work_root = work;

    const struct CMUnitTest tests[] = {
        GEN_TEST(test_generate__help_exits_0),
        GEN_TEST(test_generate__invalid_names_exit_2_and_create_nothing),
        GEN_TEST(test_generate__missing_dir_exits_1_naming_registry),
        GEN_TEST(test_generate__same_name_twice_is_refused),
        GEN_TEST(test_generate__existing_file_is_never_overwritten),
        GEN_TEST(test_generate__newest_registered_in_future_is_refused),
        GEN_TEST(test_generate__symlinked_registry_is_refused),
        GEN_TEST(test_generate__default_dir_and_registry_without_final_newline),
        GEN_TEST(test_generate__sql_source_writes_dbmate_file_that_loads),
        GEN_TEST(test_generate__sql_dir_writes_embedded_file),
        GEN_TEST(test_generate__sql_invalid_name_exits_2),
        GEN_TEST(test_generate__new_migration_builds_and_is_pending),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    free(binary);
    free(source);
    free(work);
    return failed;
}
