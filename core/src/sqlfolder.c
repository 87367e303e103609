/* sqlfolder.c: reads a folder of SQL migrations laid out the way the tool
 * that wrote it lays them out:
 *   dbmate, goose   <version>_<description>.sql with section markers
 *   golang-migrate, sqlx
 *                   <version>_<description>.up.sql [+ .down.sql], or one
 *                   <version>_<description>.sql without markers (up only)
 *   diesel          <version>_<name>/up.sql [+ down.sql]
 *   Flyway          V<version>__<description>.sql [+ U<version>__....sql]
 * Each entry is classified by its name. A folder holds one family (numbered
 * files, diesel folders or Flyway files): entries of another are reported.
 * A layout named by the caller reads the folder by that tool's rules only.
 * Every entry that cannot be read is reported in one error, and nothing is
 * added unless the whole folder is valid. */
#define _DEFAULT_SOURCE /* d_type and DT_* in <dirent.h> (glibc, musl, the BSDs) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* At most this many problems are listed; the rest are counted. */
#define PROBLEMS_LISTED 40

typedef enum family { FAMILY_NUMBERED, FAMILY_DIESEL, FAMILY_FLYWAY, FAMILY_COUNT } family;

static const char *const family_names[FAMILY_COUNT] = {
    "numbered files (dbmate, golang-migrate, goose, sqlx)", "diesel folders", "Flyway files"};

/* A format a user may name, the family it reads and what it accepts. */
typedef struct layout {
    const char *name;
    family family;
    bool plain; /* NAME.sql */
    bool pairs; /* NAME.up.sql + NAME.down.sql */
} layout;

static const layout layouts[] = {
    {"dbmate", FAMILY_NUMBERED, true, false},         {"goose", FAMILY_NUMBERED, true, false},
    {"golang-migrate", FAMILY_NUMBERED, false, true}, {"sqlx", FAMILY_NUMBERED, true, true},
    {"diesel", FAMILY_DIESEL, false, false},          {"flyway", FAMILY_FLYWAY, false, false},
};

/* The state of one folder being read. */
typedef struct reader {
    pm_source *src;
    const char *dir;
    int dirfd;                      /* dir, open, or -1: files opened by their path */
    const layout *format;           /* NULL: auto */
    const char *seen[FAMILY_COUNT]; /* an entry of each family, for messages */
    int family;                     /* the family the folder is read as */
    pm_buf problems;
    size_t nproblems;
    struct dirent **entries;
    int nentries;
} reader;

static void problem(reader *r, const char *entry, const char *what)
{
    if (r->nproblems++ < PROBLEMS_LISTED)
        pm_buf_printf(&r->problems, "\n  %s/%s: %s", r->dir, entry, what);
}

/* A failed add: its message (which names the file) joins the list. */
static void add_failed(reader *r, pm_error *one)
{
    if (one->code == PM_ENOMEM)
        r->problems.oom = 1;
    if (r->nproblems++ < PROBLEMS_LISTED)
        pm_buf_printf(&r->problems, "\n  %s", one->message ? one->message : "invalid");
    pm_error_clear(one);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* ==== Reading files ==== */

static char *refuse_file(const struct stat *st, const char *path, pm_error *err)
{
    if (!S_ISREG(st->st_mode))
        pm_error_set(err, PM_ESET,
                     "%s: not a regular file (a FIFO, device or folder): a migration must be a "
                     "file",
                     path);
    else
        pm_error_set(err, PM_ESET,
                     "%s: %jd bytes, larger than the %u MiB a migration file may have", path,
                     (intmax_t)st->st_size, PM_SQL_FILE_MAX >> 20);
    return NULL;
}

/* Reads fd to its end into a new string (*out, NUL-terminated), knowing
 * from fstat() that it holds size bytes: one read() of size + 1 bytes
 * normally returns all of it, and a read that returned exactly size bytes
 * ends it, without a second read() to see the end. A file that grows while
 * it is read is read on, up to one byte past PM_SQL_FILE_MAX (the caller
 * refuses that). Returns 0, -1 with errno, or PM_ENOMEM. */
static int read_whole(int fd, size_t size, char **out, size_t *length)
{
    size_t cap = size + 1, len = 0;
    char *text = malloc(cap + 1);
    for (;;) {
        if (text && len == cap && cap <= PM_SQL_FILE_MAX) {
            cap = cap > PM_SQL_FILE_MAX / 2 ? PM_SQL_FILE_MAX + 1 : cap * 2;
            char *bigger = realloc(text, cap + 1);
            if (!bigger)
                free(text);
            text = bigger;
        }
        if (!text)
            return PM_ENOMEM;
        if (len == cap)
            break; /* past the limit */
        ssize_t n = read(fd, text + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            free(text);
            return -1;
        }
        len += (size_t)n;
        if (n == 0 || (size > 0 && len == size))
            break; /* size 0 may be a file that does not know its size: read to the end */
    }
    text[len] = '\0';
    *out = text;
    *length = len;
    return 0;
}

/* Every path the reader builds is r->dir, '/', then a name inside it: that
 * name is opened relative to the folder's descriptor, so the kernel walks
 * the folder's own path once, not once a file (a tenth of a status's time
 * reading 1,000 files). */
static const char *inside(const reader *r, const char *path)
{
    return path + strlen(r->dir) + 1;
}

static int open_at(const reader *r, const char *path, int flags)
{
    return r->dirfd >= 0 ? openat(r->dirfd, inside(r, path), flags) : open(path, flags);
}

/* A migration file's text. Opening never blocks (O_NONBLOCK: a FIFO would
 * wait for a writer) and only a regular file of at most PM_SQL_FILE_MAX bytes
 * is read (a link to /dev/zero would never end). Four system calls: open,
 * fstat, read, close. */
static char *read_file(const reader *r, const char *path, size_t *length, pm_error *err)
{
    int fd = open_at(r, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        pm_error_set(err, PM_ESET, "%s: cannot read: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || (uintmax_t)st.st_size > PM_SQL_FILE_MAX) {
        close(fd);
        return refuse_file(&st, path, err);
    }
    char *text = NULL;
    int rc = read_whole(fd, (size_t)st.st_size, &text, length);
    int saved = errno;
    close(fd);
    if (rc == PM_ENOMEM)
        pm_error_set(err, PM_ENOMEM, "out of memory");
    else if (rc < 0)
        pm_error_set(err, PM_ESET, "%s: cannot read: %s", path, strerror(saved));
    else if (*length > PM_SQL_FILE_MAX)
        pm_error_set(err, PM_ESET,
                     "%s: grew past the %u MiB a migration file may have while being read", path,
                     PM_SQL_FILE_MAX >> 20);
    if (rc == 0 && *length <= PM_SQL_FILE_MAX)
        return text;
    free(text);
    return NULL;
}

/* Whether there is a directory entry at path (a dangling link counts, and
 * fails when read); never opens it, so a FIFO cannot block. */
static bool entry_exists(const reader *r, const char *path)
{
    struct stat st;
    return r->dirfd >= 0 ? fstatat(r->dirfd, inside(r, path), &st, AT_SYMLINK_NOFOLLOW) == 0
                         : lstat(path, &st) == 0;
}

/* ==== Adding migrations ==== */

/* name's migration from the file at up_path and, when down_path is not
 * NULL, the file there. pair: both run whole; else up_path has sections. */
static void add_files(reader *r, const char *name, const char *up_path, const char *down_path,
                      bool pair)
{
    pm_error one = PM_ERROR_INIT;
    pm__sql_file up = {up_path, NULL, 0}, down = {down_path, NULL, 0};
    char *up_text = read_file(r, up_path, &up.length, &one);
    char *down_text = up_text && down_path ? read_file(r, down_path, &down.length, &one) : NULL;
    up.text = up_text;
    down.text = down_text;
    int rc = up_text && (down_text || !down_path) ? 0 : PM_ESET;
    if (rc == 0 && pair)
        rc = pm__source_add_pair(r->src, name, &up, down_path ? &down : NULL, &one);
    else if (rc == 0)
        rc = pm_source_add_sql(r->src, name, up.text, up.length, up_path, &one);
    if (rc < 0)
        add_failed(r, &one);
    free(up_text);
    free(down_text);
}

/* dir/entry[/child], joined by hand: one per file, so no printf. */
static char *path_of(const reader *r, const char *entry, const char *child)
{
    size_t nd = strlen(r->dir), ne = strlen(entry), nc = child ? strlen(child) + 1 : 0;
    char *path = malloc(nd + 1 + ne + nc + 1), *p = path;
    if (!path)
        return NULL;
    memcpy(p, r->dir, nd);
    p[nd] = '/';
    memcpy(p += nd + 1, entry, ne);
    p += ne;
    if (child) {
        *p++ = '/';
        memcpy(p, child, nc - 1);
        p += nc - 1;
    }
    *p = '\0';
    return path;
}

/* Whether name is a migration name; if not, the entry is reported. */
static bool name_ok(reader *r, const char *entry, const char *name)
{
    pm__version v;
    const char *rule = pm__version_parse(name, &v);
    if (rule) {
        char *what = pm__format("\"%s\" is not a migration name: %s", name, rule);
        problem(r, entry, what ? what : rule);
        free(what);
    }
    return rule == NULL;
}

/* ==== Numbered files: dbmate, goose, golang-migrate, sqlx ==== */

static void read_numbered(reader *r, const char *entry)
{
    bool up = ends_with(entry, ".up.sql"), down = ends_with(entry, ".down.sql");
    size_t cut = up ? 7 : down ? 9 : 4;
    char *name = pm__strndup(entry, strlen(entry) - cut);
    char *path = path_of(r, entry, NULL);
    /* a pair's other file; a plain NAME.sql has none */
    char *other = name && (up || down)
                      ? pm__format("%s/%s.%s.sql", r->dir, name, down ? "up" : "down")
                      : NULL;
    if (!name || !path || ((up || down) && !other))
        r->problems.oom = 1;
    else if (r->format && (up || down) && !r->format->pairs)
        problem(r, entry, "an .up.sql/.down.sql pair, which this format does not have");
    else if (r->format && !up && !down && !r->format->plain)
        problem(r, entry,
                "golang-migrate's migrations are <version>_<title>.up.sql with an optional "
                ".down.sql");
    else if (down && !entry_exists(r, other))
        problem(r, entry, "a .down.sql file without its .up.sql");
    else if (!down && name_ok(r, entry, name))
        add_files(r, name, path, up && entry_exists(r, other) ? other : NULL, up);
    free(name);
    free(path);
    free(other);
}

/* ==== diesel: one folder per migration ==== */

static void read_diesel(reader *r, const char *entry)
{
    char *up = path_of(r, entry, "up.sql"), *down = path_of(r, entry, "down.sql");
    char *meta = path_of(r, entry, "metadata.toml");
    if (!up || !down || !meta)
        r->problems.oom = 1;
    else if (entry_exists(r, meta))
        problem(r, entry,
                "metadata.toml is not read: if it sets run_in_transaction = false, make "
                "\"-- no-transaction\" the first line of up.sql instead, then remove it");
    else if (name_ok(r, entry, entry))
        add_files(r, entry, up, entry_exists(r, down) ? down : NULL, true);
    free(up);
    free(down);
    free(meta);
}

/* ==== Flyway: V<version>__<desc>.sql, U<version>__<desc>.sql ==== */

/* The V file of the U file entry: same version, any description. */
static const char *versioned_of(const reader *r, const char *undo)
{
    pm__version want, v;
    char *as_v = pm__format("V%.*s", (int)(strlen(undo) - 5), undo + 1);
    const char *found = NULL;
    if (as_v && !pm__version_parse(as_v, &want))
        for (int i = 0; i < r->nentries && !found; i++) {
            const char *e = r->entries[i]->d_name;
            char *stem = e[0] == 'V' && ends_with(e, ".sql") ? pm__strndup(e, strlen(e) - 4) : NULL;
            if (stem && !pm__version_parse(stem, &v) && pm__version_cmp(&want, &v) == 0)
                found = e;
            free(stem);
        }
    free(as_v);
    return found;
}

/* The U file of the V file entry, if any. */
static const char *undo_of(const reader *r, const char *versioned)
{
    for (int i = 0; i < r->nentries; i++) {
        const char *e = r->entries[i]->d_name;
        if (e[0] == 'U' && ends_with(e, ".sql") && versioned_of(r, e) == versioned)
            return e;
    }
    return NULL;
}

static void read_flyway(reader *r, const char *entry)
{
    if (entry[0] == 'R') {
        problem(r, entry,
                "Flyway's repeatable migrations (R__) are not run by poblysh: make it a versioned "
                "V file, or run it yourself after up");
        return;
    }
    if (entry[0] == 'U') {
        if (!versioned_of(r, entry))
            problem(r, entry, "an undo (U) file without the V file of its version");
        return; /* read with its V file */
    }
    char *name = pm__strndup(entry, strlen(entry) - 4);
    const char *undo = undo_of(r, entry);
    char *path = path_of(r, entry, NULL), *undo_path = undo ? path_of(r, undo, NULL) : NULL;
    if (!name || !path || (undo && !undo_path))
        r->problems.oom = 1;
    else if (name_ok(r, entry, name))
        add_files(r, name, path, undo_path, true);
    free(name);
    free(path);
    free(undo_path);
}

/* ==== The folder ==== */

static bool flyway_name(const char *e)
{
    return ends_with(e, ".sql") && (((e[0] == 'V' || e[0] == 'U') && e[1] >= '0' && e[1] <= '9') ||
                                    (e[0] == 'R' && e[1] == '_' && e[2] == '_'));
}

/* Whether the entry is a folder (a link to one counts): the type that
 * readdir() gave saves a stat() for each file, except on file systems that
 * do not give one (DT_UNKNOWN) and for links. */
static bool is_directory(reader *r, const struct dirent *de)
{
    if (de->d_type == DT_REG)
        return false;
    if (de->d_type == DT_DIR)
        return true;
    char *path = path_of(r, de->d_name, NULL);
    struct stat st;
    bool dir = path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    if (!path)
        r->problems.oom = 1;
    free(path);
    return dir;
}

/* Whether the folder entry holds an up.sql: a diesel migration. */
static bool diesel_folder(reader *r, const char *entry)
{
    char *up = path_of(r, entry, "up.sql");
    bool found = up && entry_exists(r, up);
    if (!up)
        r->problems.oom = 1;
    free(up);
    return found;
}

/* The family of entry, or -1 for an entry that is not a migration. */
static int family_of(reader *r, const struct dirent *de)
{
    const char *entry = de->d_name;
    if (!ends_with(entry, ".sql") && is_directory(r, de))
        return diesel_folder(r, entry) ? FAMILY_DIESEL : -1;
    if (ends_with(entry, ".up.sql") || ends_with(entry, ".down.sql"))
        return FAMILY_NUMBERED; /* golang-migrate's and sqlx's pairs, whatever the name */
    if (flyway_name(entry))
        return FAMILY_FLYWAY;
    if (ends_with(entry, ".sql"))
        return FAMILY_NUMBERED;
    return -1;
}

/* Flyway's callbacks (beforeMigrate.sql, afterEachMigrate.sql, ...). */
static bool flyway_callback(const char *entry)
{
    return strncmp(entry, "before", 6) == 0 || strncmp(entry, "after", 5) == 0;
}

/* An entry of another family than the folder's. */
static void foreign_entry(reader *r, const char *entry, int f)
{
    char *what = NULL;
    if (r->family == FAMILY_FLYWAY && f == FAMILY_NUMBERED && flyway_callback(entry))
        what = pm__format("%s", "a Flyway callback: poblysh runs no callbacks; make it a "
                                "migration or run it yourself");
    else if (r->format)
        what = pm__format("one of the %s, not %s's", family_names[f], r->format->name);
    else
        what = pm__format("one of the %s, in a folder of %s (%s): one folder holds one tool's "
                          "migrations",
                          family_names[f], family_names[r->family], r->seen[r->family]);
    problem(r, entry, what ? what : "another layout");
    free(what);
}

static void read_entry(reader *r, const char *entry, int f)
{
    if (f != r->family)
        foreign_entry(r, entry, f);
    else if (f == FAMILY_DIESEL)
        read_diesel(r, entry);
    else if (f == FAMILY_FLYWAY)
        read_flyway(r, entry);
    else
        read_numbered(r, entry);
}

/* goose's Go migrations cannot run here: say so rather than skip them. */
static void check_go_file(reader *r, const char *entry)
{
    if (ends_with(entry, ".go") && entry[0] >= '0' && entry[0] <= '9' &&
        !ends_with(entry, "_test.go"))
        problem(r, entry,
                "a goose Go migration: poblysh runs SQL and C migrations, so port it to one of "
                "them");
}

/* The family the folder is read as: the layout's, or in auto mode the
 * most distinctive one present (diesel's folders, then Flyway's V files,
 * then numbered files); entries of the others are reported. */
static void choose_family(reader *r)
{
    if (r->format)
        r->family = r->format->family;
    else if (r->seen[FAMILY_DIESEL])
        r->family = FAMILY_DIESEL;
    else if (r->seen[FAMILY_FLYWAY])
        r->family = FAMILY_FLYWAY;
    else
        r->family = FAMILY_NUMBERED;
}

static int read_entries(reader *r, pm_error *err)
{
    int *fams = malloc((size_t)(r->nentries > 0 ? r->nentries : 1) * sizeof(*fams));
    if (!fams)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    for (int i = 0; i < r->nentries; i++) {
        const char *e = r->entries[i]->d_name;
        fams[i] = e[0] == '.' ? -1 : family_of(r, r->entries[i]);
        if (fams[i] >= 0 && !r->seen[fams[i]])
            r->seen[fams[i]] = e;
    }
    choose_family(r);
    for (int i = 0; i < r->nentries; i++) {
        if (fams[i] >= 0)
            read_entry(r, r->entries[i]->d_name, fams[i]);
        else if (r->entries[i]->d_name[0] != '.')
            check_go_file(r, r->entries[i]->d_name);
    }
    free(fams);
    return 0;
}

static int report(reader *r, size_t added, pm_error *err)
{
    if (r->problems.oom)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    if (r->nproblems == 1)
        return pm_error_set(err, PM_ESET, "%s", pm_buf_cstr(&r->problems) + 3);
    if (r->nproblems > 1)
        return pm_error_set(err, PM_ESET, "the migrations folder %s has %zu problems:%s%s", r->dir,
                            r->nproblems, pm_buf_cstr(&r->problems),
                            r->nproblems > PROBLEMS_LISTED ? "\n  ... and more" : "");
    if (added == 0)
        return pm_error_set(err, PM_ESET,
                            "the migrations folder %s holds no migration: no <version>_<name>.sql "
                            "file, .up.sql pair, diesel folder or Flyway V file",
                            r->dir);
    return pm__source_check_versions(r->src, r->dir, err);
}

static const layout *find_format(const char *name)
{
    for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
        if (strcmp(layouts[i].name, name) == 0)
            return &layouts[i];
    return NULL;
}

int pm_source_format_check(const char *format, pm_error *err)
{
    if (!format || strcmp(format, "auto") == 0 || find_format(format))
        return 0;
    return pm_error_set(err, PM_EINVAL,
                        "unknown migrations layout \"%s\" (known: auto, dbmate, goose, "
                        "golang-migrate, sqlx, diesel, flyway)",
                        format);
}

int pm_source_add_dir_as(pm_source *src, const char *dir, const char *format_name, pm_error *err)
{
    reader r = {.src = src, .dir = dir, .dirfd = -1, .problems = PM_BUF_INIT};
    int rc = pm_source_format_check(format_name, err);
    if (rc < 0)
        return rc;
    if (format_name && strcmp(format_name, "auto") != 0)
        r.format = find_format(format_name);
    r.nentries = scandir(dir, &r.entries, NULL, alphasort);
    if (r.nentries < 0)
        return pm_error_set(err, PM_ESET, "cannot read the migrations folder %s: %s", dir,
                            strerror(errno));
    r.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* -1: by path, as before */
    size_t mark = pm__source_mark(src);
    rc = read_entries(&r, err);
    if (rc == 0)
        rc = report(&r, pm__source_mark(src) - mark, err);
    if (rc < 0)
        pm__source_rollback(src, mark);
    for (int i = 0; i < r.nentries; i++)
        free(r.entries[i]);
    free(r.entries);
    pm_buf_free(&r.problems);
    if (r.dirfd >= 0)
        close(r.dirfd);
    return rc;
}

int pm_source_add_dir(pm_source *src, const char *dir, pm_error *err)
{
    return pm_source_add_dir_as(src, dir, NULL, err);
}
