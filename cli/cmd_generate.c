/* cmd_generate.c: `poblysh migrate generate NAME`: writes DIR/m<UTC now>_NAME.c
 * from a template and appends it to DIR/registry.def, the one ordered list of
 * migrations the build compiles. It only writes files: no database, no SQL.
 *
 * The rules it enforces, and why:
 *   - NAME is 1 to 100 characters of a-z, 0-9 and _, starting and ending with
 *     a letter or digit (the underscore already separates it from the version).
 *   - A duplicate is refused: NAME already the description of a registered
 *     migration (which covers the same full name), or the file already there.
 *   - The new version must be newer than the newest registered one, so the
 *     registry stays in increasing order (a clock behind, or two generates in
 *     one second, would break it).
 *   - Nothing is ever overwritten or left half done: the file is created with
 *     O_EXCL, the registry is replaced by rename() of a complete temporary
 *     file, and the new file is removed again when the registry write fails. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_internal.h"
#include "poblysh/sys/backend.h"

#define DESCRIPTION_MAX 100
#define VERSION_LEN 18 /* "mYYYY_MM_DD_HHMMSS" */
#define REGISTER_PREFIX "PM_REGISTER("

/* ==== Small helpers ==== */

static char *format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "poblysh: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'poblysh migrate generate --help'.\n");
    return PM_EXIT_USAGE;
}

/* Writes, flushes to disk and closes fd; closes it in every case. Returns 0,
 * or -1 with errno set. */
static int write_and_close(int fd, const char *data, size_t len)
{
    int rc = pm__cli_write_all(fd, data, len) == 0 && fsync(fd) == 0 ? 0 : -1;
    int saved = errno;
    if (close(fd) != 0 && rc == 0)
        return -1;
    errno = saved;
    return rc;
}

/* ==== The name ==== */

static bool description_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* Why name cannot be a migration's description, or NULL when it can. */
static const char *name_problem(const char *name)
{
    size_t len = strlen(name);
    if (len == 0)
        return "is empty";
    if (len > DESCRIPTION_MAX)
        return "is longer than 100 characters";
    for (const char *p = name; *p; p++)
        if (!description_char(*p))
            return "may hold only a-z, 0-9 and _";
    if (name[0] == '_' || name[len - 1] == '_')
        return "must start and end with a letter or digit";
    return NULL;
}

/* "mYYYY_MM_DD_HHMMSS" for the current UTC time. */
static int version_now(char out[VERSION_LEN + 1])
{
    time_t now = time(NULL);
    struct tm tm;
    if (now == (time_t)-1 || !gmtime_r(&now, &tm))
        return -1;
    return strftime(out, VERSION_LEN + 1, "m%Y_%m_%d_%H%M%S", &tm) == VERSION_LEN ? 0 : -1;
}

/* ==== The registry ==== */

typedef struct registry {
    char *path; /* DIR/registry.def */
    char *text; /* its whole content */
    size_t len;
    char *newest; /* the greatest registered name, or NULL when none */
    char *same;   /* a registered migration whose description is NAME, or NULL */
} registry;

static void registry_free(registry *r)
{
    free(r->path);
    free(r->text);
    free(r->newest);
    free(r->same);
}

static int read_file(const char *path, char **out, size_t *out_len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -1;
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 8192;
            char *grown = realloc(text, cap);
            if (!grown) {
                free(text);
                fclose(fp);
                errno = ENOMEM;
                return -1;
            }
            text = grown;
        }
        size_t n = fread(text + len, 1, cap - len - 1, fp);
        len += n;
        if (n == 0)
            break;
    }
    int failed = ferror(fp);
    int saved = errno;
    fclose(fp);
    if (failed) {
        free(text);
        errno = saved ? saved : EIO;
        return -1;
    }
    text[len] = '\0';
    *out = text;
    *out_len = len;
    return 0;
}

/* Reads one PM_REGISTER(name) line the way migrations/CMakeLists.txt does:
 * the line starts with PM_REGISTER(, the name is [a-z0-9_]+, then ")". */
static int registered_name(const char *line, size_t len, char **out)
{
    size_t prefix = strlen(REGISTER_PREFIX);
    size_t n = 0;
    while (prefix + n < len && description_char(line[prefix + n]))
        n++;
    if (n == 0 || prefix + n >= len || line[prefix + n] != ')')
        return -1;
    *out = format("%.*s", (int)n, line + prefix);
    return *out ? 0 : -1;
}

/* Looks at every registered migration: keeps the newest, and the one whose
 * description is description if any. Returns 0, or an exit code after
 * saying what is wrong with the registry. */
static int registry_scan(registry *r, const char *description)
{
    size_t lineno = 0;
    for (const char *line = r->text; line < r->text + r->len;) {
        const char *nl = memchr(line, '\n', (size_t)(r->text + r->len - line));
        size_t len = nl ? (size_t)(nl - line) : (size_t)(r->text + r->len - line);
        lineno++;
        if (len && line[len - 1] == '\r')
            len--;
        if (len >= strlen(REGISTER_PREFIX) &&
            strncmp(line, REGISTER_PREFIX, strlen(REGISTER_PREFIX)) == 0) {
            char *name = NULL;
            pm_error err = PM_ERROR_INIT;
            if (registered_name(line, len, &name) < 0 || pm_migration_name_check(name, &err) < 0) {
                fprintf(stderr,
                        "poblysh: error: %s:%zu: \"%.*s\" does not register a valid migration "
                        "name (mYYYY_MM_DD_HHMMSS_description); fix the registry first\n",
                        r->path, lineno, (int)len, line);
                free(name);
                pm_error_clear(&err);
                return PM_EXIT_FAILURE;
            }
            if (!r->same && strcmp(name + VERSION_LEN + 1, description) == 0)
                r->same = format("%s", name);
            if (!r->newest || strcmp(name, r->newest) > 0) {
                free(r->newest);
                r->newest = name;
            } else {
                free(name);
            }
        }
        line = nl ? nl + 1 : r->text + r->len;
    }
    return 0;
}

/* Replaces the registry with its text plus line, through a temporary file in
 * the same folder and rename(), so a reader sees the old file or the new one,
 * never a part. Returns 0, or -1 with errno set and the registry untouched. */
static int registry_append(const registry *r, const char *line)
{
    struct stat st;
    if (stat(r->path, &st) != 0)
        return -1;
    /* Keep the file's line endings, and its last line whole. */
    const char *eol = strstr(r->text, "\r\n") ? "\r\n" : "\n";
    bool needs_eol = r->len > 0 && r->text[r->len - 1] != '\n';
    size_t eol_len = strlen(eol), line_len = strlen(line);
    size_t len = r->len + (needs_eol ? eol_len : 0) + line_len + eol_len;
    char *text = malloc(len);
    if (text) { /* by length: a stray NUL byte in the registry is kept too */
        char *w = text;
        memcpy(w, r->text, r->len);
        w += r->len;
        if (needs_eol) {
            memcpy(w, eol, eol_len);
            w += eol_len;
        }
        memcpy(w, line, line_len);
        memcpy(w + line_len, eol, eol_len);
    }
    const char *slash = strrchr(r->path, '/');
    char *tmp = slash ? format("%.*s/.registry.def.XXXXXX", (int)(slash - r->path), r->path)
                      : format(".registry.def.XXXXXX");
    int fd = text && tmp ? mkstemp(tmp) : -1;
    if (!text || !tmp)
        errno = ENOMEM;
    int rc = -1;
    if (fd >= 0) {
        if (fchmod(fd, st.st_mode & 07777) != 0) {
            int saved = errno;
            close(fd);
            errno = saved;
        } else if (write_and_close(fd, text, len) == 0) {
            rc = rename(tmp, r->path);
        }
        if (rc != 0) {
            int saved = errno;
            unlink(tmp);
            errno = saved;
        }
    }
    int saved = errno;
    free(text);
    free(tmp);
    errno = saved;
    return rc;
}

/* ==== The migration file ==== */

static const char template_text[] =
    "/* %s:\n"
    " * TODO: say in one to three sentences what this migration changes and why.\n"
    " *\n"
    " * Written by `poblysh migrate generate`. Make up() apply the change and down()\n"
    " * undo it exactly, with the pm_schema_* calls of poblysh/schema.h, then rebuild.\n"
    " * Once this migration has been applied anywhere, do not edit it: its checksum\n"
    " * would change and `migrate status` would report it modified. Write a new\n"
    " * migration instead. */\n"
    "#include \"poblysh/poblysh.h\"\n"
    "\n"
    "/* For example, a table created by up() and dropped by down():\n"
    " *\n"
    " * static const pm_column widgets_columns[] = {\n"
    " *     {.name = \"id\", .type = PM_TYPE_UUID, .flags = PM_PRIMARY_KEY | PM_NOT_NULL},\n"
    " *     {.name = \"name\", .type = PM_TYPE_TEXT, .flags = PM_NOT_NULL},\n"
    " * };\n"
    " *\n"
    " * static const pm_table widgets = {\n"
    " *     .name = \"widgets\",\n"
    " *     .columns = widgets_columns,\n"
    " *     .ncolumns = PM_ARRAY_LEN(widgets_columns),\n"
    " * };\n"
    " *\n"
    " * in up():   return pm_schema_create_table(schema, &widgets, 0);\n"
    " * in down(): return pm_schema_drop_table(schema, \"widgets\", 0);\n"
    " */\n"
    "\n"
    "static int up(pm_schema *schema, const void *data)\n"
    "{\n"
    "    (void)schema;\n"
    "    (void)data;\n"
    "    return 0;\n"
    "}\n"
    "\n"
    "static int down(pm_schema *schema, const void *data)\n"
    "{\n"
    "    (void)schema;\n"
    "    (void)data;\n"
    "    return 0;\n"
    "}\n"
    "\n"
    "PM_MIGRATION(%s, up, down, PM_MIGRATION_DEFAULT);\n";

/* Creates path with the template for name; never replaces an existing file.
 * Returns 0, or -1 with errno set (EEXIST: the file is there) and nothing
 * left behind. */
static int migration_create(const char *path, const char *name)
{
    char *text = format(template_text, name, name);
    if (!text) {
        errno = ENOMEM;
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    int rc = fd < 0 ? -1 : write_and_close(fd, text, strlen(text));
    int saved = errno;
    if (fd >= 0 && rc != 0)
        unlink(path);
    free(text);
    errno = saved;
    return rc;
}

/* ==== The command ==== */

/* Everything one run allocates, released in one place. */
typedef struct generate_run {
    char *dir; /* DIR without trailing slashes */
    char *full_name;
    char *file; /* DIR/<full_name>.c */
    char *line; /* PM_REGISTER(<full_name>) */
    registry reg;
} generate_run;

static void generate_run_free(generate_run *g)
{
    free(g->dir);
    free(g->full_name);
    free(g->file);
    free(g->line);
    registry_free(&g->reg);
}

static int out_of_memory(void)
{
    fprintf(stderr, "poblysh: error: out of memory\n");
    return PM_EXIT_FAILURE;
}

/* Checks the new migration against the registry: not a duplicate, and newer
 * than every registered one. Returns 0 or an exit code. */
static int check_against_registry(const generate_run *g, const char *description)
{
    if (g->reg.same) {
        fprintf(stderr,
                "poblysh: a migration named \"%s\" is already registered in %s: %s\n"
                "Pick another NAME.\n",
                description, g->reg.path, g->reg.same);
        return PM_EXIT_USAGE;
    }
    int cmp = g->reg.newest ? strncmp(g->reg.newest, g->full_name, VERSION_LEN) : -1;
    if (cmp == 0) {
        fprintf(stderr,
                "poblysh: the newest registered migration, %s, has the same version as the new "
                "one (%.*s, UTC now): it was generated in this same second.\n"
                "Try again in a second: the registry must stay in increasing order.\n",
                g->reg.newest, VERSION_LEN, g->full_name);
        return PM_EXIT_USAGE;
    }
    if (cmp > 0) {
        fprintf(stderr,
                "poblysh: the newest registered migration, %s, is newer than the current UTC "
                "time (%.*s), so a new migration would sort before it.\n"
                "Is this computer's clock behind? The registry must stay in increasing order.\n",
                g->reg.newest, VERSION_LEN - 1, g->full_name + 1);
        return PM_EXIT_USAGE;
    }
    return 0;
}

static int generate(generate_run *g, const cli_options *opts)
{
    const char *name = opts->argument;
    if (!(opts->given & OPT_ARGUMENT) || !name)
        return usage_error("migrate generate needs a NAME, e.g. poblysh migrate generate "
                           "add_widgets%s",
                           "");
    const char *problem = name_problem(name);
    if (problem) {
        fprintf(stderr,
                "poblysh: invalid migration NAME \"%s\": it %s.\n"
                "NAME is 1 to 100 characters of a-z, 0-9 and _, starting and ending with a "
                "letter or digit.\nTry 'poblysh migrate generate --help'.\n",
                name, problem);
        return PM_EXIT_USAGE;
    }
    /* -d DIR (SeaORM's --migration-dir, our --source) names the folder too */
    const char *dir = opts->dir ? opts->dir : opts->source ? opts->source : "migrations";
    if (!*dir)
        return usage_error("--dir is empty%s", "");
    size_t dir_len = strlen(dir);
    while (dir_len > 1 && dir[dir_len - 1] == '/')
        dir_len--;

    char version[VERSION_LEN + 1];
    if (version_now(version) < 0) {
        fprintf(stderr, "poblysh: error: cannot read the current UTC time\n");
        return PM_EXIT_FAILURE;
    }
    g->dir = format("%.*s", (int)dir_len, dir);
    g->full_name = format("%s_%s", version, name);
    if (!g->dir || !g->full_name)
        return out_of_memory();
    const char *sep = strcmp(g->dir, "/") == 0 ? "" : "/";
    g->file = format("%s%s%s.c", g->dir, sep, g->full_name);
    g->line = format(REGISTER_PREFIX "%s)", g->full_name);
    g->reg.path = format("%s%sregistry.def", g->dir, sep);
    if (!g->file || !g->line || !g->reg.path)
        return out_of_memory();

    pm_error err = PM_ERROR_INIT;
    if (pm_migration_name_check(g->full_name, &err) < 0) {
        fprintf(stderr, "poblysh: %s\n", err.message ? err.message : pm_strerror(err.code));
        pm_error_clear(&err);
        return PM_EXIT_USAGE;
    }

    if (read_file(g->reg.path, &g->reg.text, &g->reg.len) < 0) {
        fprintf(stderr,
                "poblysh: error: cannot read %s: %s\n"
                "Run it from the project root or pass --dir with the migrations folder.\n",
                g->reg.path, strerror(errno));
        return PM_EXIT_FAILURE;
    }
    /* rename() would replace a link with a file and leave its target behind. */
    struct stat st;
    if (lstat(g->reg.path, &st) == 0 && S_ISLNK(st.st_mode)) {
        fprintf(stderr,
                "poblysh: error: %s is a symbolic link, which generate's rename() would "
                "replace with a file: make it a regular file, or register the migration by "
                "hand\n",
                g->reg.path);
        return PM_EXIT_FAILURE;
    }
    int rc = registry_scan(&g->reg, name);
    if (rc == 0)
        rc = check_against_registry(g, name);
    if (rc)
        return rc;

    if (migration_create(g->file, g->full_name) < 0) {
        if (errno == EEXIST) {
            fprintf(stderr, "poblysh: %s already exists; not overwriting it\n", g->file);
            return PM_EXIT_USAGE;
        }
        fprintf(stderr, "poblysh: error: cannot create %s: %s\n", g->file, strerror(errno));
        return PM_EXIT_FAILURE;
    }
    if (registry_append(&g->reg, g->line) < 0) {
        int saved = errno;
        if (unlink(g->file) == 0)
            fprintf(stderr, "poblysh: error: cannot update %s: %s; removed %s again\n", g->reg.path,
                    strerror(saved), g->file);
        else
            fprintf(stderr,
                    "poblysh: error: cannot update %s: %s; could not remove %s either (%s): "
                    "delete it by hand\n",
                    g->reg.path, strerror(saved), g->file, strerror(errno));
        return PM_EXIT_FAILURE;
    }
    printf("Created %s and registered it in %s\n", g->file, g->reg.path);
    return PM_EXIT_OK;
}

/* ==== --sql ==== */

/* "sqlite|postgres|mysql": the backends a section can name. */
static char *backend_names(void)
{
    const pm_backend *const *all = pm_backends();
    size_t len = 1;
    for (size_t i = 0; all[i]; i++)
        len += strlen(all[i]->name) + 1;
    char *names = malloc(len);
    if (!names)
        return NULL;
    names[0] = '\0';
    for (size_t i = 0; all[i]; i++) {
        if (i)
            strcat(names, "|");
        strcat(names, all[i]->name);
    }
    return names;
}

static const char sql_template[] =
    "-- %s: TODO say in one to three sentences what this migration changes and why.\n"
    "-- Written by `poblysh migrate generate --sql`. Sections: \"-- migrate:up\" and\n"
    "-- \"-- migrate:down\"; options after them: transaction:false, and\n"
    "-- dialect=%s for a variant of one backend (docs/sql-migrations.md).\n"
    "\n"
    "-- migrate:up\n"
    "\n"
    "\n"
    "-- migrate:down\n"
    "\n";

/* The newest migration of folder dir (pm_source), or "" when it has none. */
static int newest_in_folder(const char *dir, const char *description, char **newest)
{
    pm_source *src = NULL;
    pm_error err = PM_ERROR_INIT;
    *newest = NULL;
    int rc = pm_source_new(&src, &err);
    if (rc == 0 && pm_source_add_dir(src, dir, &err) < 0 &&
        !(err.message && strstr(err.message, "holds no migration")))
        rc = -1;
    size_t count = 0;
    const pm_migration *const *set = rc == 0 ? pm_source_migrations(src, &count) : NULL;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        const char *d = strchr(set[i]->name, '_');
        if (set[i]->name[0] == 'm')
            d = strchr(set[i]->name + 1 + VERSION_LEN - 1, '_');
        if (d && strcmp(d + 1, description) == 0) {
            fprintf(stderr, "poblysh: a migration named \"%s\" is already in %s: %s\n", description,
                    dir, set[i]->name);
            rc = PM_EXIT_USAGE;
        }
    }
    if (rc == 0 && count)
        *newest = format("%s", set[count - 1]->name);
    if (rc < 0) {
        fprintf(stderr, "poblysh: error: %s\n",
                err.message ? err.message : "cannot read the folder");
        rc = PM_EXIT_FAILURE;
    }
    pm_error_clear(&err);
    pm_source_free(src);
    return rc;
}

static int generate_sql(const cli_options *opts)
{
    const char *name = opts->argument;
    if (!(opts->given & OPT_ARGUMENT) || !name)
        return usage_error("migrate generate needs a NAME, e.g. poblysh migrate generate "
                           "add_widgets --sql%s",
                           "");
    const char *problem = name_problem(name);
    if (problem) {
        fprintf(stderr, "poblysh: invalid migration NAME \"%s\": it %s.\n", name, problem);
        return PM_EXIT_USAGE;
    }
    char version[VERSION_LEN + 1];
    if (version_now(version) < 0)
        return PM_EXIT_FAILURE;
    const char *dir = opts->source ? opts->source : opts->dir ? opts->dir : "migrations";
    char *full = NULL;
    if (opts->source) { /* dbmate's naming: YYYYMMDDHHMMSS_NAME */
        char digits[VERSION_LEN];
        size_t n = 0;
        for (const char *p = version + 1; *p; p++)
            if (*p != '_')
                digits[n++] = *p;
        digits[n] = '\0';
        full = format("%s_%s", digits, name);
    } else {
        full = format("%s_%s", version, name);
    }
    char *newest = NULL;
    int rc = full ? newest_in_folder(dir, name, &newest) : out_of_memory();
    if (rc == 0 && newest && pm_migration_name_cmp(newest, full) >= 0) {
        fprintf(stderr,
                "poblysh: the newest migration of %s, %s, is not older than the new one "
                "(%s): try again in a second, or check this computer's clock\n",
                dir, newest, full);
        rc = PM_EXIT_USAGE;
    }
    char *path = rc == 0 ? format("%s/%s.sql", dir, full) : NULL;
    char *backends = rc == 0 ? backend_names() : NULL;
    char *text = backends ? format(sql_template, full, backends) : NULL;
    free(backends);
    if (rc == 0 && (!path || !text))
        rc = out_of_memory();
    if (rc == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 || write_and_close(fd, text, strlen(text)) != 0) {
            int saved = errno;
            if (fd >= 0) /* an empty or cut file would break every later command */
                unlink(path);
            fprintf(stderr, "poblysh: error: cannot create %s: %s\n", path, strerror(saved));
            rc = saved == EEXIST ? PM_EXIT_USAGE : PM_EXIT_FAILURE;
        } else {
            /* Only a program built with a set embeds the folder's SQL files. */
            printf("Created %s%s\n", path,
                   opts->source ? ""
                   : opts->set  ? " (embedded in the binary at the next build)"
                                : " (embedded by poblysh_add_migrations() at the next build)");
        }
    }
    free(full);
    free(newest);
    free(path);
    free(text);
    return rc;
}

int pm__cli_generate(const cli_options *opts)
{
    if (opts->given & OPT_SQL)
        return generate_sql(opts);
    generate_run g;
    memset(&g, 0, sizeof(g));
    int rc = generate(&g, opts);
    generate_run_free(&g);
    return rc;
}
