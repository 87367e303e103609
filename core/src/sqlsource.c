/* sqlsource.c: SQL migrations. Each file (or pair of files) becomes an
 * ordinary pm_migration whose up() and down() run the section that fits the
 * connection's dialect, so SQL and C migrations form one set for the one
 * engine. A file's sections are marked the way dbmate marks them
 * (-- migrate:up) or goose does (-- +goose Up); a file without markers is an
 * up-only migration. Folders are read by sqlfolder.c; embedded files come
 * from the build. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "poblysh/source.h"

typedef struct sql_section {
    bool up;
    char *dialect; /* NULL: the fallback */
    char *text;
    const char *file; /* where text comes from: the migration's file or down_file */
    int line;         /* the line of that file where text starts */
    /* lock_timeout=DURATION, statement_timeout=DURATION in its header */
    bool lock_timeout_set, statement_timeout_set;
    int lock_timeout_ms, statement_timeout_ms;
} sql_section;

typedef struct sql_migration {
    pm_migration migration; /* its data points back to this struct */
    char *name;
    char *file;      /* the file, or a pair's up file; for messages */
    char *down_file; /* a pair's down file, or NULL */
    bool pair;       /* up and down come from two files */
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

static int sql_up(pm_schema *schema, const void *data);
static int sql_down(pm_schema *schema, const void *data);

/* The byte offset of the chars'th character (1-based, UTF-8) of s. */
static size_t char_offset(const char *s, long chars)
{
    size_t off = 0;
    for (long seen = 1; s[off] && seen < chars; off++)
        if (((unsigned char)s[off + 1] & 0xC0) != 0x80)
            seen++;
    return off;
}

/* Puts "file:line[:column]: " before the error of a failed statement found
 * in the section's text; the database's position in it (PostgreSQL gives
 * one) makes the column. A statement that appears twice is placed at its
 * first occurrence. */
static void locate_failure(const sql_section *s, pm_error *err)
{
    const char *at = err->statement ? strstr(s->text, err->statement) : NULL;
    if (!at)
        return;
    size_t off = (size_t)(at - s->text);
    if (err->position > 0)
        off += char_offset(at, err->position);
    int line = s->line, column = 1;
    for (size_t i = 0; i < off; i++) {
        if (s->text[i] == '\n')
            line++, column = 1;
        else if (((unsigned char)s->text[i] & 0xC0) != 0x80)
            column++;
    }
    if (err->position > 0)
        pm__error_prefix(err, "%s:%d:%d", s->file, line, column);
    else
        pm__error_prefix(err, "%s:%d", s->file, line);
}

void pm__sql_locate(const pm_migration *m, bool up, const char *dialect, pm_error *err)
{
    if (!err || !err->statement || (up ? m->up : m->down) != (up ? sql_up : sql_down))
        return;
    const sql_section *s = pick(m->data, up, dialect);
    if (s)
        locate_failure(s, err);
}

static int run_section(pm_schema *schema, const sql_migration *sm, bool up)
{
    const char *dialect = pm_schema_dialect(schema);
    const sql_section *s = pick(sm, up, dialect);
    if (!s && !up && sm->down_file == NULL && sm->nsections == 1)
        return pm_error_set(schema->err, PM_EMIGRATION,
                            "%s is an up-only migration (%s): it cannot be reverted", sm->file,
                            sm->pair ? "no down file next to it" : "no down section");
    if (!s)
        return pm_error_set(schema->err, PM_EMIGRATION,
                            "%s has no %s section for %s (and none without a dialect)%s", sm->file,
                            up ? "up" : "down", dialect,
                            up ? "" : ": this migration cannot be reverted");
    int rc = 0;
    if (s->lock_timeout_set || s->statement_timeout_set)
        rc = pm_schema_set_timeouts(schema, s->lock_timeout_set ? s->lock_timeout_ms : -1,
                                    s->statement_timeout_set ? s->statement_timeout_ms : -1);
    return rc < 0 ? rc : pm_schema_exec(schema, s->text);
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
    free(sm->down_file);
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
/* lock_timeout=DURATION or statement_timeout=DURATION (':' too) into s;
 * false when tok is neither. */
static bool timeout_option(const char *tok, sql_section *s, int *rc, const char *file, int line,
                           pm_error *err)
{
    bool lock = strncmp(tok, "lock_timeout", 12) == 0 && (tok[12] == '=' || tok[12] == ':');
    bool statement =
        strncmp(tok, "statement_timeout", 17) == 0 && (tok[17] == '=' || tok[17] == ':');
    if (!lock && !statement)
        return false;
    const char *value = tok + (lock ? 13 : 18);
    bool *given = lock ? &s->lock_timeout_set : &s->statement_timeout_set;
    if (*given)
        *rc = parse_fail(err, file, line, "the section option %s is given twice",
                         lock ? "lock_timeout" : "statement_timeout");
    else if (pm_duration_parse(value, lock ? &s->lock_timeout_ms : &s->statement_timeout_ms) < 0)
        *rc = parse_fail(err, file, line,
                         lock ? "lock_timeout=\"%s\" is not a duration (a whole number with ms, "
                                "s, min or h: 5s, 500ms, 10min; 0 for no limit)"
                              : "statement_timeout=\"%s\" is not a duration (a whole number "
                                "with ms, s, min or h: 5s, 500ms, 10min; 0 for no limit)",
                         value);
    *given = true;
    return true;
}

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
        } else if (timeout_option(tok, s, &rc, file, line, err)) {
            /* done */
        } else if (dialect) {
            if (!pm_backend_find(tok + 8))
                rc = unknown_dialect(err, file, line, tok + 8);
            else if (!(s->dialect = pm__strdup(tok + 8)))
                rc = pm_error_set(err, PM_ENOMEM, "out of memory");
        } else {
            rc =
                parse_fail(err, file, line,
                           "unknown section option \"%s\" (known: transaction:false, dialect=NAME, "
                           "lock_timeout=DURATION, statement_timeout=DURATION)",
                           tok);
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

/* Adds a section of text from file, starting at its line; proto's dialect
 * passes to the section. */
static int add_section(sql_migration *sm, bool up, const char *text, size_t len, sql_section *proto,
                       const char *file, int line, pm_error *err)
{
    sql_section *sections = realloc(sm->sections, (sm->nsections + 1) * sizeof(*sections));
    if (!sections)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    sm->sections = sections;
    sql_section *s = &sections[sm->nsections];
    *s = *proto;
    s->up = up;
    s->file = file;
    s->line = line;
    s->text = pm__strndup(text, len);
    if (!s->text)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    sm->nsections++;
    proto->dialect = NULL; /* now owned by the section */
    pm_error split = PM_ERROR_INIT;
    int rc = check_splits(s, &split);
    if (rc < 0)
        rc = pm_error_set(err, PM_ESET,
                          "%s:%d: in the %s section%s%s: %s (lines counted from the section's "
                          "first line, %d)",
                          file, line, up ? "up" : "down", s->dialect ? " for " : "",
                          s->dialect ? s->dialect : "",
                          split.message ? split.message : "cannot be split", line);
    pm_error_clear(&split);
    return rc;
}

/* ==== Section markers ==== */

typedef enum marker_kind {
    MARK_NONE,      /* an ordinary line */
    MARK_UP,        /* -- migrate:up, -- +goose Up */
    MARK_DOWN,      /* -- migrate:down, -- +goose Down */
    MARK_NO_TX,     /* -- +goose NO TRANSACTION */
    MARK_STATEMENT, /* -- +goose StatementBegin/End: kept as comments */
    MARK_BAD        /* looks like a marker but is none: refused */
} marker_kind;

typedef struct marker {
    marker_kind kind;
    bool goose;
    const char *opts;    /* dbmate's options after the marker */
    const char *problem; /* MARK_BAD: why */
} marker;

static bool word_at(const char *p, const char *eol, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(eol - p) >= n && strncasecmp(p, word, n) == 0 &&
           (p + n == eol || isspace((unsigned char)p[n]));
}

static marker dbmate_marker(const char *p, const char *eol)
{
    if ((size_t)(eol - p) >= 10 && strncmp(p, "migrate:up", 10) == 0 &&
        (p + 10 == eol || isspace((unsigned char)p[10])))
        return (marker){MARK_UP, false, p + 10, NULL};
    if ((size_t)(eol - p) >= 12 && strncmp(p, "migrate:down", 12) == 0 &&
        (p + 12 == eol || isspace((unsigned char)p[12])))
        return (marker){MARK_DOWN, false, p + 12, NULL};
    return (marker){MARK_BAD, false, NULL,
                    "not a section marker: dbmate's are \"-- migrate:up\" and \"-- migrate:down\""};
}

static marker goose_marker(const char *p, const char *eol)
{
    while (p < eol && (*p == ' ' || *p == '\t'))
        p++;
    while (eol > p && isspace((unsigned char)eol[-1]))
        eol--;
    if (word_at(p, eol, "Up") && p + 2 == eol)
        return (marker){MARK_UP, true, eol, NULL};
    if (word_at(p, eol, "Down") && p + 4 == eol)
        return (marker){MARK_DOWN, true, eol, NULL};
    if ((word_at(p, eol, "StatementBegin") && p + 14 == eol) ||
        (word_at(p, eol, "StatementEnd") && p + 12 == eol))
        return (marker){MARK_STATEMENT, true, NULL, NULL};
    if (eol - p == 14 && strncasecmp(p, "NO TRANSACTION", 14) == 0)
        return (marker){MARK_NO_TX, true, NULL, NULL};
    if (word_at(p, eol, "ENVSUB"))
        return (marker){MARK_BAD, true, NULL,
                        "goose's ENVSUB (environment substitution) is not supported: write the "
                        "values into the file"};
    return (marker){MARK_BAD, true, NULL,
                    "unknown goose annotation (known: Up, Down, StatementBegin, StatementEnd, "
                    "NO TRANSACTION)"};
}

/* What the line [p, eol) is: "--", blanks, then migrate:... or +goose. */
static marker classify(const char *p, const char *eol)
{
    if (eol - p < 2 || p[0] != '-' || p[1] != '-')
        return (marker){MARK_NONE, false, NULL, NULL};
    p += 2;
    while (p < eol && (*p == ' ' || *p == '\t'))
        p++;
    if ((size_t)(eol - p) >= 8 && strncasecmp(p, "migrate:", 8) == 0)
        return dbmate_marker(p, eol);
    if ((size_t)(eol - p) >= 6 && strncmp(p, "+goose", 6) == 0 &&
        (p + 6 == eol || isspace((unsigned char)p[6])))
        return goose_marker(p + 6, eol);
    return (marker){MARK_NONE, false, NULL, NULL};
}

/* sqlx: "-- no-transaction" as the file's first line. */
static bool sqlx_no_transaction(const char *p, const char *end)
{
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol)
        eol = end;
    while (eol > p && isspace((unsigned char)eol[-1]))
        eol--;
    return eol - p == 17 && strncmp(p, "-- no-transaction", 17) == 0;
}

static const char *skip_bom(const char *p, const char *end)
{
    return end - p >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
                   (unsigned char)p[2] == 0xBF
               ? p + 3
               : p;
}

/* The state of a file being cut into sections. */
typedef struct cutter {
    sql_migration *sm;
    const char *file;
    const char *first; /* the text after a byte-order mark */
    const char *body;  /* where the open section's text starts, or NULL */
    int body_line;
    bool in_up, any_up, any_marker, goose;
    sql_section proto;
    bool *no_tx;
    pm_error *err;
} cutter;

static const char *marker_name(bool goose, bool up)
{
    return goose ? (up ? "-- +goose Up" : "-- +goose Down")
                 : (up ? "-- migrate:up" : "-- migrate:down");
}

/* A section marker at line: closes the open section, opens the next. */
static int open_section(cutter *c, const marker *m, const char *p, const char *eol,
                        const char *next, int line)
{
    bool up = m->kind == MARK_UP;
    int rc = 0;
    if (c->any_marker && c->goose != m->goose)
        return parse_fail(c->err, c->file, line, "%s",
                          "dbmate's -- migrate: and goose's -- +goose markers in one file");
    if (c->body)
        rc = add_section(c->sm, c->in_up, c->body, (size_t)(p - c->body), &c->proto, c->file,
                         c->body_line, c->err);
    else if (has_sql(c->first, p))
        rc = parse_fail(c->err, c->file, line, "SQL before the first %s",
                        marker_name(m->goose, true));
    if (rc == 0) {
        memset(&c->proto, 0, sizeof(c->proto));
        if (!m->goose)
            rc = parse_options(m->opts, (size_t)(eol - m->opts), &c->proto, c->no_tx, c->file, line,
                               c->err);
    }
    for (size_t i = 0; rc == 0 && i < c->sm->nsections; i++) {
        const sql_section *s = &c->sm->sections[i];
        if (s->up == up &&
            ((!s->dialect && !c->proto.dialect) ||
             (s->dialect && c->proto.dialect && !strcmp(s->dialect, c->proto.dialect))))
            rc = parse_fail(c->err, c->file, line, "a second %s section for the same dialect",
                            marker_name(m->goose, up));
    }
    c->goose = m->goose;
    c->any_marker = true;
    c->in_up = up;
    c->any_up |= up;
    c->body = next;
    c->body_line = line + 1;
    return rc;
}

static int cut_line(cutter *c, const char *p, const char *eol, const char *next, int line)
{
    marker m = classify(p, eol);
    switch (m.kind) {
    case MARK_BAD: return parse_fail(c->err, c->file, line, "%s", m.problem);
    case MARK_NO_TX: *c->no_tx = true; return 0;
    case MARK_UP:
    case MARK_DOWN: return open_section(c, &m, p, eol, next, line);
    default: return 0;
    }
}

/* One file with sections (dbmate's or goose's markers), or without markers
 * an up-only migration. */
static int parse_sections(sql_migration *sm, const char *text, size_t length, bool *no_tx,
                          pm_error *err)
{
    const char *end = text + length, *p = skip_bom(text, end);
    cutter c = {.sm = sm, .file = sm->file, .first = p, .no_tx = no_tx, .err = err};
    int line = 1, rc = 0;
    *no_tx |= sqlx_no_transaction(p, end);
    while (p < end && rc == 0) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        rc = cut_line(&c, p, eol ? eol : end, next, line);
        p = next;
        line++;
    }
    if (rc == 0 && c.body)
        rc = add_section(sm, c.in_up, c.body, (size_t)(end - c.body), &c.proto, sm->file,
                         c.body_line, err);
    else if (rc == 0 && !c.any_marker)
        rc = add_section(sm, true, c.first, (size_t)(end - c.first), &c.proto, sm->file, 1, err);
    free(c.proto.dialect);
    if (rc == 0 && c.any_marker && !c.any_up)
        rc = parse_fail(err, sm->file, 0, "no %s section", marker_name(c.goose, true));
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

static int name_refused(const char *file, const char *name, pm_error *err)
{
    pm__version v;
    const char *problem = pm__version_parse(name, &v);
    return pm_error_set(err, PM_ESET, "%s: the name \"%s\" is not a migration name: %s", file, name,
                        problem ? problem : "?");
}

int pm_source_add_sql(pm_source *src, const char *name, const char *text, size_t length,
                      const char *file, pm_error *err)
{
    sql_migration *sm = NULL;
    bool no_tx = false;
    if (pm_migration_name_check(name, NULL) < 0)
        return name_refused(file, name, err);
    int rc = new_sql_migration(&sm, name, file, err);
    if (rc < 0)
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

/* A pair's checksum is that of the one text golang-migrate pairs always had
 * here, so histories written before stay valid. */
static int pair_checksum(sql_migration *sm, const pm__sql_file *up, const pm__sql_file *down,
                         pm_error *err)
{
    pm_buf b = PM_BUF_INIT;
    const char *u = skip_bom(up->text, up->text + up->length);
    pm_buf_append(&b, "-- migrate:up\n");
    pm_buf_appendn(&b, u, (size_t)(up->text + up->length - u));
    if (down) {
        const char *d = skip_bom(down->text, down->text + down->length);
        pm_buf_append(&b, "\n-- migrate:down\n");
        pm_buf_appendn(&b, d, (size_t)(down->text + down->length - d));
    }
    size_t len = b.len;
    char *text = pm_buf_detach(&b);
    int rc = text ? pm_checksum(sm->checksum, text, len, err)
                  : pm_error_set(err, PM_ENOMEM, "out of memory");
    free(text);
    return rc;
}

static int add_whole(sql_migration *sm, bool up, const pm__sql_file *f, const char *file,
                     pm_error *err)
{
    const char *text = skip_bom(f->text, f->text + f->length);
    sql_section proto = {0};
    return add_section(sm, up, text, (size_t)(f->text + f->length - text), &proto, file, 1, err);
}

int pm__source_add_pair(pm_source *src, const char *name, const pm__sql_file *up,
                        const pm__sql_file *down, pm_error *err)
{
    sql_migration *sm = NULL;
    if (pm_migration_name_check(name, NULL) < 0)
        return name_refused(up->path, name, err);
    int rc = new_sql_migration(&sm, name, up->path, err);
    if (rc == 0)
        sm->pair = true;
    if (rc == 0 && down && !(sm->down_file = pm__strdup(down->path)))
        rc = pm_error_set(err, PM_ENOMEM, "out of memory");
    if (rc == 0)
        rc = add_whole(sm, true, up, sm->file, err);
    if (rc == 0 && down)
        rc = add_whole(sm, false, down, sm->down_file, err);
    if (rc == 0)
        rc = pair_checksum(sm, up, down, err);
    if (rc < 0) {
        sql_migration_free(sm);
        return rc;
    }
    const char *u = skip_bom(up->text, up->text + up->length);
    finish(sm, sqlx_no_transaction(u, up->text + up->length));
    return own(src, sm, err);
}

size_t pm__source_mark(const pm_source *src)
{
    return src->count;
}

void pm__source_rollback(pm_source *src, size_t mark)
{
    /* SQL migrations are owned in the order they were pushed, so the owned
     * ones past the mark are the last ones. */
    while (src->count > mark) {
        const pm_migration *m = src->set[--src->count];
        if (src->nowned && &src->owned[src->nowned - 1]->migration == m)
            sql_migration_free(src->owned[--src->nowned]);
    }
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

/* A folder read in name order is mostly in migration order already: one
 * comparison a migration decides whether sorting is needed. */
static bool in_order(const pm_migration *const *set, size_t count)
{
    for (size_t i = 1; i < count; i++)
        if (pm_migration_name_cmp(set[i - 1]->name, set[i]->name) > 0)
            return false;
    return true;
}

static void sort_by_name(const pm_migration **set, size_t count)
{
    if (!in_order(set, count))
        qsort(set, count, sizeof(*set), by_name);
}

const pm_migration *const *pm_source_migrations(pm_source *src, size_t *count)
{
    sort_by_name(src->set, src->count);
    *count = src->count;
    return src->set;
}

/* Two migrations with one version (001_a and 1_b) are refused, naming dir. */
int pm__source_check_versions(const pm_source *src, const char *dir, pm_error *err)
{
    const pm_migration **sorted = malloc((src->count ? src->count : 1) * sizeof(*sorted));
    if (!sorted)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    memcpy(sorted, src->set, src->count * sizeof(*sorted));
    sort_by_name(sorted, src->count);
    int rc = 0;
    pm__version prev = {0}, cur = {0}; /* each name's version is read once */
    bool prev_ok = src->count && !pm__version_parse(sorted[0]->name, &prev);
    for (size_t i = 1; i < src->count && rc == 0; i++) {
        bool cur_ok = !pm__version_parse(sorted[i]->name, &cur);
        if (prev_ok && cur_ok && pm__version_cmp(&prev, &cur) == 0)
            rc = pm_error_set(err, PM_ESET, "%s: %s and %s have the same version", dir,
                              sorted[i - 1]->name, sorted[i]->name);
        prev = cur;
        prev_ok = cur_ok;
    }
    free(sorted);
    return rc;
}
