/* catalog.c: the schema snapshot. A driver's read_schema() describes what
 * the database holds through pm_catalog_*() calls; this file sorts and
 * prints it as one normalised, backend-neutral text (tables with columns,
 * primary key, unique constraints, indexes, foreign keys; views, sequences,
 * types), so two snapshots compare as text and a schema change reads as a
 * diff. poblysh's own history table is left out. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct catalog_line {
    int kind;      /* object kind, for ordering: table, view, sequence, type */
    char *object;  /* the object's name */
    int section;   /* within a table: PM_CATALOG_* */
    long position; /* columns keep their order; other sections sort by text */
    char *text;    /* NULL for the object's own line */
} catalog_line;

struct pm_catalog {
    catalog_line *lines;
    size_t count, cap;
    int oom;
};

static const char *const kind_names[] = {"table", "view", "sequence", "type"};

static int kind_of(const char *kind)
{
    for (size_t i = 0; i < PM_ARRAY_LEN(kind_names); i++)
        if (strcmp(kind_names[i], kind) == 0)
            return (int)i;
    return (int)PM_ARRAY_LEN(kind_names);
}

static void add_line(pm_catalog *cat, int kind, const char *object, int section, long position,
                     char *text)
{
    if (cat->oom || (text == NULL && section >= 0)) {
        cat->oom = 1;
        free(text);
        return;
    }
    if (cat->count == cat->cap) {
        size_t cap = cat->cap ? cat->cap * 2 : 64;
        catalog_line *lines = realloc(cat->lines, cap * sizeof(*lines));
        if (!lines) {
            cat->oom = 1;
            free(text);
            return;
        }
        cat->lines = lines;
        cat->cap = cap;
    }
    char *name = pm__strdup(object);
    if (!name) {
        cat->oom = 1;
        free(text);
        return;
    }
    cat->lines[cat->count++] = (catalog_line){kind, name, section, position, text};
}

void pm_catalog_object(pm_catalog *cat, const char *kind, const char *name)
{
    if (strcmp(name, PM_HISTORY_TABLE) == 0)
        return;
    add_line(cat, kind_of(kind), name, -1, 0, NULL);
}

void pm_catalog_entry(pm_catalog *cat, const char *table, int section, long position,
                      const char *fmt, ...)
{
    if (strcmp(table, PM_HISTORY_TABLE) == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *text = pm__vformat(fmt, ap);
    va_end(ap);
    add_line(cat, 0, table, section, position, text);
}

static int compare_lines(const void *a, const void *b)
{
    const catalog_line *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind - y->kind;
    int cmp = strcmp(x->object, y->object);
    if (cmp)
        return cmp;
    if (x->section != y->section)
        return x->section - y->section;
    if (x->section == PM_CATALOG_COLUMN && x->position != y->position)
        return x->position < y->position ? -1 : 1;
    return strcmp(x->text ? x->text : "", y->text ? y->text : "");
}

int pm__catalog_new(pm_catalog **out, pm_error *err)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : pm_error_set(err, PM_ENOMEM, "out of memory");
}

void pm__catalog_free(pm_catalog *cat)
{
    if (!cat)
        return;
    for (size_t i = 0; i < cat->count; i++) {
        free(cat->lines[i].object);
        free(cat->lines[i].text);
    }
    free(cat->lines);
    free(cat);
}

int pm__catalog_text(pm_catalog *cat, char **out, pm_error *err)
{
    *out = NULL;
    if (cat->oom)
        return pm_error_set(err, PM_ENOMEM, "out of memory reading the schema");
    if (cat->count > 1)
        qsort(cat->lines, cat->count, sizeof(*cat->lines), compare_lines);
    pm_buf b = PM_BUF_INIT;
    for (size_t i = 0; i < cat->count; i++) {
        const catalog_line *l = &cat->lines[i];
        if (!l->text)
            pm_buf_printf(&b, "%s %s\n",
                          l->kind < (int)PM_ARRAY_LEN(kind_names) ? kind_names[l->kind] : "object",
                          l->object);
        else
            pm_buf_printf(&b, "  %s\n", l->text);
    }
    *out = pm_buf_detach(&b);
    return *out ? 0 : pm_error_set(err, PM_ENOMEM, "out of memory");
}

size_t pm__catalog_objects(const pm_catalog *cat, const char *kind, const char **names, size_t max)
{
    size_t n = 0;
    int k = kind_of(kind);
    for (size_t i = 0; i < cat->count; i++)
        if (!cat->lines[i].text && cat->lines[i].kind == k) {
            if (n < max)
                names[n] = cat->lines[i].object;
            n++;
        }
    return n;
}
