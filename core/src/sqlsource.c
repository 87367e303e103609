/* sqlsource.c: SQL migrations. Each file becomes an ordinary pm_migration
 * whose up() and down() run the section of the file that fits the
 * connection's dialect, so SQL and C migrations form one set for the one
 * engine. Files come from a folder (dbmate's and golang-migrate's layouts),
 * or are embedded at build time. */
#include <ctype.h>
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
#include "poblysh/source.h"

typedef struct sql_section {
    bool up;
    char *dialect; /* NULL: the fallback */
    char *text;
} sql_section;

typedef struct sql_migration {
    pm_migration migration; /* its data points back to this struct */
    char *name;
    char *file; /* for messages */
    char checksum[PM_CHECKSUM_SIZE];
    sql_section *sections;
    size_t nsections;
} sql_migration;

struct pm_source {
    const pm_migration **set; /* sorted on demand */
    size_t count, cap;
    sql_migration **owned; /* the SQL migrations, freed with the source */
    size_t nowned, capowned;
};

/* "sqlite, postgres, mysql": the backends a section may name (malloc'd). */
static char *backend_names(void)
{
    pm_buf b = PM_BUF_INIT;
    const pm_backend *const *all = pm_backends();
    for (size_t i = 0; all[i]; i++)
        pm_buf_printf(&b, "%s%s", i ? ", " : "", all[i]->name);
    return pm_buf_detach(&b);
}

/* ==== Running a section ==== */

static const sql_section *pick(const sql_migration *sm, bool up, const char *dialect)
{
    const sql_section *fallback = NULL;
    for (size_t i = 0; i < sm->nsections; i++) {
        const sql_section *s = &sm->sections[i];
        if (s->up != up)
            continue;
        if (s->dialect && strcmp(s->dialect, dialect) == 0)
            return s;
        if (!s->dialect)
            fallback = s;
    }
    return fallback;
}

static int run_section(pm_schema *schema, const sql_migration *sm, bool up)
{
    const char *dialect = pm_schema_dialect(schema);
    const sql_section *s = pick(sm, up, dialect);
    size_t n = strlen(sm->file);
    bool golang = n > 7 && strcmp(sm->file + n - 7, ".up.sql") == 0;
    if (!s && golang && !up)
        return pm_error_set(schema->err, PM_EMIGRATION,
                            "%s has no .down.sql next to it: this migration cannot be reverted",
                            sm->file);
    if (!s)
        return pm_error_set(schema->err, PM_EMIGRATION,
                            "%s has no -- migrate:%s section for %s (and none without a dialect)%s",
                            sm->file, up ? "up" : "down", dialect,
                            up ? "" : ": this migration cannot be reverted");
    return pm_schema_exec(schema, s->text);
}

static int sql_up(pm_schema *schema, const void *data)
{
    return run_section(schema, data, true);
}

static int sql_down(pm_schema *schema, const void *data)
{
    return run_section(schema, data, false);
}

/* ==== Parsing ==== */

static void sql_migration_free(sql_migration *sm)
{
    if (!sm)
        return;
    for (size_t i = 0; i < sm->nsections; i++) {
        free(sm->sections[i].dialect);
        free(sm->sections[i].text);
    }
    free(sm->sections);
    free(sm->name);
    free(sm->file);
    free(sm);
}

static int parse_fail(pm_error *err, const char *file, int line, const char *fmt, const char *arg)
{
    char *what = pm__format(fmt, arg);
    int rc = line ? pm_error_set(err, PM_ESET, "%s:%d: %s", file, line, what ? what : "invalid")
                  : pm_error_set(err, PM_ESET, "%s: %s", file, what ? what : "invalid");
    free(what);
    return rc;
}

static int unknown_dialect(pm_error *err, const char *file, int line, const char *name)
{
    char *known = backend_names();
    char *fmt = pm__format("unknown dialect \"%%s\" (known: %s)", known ? known : "?");
    int rc = fmt ? parse_fail(err, file, line, fmt, name)
                 : pm_error_set(err, PM_ENOMEM, "out of memory");
    free(fmt);
    free(known);
    return rc;
}

/* Parses the options after "-- migrate:up" into s. */
static int parse_options(const char *opts, size_t len, sql_section *s, bool *no_tx,
                         const char *file, int line, pm_error *err)
{
    char *copy = pm__strndup(opts, len);
    if (!copy)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    int rc = 0;
    bool seen_tx = false;
    for (char *save = NULL, *tok = strtok_r(copy, " \t\r", &save); tok && rc == 0;
         tok = strtok_r(NULL, " \t\r", &save)) {
        bool tx = strcmp(tok, "transaction:false") == 0 || strcmp(tok, "transaction:true") == 0;
        bool dialect = strncmp(tok, "dialect=", 8) == 0 || strncmp(tok, "dialect:", 8) == 0;
        /* One value each: "the last wins" would hide a typo or a merge. */
        if ((tx && seen_tx) || (dialect && s->dialect)) {
            rc = parse_fail(err, file, line, "the section option %s is given twice",
                            tx ? "transaction" : "dialect");
        } else if (tx) {
            seen_tx = true;
            *no_tx |= strcmp(tok, "transaction:false") == 0;
        } else if (dialect) {
            if (!pm_backend_find(tok + 8))
                rc = unknown_dialect(err, file, line, tok + 8);
            else if (!(s->dialect = pm__strdup(tok + 8)))
                rc = pm_error_set(err, PM_ENOMEM, "out of memory");
        } else {
            rc = parse_fail(
                err, file, line,
                "unknown section option \"%s\" (known: transaction:false, dialect=NAME)", tok);
        }
    }
    free(copy);
    return rc;
}

/* Whether text holds anything but blanks and -- comments. */
static bool has_sql(const char *p, const char *end)
{
    while (p < end) {
        if (isspace((unsigned char)*p)) {
            p++;
        } else if (p + 1 < end && p[0] == '-' && p[1] == '-') {
            while (p < end && *p != '\n')
                p++;
        } else {
            return true;
        }
    }
    return false;
}

static int no_statement(void *ctx, const char *statement, size_t length, size_t offset)
{
    (void)ctx;
    (void)statement;
    (void)length;
    (void)offset;
    return 0;
}

/* An unterminated quote or comment is found now, not when it runs, by the
 * lexical rules of the backend that will split it (none for a backend whose
 * drivers hand scripts to the engine's own parser). A section for any
 * backend is refused only if no backend's rules accept it. */
static int check_splits(const sql_section *s, pm_error *split)
{
    const pm_backend *named = pm_backend_find(s->dialect);
    if (named)
        return named->parses_scripts
                   ? 0
                   : pm_sql_split_flags(s->text, named->lexer_flags, no_statement, NULL, split);
    int rc = PM_EINVAL;
    const pm_backend *const *all = pm_backends();
    for (size_t i = 0; all[i] && rc < 0; i++) {
        pm_error_clear(split);
        rc = pm_sql_split_flags(s->text, all[i]->lexer_flags, no_statement, NULL, split);
    }
    return rc;
}

static int add_section(sql_migration *sm, bool up, const char *text, size_t len, sql_section *proto,
                       pm_error *err)
{
    sql_section *sections = realloc(sm->sections, (sm->nsections + 1) * sizeof(*sections));
    if (!sections)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    sm->sections = sections;
    sql_section *s = &sections[sm->nsections];
    *s = *proto;
    s->up = up;
    s->text = pm__strndup(text, len);
    if (!s->text)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    sm->nsections++;
    proto->dialect = NULL; /* now owned by the section */
    pm_error split = PM_ERROR_INIT;
    int rc = check_splits(s, &split);
    if (rc < 0)
        rc = pm_error_set(err, PM_ESET,
                          "%s: in the -- migrate:%s section%s%s: %s (lines counted "
                          "from the section's first line)",
                          sm->file, up ? "up" : "down", s->dialect ? " for " : "",
                          s->dialect ? s->dialect : "",
                          split.message ? split.message : "cannot be split");
    pm_error_clear(&split);
    return rc;
}

/* Does "-- migrate:up" (or :down) start the line at p? Sets *up and the
 * offset of the options. */
static bool section_header(const char *p, const char *eol, bool *up, const char **opts)
{
    if (eol - p < 2 || p[0] != '-' || p[1] != '-')
        return false;
    p += 2;
    while (p < eol && (*p == ' ' || *p == '\t'))
        p++;
    if ((size_t)(eol - p) >= 10 && strncmp(p, "migrate:up", 10) == 0 &&
        (p + 10 == eol || isspace((unsigned char)p[10]))) {
        *up = true;
        *opts = p + 10;
        return true;
    }
    if ((size_t)(eol - p) >= 12 && strncmp(p, "migrate:down", 12) == 0 &&
        (p + 12 == eol || isspace((unsigned char)p[12]))) {
        *up = false;
        *opts = p + 12;
        return true;
    }
    return false;
}

/* A dbmate-style file: "-- migrate:up" and "-- migrate:down" sections. */
static int parse_sections(sql_migration *sm, const char *text, size_t length, bool *no_tx,
                          pm_error *err)
{
    const char *p = text, *end = text + length, *body = NULL;
    bool in_up = false, any_up = false;
    sql_section proto = {0};
    int line = 1, rc = 0;
    if (length >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
        (unsigned char)p[2] == 0xBF)
        p += 3; /* byte-order mark */
    const char *first = p;
    while (p < end && rc == 0) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        bool up;
        const char *opts;
        if (section_header(p, eol, &up, &opts)) {
            if (body)
                rc = add_section(sm, in_up, body, (size_t)(p - body), &proto, err);
            else if (has_sql(first, p))
                rc = parse_fail(err, sm->file, line, "SQL before the first -- migrate:up%s", "");
            if (rc == 0) {
                memset(&proto, 0, sizeof(proto));
                rc = parse_options(opts, (size_t)(eol - opts), &proto, no_tx, sm->file, line, err);
            }
            for (size_t i = 0; rc == 0 && i < sm->nsections; i++) {
                const sql_section *s = &sm->sections[i];
                if (s->up == up &&
                    ((!s->dialect && !proto.dialect) ||
                     (s->dialect && proto.dialect && !strcmp(s->dialect, proto.dialect))))
                    rc = parse_fail(err, sm->file, line,
                                    "a second -- migrate:%s section for the same dialect",
                                    up ? "up" : "down");
            }
            in_up = up;
            any_up |= up;
            body = eol < end ? eol + 1 : eol;
        }
        p = eol < end ? eol + 1 : eol;
        line++;
    }
    if (rc == 0 && body)
        rc = add_section(sm, in_up, body, (size_t)(end - body), &proto, err);
    free(proto.dialect);
    if (rc == 0 && !any_up)
        rc = parse_fail(err, sm->file, 0, "no -- migrate:up section%s", "");
    return rc;
}

static int new_sql_migration(sql_migration **out, const char *name, const char *file, pm_error *err)
{
    sql_migration *sm = calloc(1, sizeof(*sm));
    if (!sm || !(sm->name = pm__strdup(name)) || !(sm->file = pm__strdup(file))) {
        sql_migration_free(sm);
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    }
    *out = sm;
    return 0;
}

static void finish(sql_migration *sm, bool no_tx)
{
    sm->migration = (pm_migration){
        sm->name,     sql_up, sql_down, no_tx ? PM_MIGRATION_NO_TRANSACTION : PM_MIGRATION_DEFAULT,
        sm->checksum, sm};
}

/* ==== The source ==== */

int pm_source_new(pm_source **out, pm_error *err)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : pm_error_set(err, PM_ENOMEM, "out of memory");
}

void pm_source_free(pm_source *src)
{
    if (!src)
        return;
    for (size_t i = 0; i < src->nowned; i++)
        sql_migration_free(src->owned[i]);
    free(src->owned);
    free(src->set);
    free(src);
}

static int push(pm_source *src, const pm_migration *m, pm_error *err)
{
    if (src->count == src->cap) {
        size_t cap = src->cap ? src->cap * 2 : 16;
        const pm_migration **set = realloc(src->set, cap * sizeof(*set));
        if (!set)
            return pm_error_set(err, PM_ENOMEM, "out of memory");
        src->set = set;
        src->cap = cap;
    }
    src->set[src->count++] = m;
    return 0;
}

static int own(pm_source *src, sql_migration *sm, pm_error *err)
{
    if (src->nowned == src->capowned) {
        size_t cap = src->capowned ? src->capowned * 2 : 16;
        sql_migration **owned = realloc(src->owned, cap * sizeof(*owned));
        if (!owned) {
            sql_migration_free(sm);
            return pm_error_set(err, PM_ENOMEM, "out of memory");
        }
        src->owned = owned;
        src->capowned = cap;
    }
    src->owned[src->nowned++] = sm;
    return push(src, &sm->migration, err);
}

int pm_source_add_migrations(pm_source *src, const pm_migration *const *set, size_t count,
                             pm_error *err)
{
    for (size_t i = 0; i < count; i++) {
        int rc = push(src, set[i], err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int pm_source_add_sql(pm_source *src, const char *name, const char *text, size_t length,
                      const char *file, pm_error *err)
{
    sql_migration *sm = NULL;
    bool no_tx = false;
    int rc = pm_migration_name_check(name, err);
    if (rc < 0)
        return pm_error_set(err, PM_ESET,
                            "%s: the name \"%s\" does not parse: expected "
                            "<version>_<name>.sql, the version digits or "
                            "mYYYY_MM_DD_HHMMSS, the name starting with a letter",
                            file, name);
    if ((rc = new_sql_migration(&sm, name, file, err)) < 0)
        return rc;
    rc = parse_sections(sm, text, length, &no_tx, err);
    if (rc == 0)
        rc = pm_checksum(sm->checksum, text, length, err);
    if (rc < 0) {
        sql_migration_free(sm);
        return rc;
    }
    finish(sm, no_tx);
    return own(src, sm, err);
}

int pm_source_add_embedded(pm_source *src, const pm_embedded_sql *files, size_t count,
                           pm_error *err)
{
    for (size_t i = 0; i < count; i++) {
        char file[320];
        snprintf(file, sizeof(file), "migrations/%s.sql", files[i].name);
        int rc = pm_source_add_sql(src, files[i].name, files[i].text, files[i].length, file, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return pm_migration_name_cmp((*(const pm_migration *const *)a)->name,
                                 (*(const pm_migration *const *)b)->name);
}

const pm_migration *const *pm_source_migrations(pm_source *src, size_t *count)
{
    if (src->count > 1)
        qsort(src->set, src->count, sizeof(*src->set), by_name);
    *count = src->count;
    return src->set;
}

/* ==== Folders ==== */

/* Reads the first limit + 1 bytes of fd into b: one more than allowed is
 * enough to know the file grew past the limit. */
static int read_bounded(int fd, pm_buf *b, size_t limit)
{
    char chunk[8192];
    while (b->len <= limit) {
        size_t want = limit + 1 - b->len < sizeof(chunk) ? limit + 1 - b->len : sizeof(chunk);
        ssize_t n = read(fd, chunk, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return (int)n;
        pm_buf_appendn(b, chunk, (size_t)n);
        if (b->oom)
            return 0; /* pm_buf_detach() says so */
    }
    return 0;
}

/* A migration file's text. Opening never blocks (O_NONBLOCK: a FIFO would
 * wait for a writer) and only a regular file of at most PM_SQL_FILE_MAX bytes
 * is read (a link to /dev/zero would never end). */
static char *read_file(const char *path, size_t *length, pm_error *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        pm_error_set(err, PM_ESET, "%s: cannot read: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || (uintmax_t)st.st_size > PM_SQL_FILE_MAX) {
        close(fd);
        if (!S_ISREG(st.st_mode))
            pm_error_set(err, PM_ESET,
                         "%s: not a regular file (a FIFO, device or folder): a migration must be "
                         "a file",
                         path);
        else
            pm_error_set(err, PM_ESET,
                         "%s: %jd bytes, larger than the %u MiB a migration file "
                         "may have",
                         path, (intmax_t)st.st_size, PM_SQL_FILE_MAX >> 20);
        return NULL;
    }
    pm_buf b = PM_BUF_INIT;
    int rc = read_bounded(fd, &b, PM_SQL_FILE_MAX);
    int saved = errno;
    close(fd);
    *length = b.len;
    char *text = pm_buf_detach(&b);
    if (rc < 0 || !text || *length > PM_SQL_FILE_MAX) {
        free(text);
        if (rc < 0)
            pm_error_set(err, PM_ESET, "%s: cannot read: %s", path, strerror(saved));
        else if (!text)
            pm_error_set(err, PM_ENOMEM, "out of memory");
        else
            pm_error_set(err, PM_ESET,
                         "%s: grew past the %u MiB a migration file may have while being read",
                         path, PM_SQL_FILE_MAX >> 20);
        return NULL;
    }
    return text;
}

/* Whether there is a directory entry at path (a dangling link counts, and
 * fails when read); never opens it, so a FIFO cannot block. */
static bool entry_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static const char *skip_bom(const char *text)
{
    return strncmp(text, "\xEF\xBB\xBF", 3) == 0 ? text + 3 : text;
}

/* A golang-migrate pair: up file, optional down file, as one migration. */
static int add_pair(pm_source *src, const char *dir, const char *stem, bool has_down, pm_error *err)
{
    char up_path[4096], down_path[4096];
    snprintf(up_path, sizeof(up_path), "%s/%s.up.sql", dir, stem);
    snprintf(down_path, sizeof(down_path), "%s/%s.down.sql", dir, stem);
    size_t up_len = 0, down_len = 0;
    char *up = read_file(up_path, &up_len, err);
    char *down = up && has_down ? read_file(down_path, &down_len, err) : NULL;
    int rc = !up || (has_down && !down) ? PM_ESET : 0;
    /* One text, so checksum and parsing work as for a dbmate file. */
    char *text =
        rc == 0 ? pm__format("-- migrate:up\n%s%s%s", skip_bom(up),
                             has_down ? "\n-- migrate:down\n" : "", has_down ? skip_bom(down) : "")
                : NULL;
    if (rc == 0 && !text)
        rc = pm_error_set(err, PM_ENOMEM, "out of memory");
    if (rc == 0)
        rc = pm_source_add_sql(src, stem, text, strlen(text), up_path, err);
    free(up);
    free(down);
    free(text);
    return rc;
}

/* The version part of a name, for duplicate detection: the leading digits
 * without leading zeros, or mYYYY_MM_DD_HHMMSS. */
static size_t version_of(const char *name, const char **start)
{
    size_t n = strspn(name, "0123456789");
    *start = name;
    if (n == 0)
        return strlen(name) < 18 ? strlen(name) : 18;
    while (n > 1 && **start == '0')
        (*start)++, n--;
    return n;
}

/* Two files with one version (001_a.sql, 1_b.sql) are refused. */
static int check_versions(const pm_source *src, const char *dir, pm_error *err)
{
    const pm_migration **sorted = malloc((src->count ? src->count : 1) * sizeof(*sorted));
    if (!sorted)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    memcpy(sorted, src->set, src->count * sizeof(*sorted));
    qsort(sorted, src->count, sizeof(*sorted), by_name);
    int rc = 0;
    for (size_t i = 1; i < src->count && rc == 0; i++) {
        const char *a, *b;
        size_t na = version_of(sorted[i - 1]->name, &a), nb = version_of(sorted[i]->name, &b);
        if (na == nb && strncmp(a, b, na) == 0)
            rc = pm_error_set(err, PM_ESET, "%s: %s and %s have the same version", dir,
                              sorted[i - 1]->name, sorted[i]->name);
    }
    free(sorted);
    return rc;
}

static int add_dir_entries(pm_source *src, const char *dir, DIR *d, pm_error *err)
{
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        const char *name = e->d_name;
        if (name[0] == '.' || !ends_with(name, ".sql"))
            continue;
        char stem[256];
        if (ends_with(name, ".down.sql")) {
            snprintf(stem, sizeof(stem), "%.*s", (int)(strlen(name) - 9), name);
            char up[4096];
            snprintf(up, sizeof(up), "%s/%s.up.sql", dir, stem);
            if (!entry_exists(up))
                rc = pm_error_set(err, PM_ESET, "%s/%s: a .down.sql file without its .up.sql", dir,
                                  name);
            continue; /* read with its .up.sql */
        }
        if (ends_with(name, ".up.sql")) {
            snprintf(stem, sizeof(stem), "%.*s", (int)(strlen(name) - 7), name);
            char down[4096];
            snprintf(down, sizeof(down), "%s/%s.down.sql", dir, stem);
            rc = add_pair(src, dir, stem, entry_exists(down), err);
            continue;
        }
        snprintf(stem, sizeof(stem), "%.*s", (int)(strlen(name) - 4), name);
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        size_t length = 0;
        char *text = read_file(path, &length, err);
        rc = text ? pm_source_add_sql(src, stem, text, length, path, err) : PM_ESET;
        free(text);
    }
    return rc;
}

int pm_source_add_dir(pm_source *src, const char *dir, pm_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return pm_error_set(err, PM_ESET, "cannot read the migrations folder %s: %s", dir,
                            strerror(errno));
    size_t before_count = src->count, before_owned = src->nowned;
    int rc = add_dir_entries(src, dir, d, err);
    closedir(d);
    if (rc == 0 && src->count == before_count)
        rc = pm_error_set(err, PM_ESET, "the migrations folder %s holds no .sql migration", dir);
    if (rc == 0)
        rc = check_versions(src, dir, err);
    if (rc < 0) { /* nothing is added unless the whole folder is valid */
        while (src->nowned > before_owned)
            sql_migration_free(src->owned[--src->nowned]);
        src->count = before_count;
    }
    return rc;
}
