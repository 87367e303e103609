/* render.c: turns the portable schema builder's structs into SQL text for one
 * dialect. Dialects are data (struct pm_dialect); every rule of how DDL is
 * spelled lives here, once, with every identifier quoted. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ==== Pieces ==== */

void pm__render_ident(pm_buf *b, const pm_dialect *d, const char *ident)
{
    pm_buf_appendc(b, d->quote);
    for (const char *p = ident; *p; p++) {
        if (*p == d->quote)
            pm_buf_appendc(b, d->quote); /* doubled quote escapes it */
        pm_buf_appendc(b, *p);
    }
    pm_buf_appendc(b, d->quote);
}

static void render_string_literal(pm_buf *b, const pm_dialect *d, const char *s)
{
    pm_buf_appendc(b, '\'');
    for (const char *p = s; *p; p++) {
        if (*p == '\'' || (*p == '\\' && d->backslash_escapes))
            pm_buf_appendc(b, *p);
        pm_buf_appendc(b, *p);
    }
    pm_buf_appendc(b, '\'');
}

/* Checks a list of column names (index columns, composite primary key). */
static int check_names(const char *what, const char *owner, const char *const *names, size_t n,
                       pm_error *err)
{
    if (n && !names)
        return pm_error_set(err, PM_EINVAL, "%s \"%s\": its column list is NULL", what, owner);
    for (size_t i = 0; i < n; i++)
        if (!names[i] || !*names[i])
            return pm_error_set(err, PM_EINVAL, "%s \"%s\": column %zu has no name", what, owner,
                                i + 1);
    return 0;
}

static void render_ident_list(pm_buf *b, const pm_dialect *d, const char *const *names, size_t n)
{
    pm_buf_appendc(b, '(');
    for (size_t i = 0; i < n; i++) {
        if (i)
            pm_buf_append(b, ", ");
        pm__render_ident(b, d, names[i]);
    }
    pm_buf_appendc(b, ')');
}

static int is_number_literal(const char *s)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    int digits = 0, dots = 0;
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else if (*p == '.' && !dots)
            dots++;
        else
            return 0;
    }
    return digits > 0;
}

static int render_type(pm_buf *b, const pm_dialect *d, const pm_column *c, pm_error *err)
{
    if ((unsigned)c->type >= PM_TYPE__COUNT || !d->types[c->type])
        return pm_error_set(err, PM_EINVAL, "column \"%s\" has an unknown type (%d)", c->name,
                            (int)c->type);
    if (c->type == PM_TYPE_STRING && c->length == 0)
        pm_buf_append(b, d->string_default);
    else if (c->type == PM_TYPE_STRING)
        pm_buf_printf(b, d->types[PM_TYPE_STRING], c->length);
    else
        pm_buf_append(b, d->types[c->type]);
    return 0;
}

static int render_default(pm_buf *b, const pm_dialect *d, const pm_column *c, pm_error *err)
{
    const char *v = c->default_value;
    if (c->default_kind == PM_DEFAULT_NONE)
        return 0;
    if (c->default_kind != PM_DEFAULT_NOW && !v)
        return pm_error_set(err, PM_EINVAL, "column \"%s\": default_value is missing", c->name);
    pm_buf_append(b, " DEFAULT ");
    switch (c->default_kind) {
    case PM_DEFAULT_NOW: pm_buf_append(b, d->now); return 0;
    case PM_DEFAULT_STRING: render_string_literal(b, d, v); return 0;
    case PM_DEFAULT_NUMBER:
        if (!is_number_literal(v))
            return pm_error_set(err, PM_EINVAL, "column \"%s\": default \"%s\" is not a number",
                                c->name, v);
        pm_buf_append(b, v);
        return 0;
    case PM_DEFAULT_BOOL:
        if (strcmp(v, "true") && strcmp(v, "false"))
            return pm_error_set(
                err, PM_EINVAL,
                "column \"%s\": boolean default must be \"true\" or \"false\", not \"%s\"", c->name,
                v);
        pm_buf_append(b, strcmp(v, "true") == 0 ? d->bool_true : d->bool_false);
        return 0;
    case PM_DEFAULT_EXPR: pm_buf_append(b, v); return 0;
    default:
        return pm_error_set(err, PM_EINVAL, "column \"%s\" has an unknown default kind (%d)",
                            c->name, (int)c->default_kind);
    }
}

static const char *fk_action_sql(pm_fk_action a)
{
    switch (a) {
    case PM_FK_CASCADE: return "CASCADE";
    case PM_FK_SET_NULL: return "SET NULL";
    case PM_FK_RESTRICT: return "RESTRICT";
    default: return NULL;
    }
}

/* "name" TYPE [PRIMARY KEY] [NOT NULL|NULL] [UNIQUE] [DEFAULT x] [REFERENCES ...] */
static int render_column(pm_buf *b, const pm_dialect *d, const pm_column *c, pm_error *err)
{
    if (!c->name || !*c->name)
        return pm_error_set(err, PM_EINVAL, "a column has no name");
    pm__render_ident(b, d, c->name);
    pm_buf_appendc(b, ' ');
    int rc = render_type(b, d, c, err);
    if (rc < 0)
        return rc;
    if (c->flags & PM_PRIMARY_KEY)
        pm_buf_append(b, " PRIMARY KEY");
    if (c->flags & (PM_NOT_NULL | PM_PRIMARY_KEY))
        pm_buf_append(b, " NOT NULL");
    else if (c->flags & PM_NULL)
        pm_buf_append(b, " NULL");
    if (c->flags & PM_UNIQUE)
        pm_buf_append(b, " UNIQUE");
    rc = render_default(b, d, c, err);
    if (rc < 0)
        return rc;
    if (c->ref_table) {
        if (!c->ref_column)
            return pm_error_set(err, PM_EINVAL,
                                "column \"%s\" references table \"%s\" but no column", c->name,
                                c->ref_table);
        pm_buf_append(b, " REFERENCES ");
        pm__render_ident(b, d, c->ref_table);
        pm_buf_append(b, " (");
        pm__render_ident(b, d, c->ref_column);
        pm_buf_appendc(b, ')');
        const char *action = fk_action_sql(c->on_delete);
        if (action)
            pm_buf_printf(b, " ON DELETE %s", action);
    }
    return 0;
}

/* Hands the buffer to *out, or reports that memory ran out. */
static int finish(char **out, pm_buf *b, int rc, pm_error *err)
{
    if (rc < 0) {
        pm_buf_free(b);
        return rc;
    }
    *out = pm_buf_detach(b);
    return *out ? 0 : pm_error_set(err, PM_ENOMEM, "out of memory rendering SQL");
}

static int need_name(const char *what, const char *name, pm_error *err)
{
    if (!name || !*name)
        return pm_error_set(err, PM_EINVAL, "%s name is missing", what);
    return 0;
}

/* ==== Dialects ==== */

int pm__dialect_check(const pm_dialect *d, pm_error *err)
{
    if (!d)
        return pm_error_set(err, PM_EINVAL, "the backend gave no dialect");
    if (d->version != PM_DIALECT_VERSION)
        return pm_error_set(err, PM_EINVAL, "dialect %s has version %u; this build knows %d",
                            d->name ? d->name : "?", d->version, PM_DIALECT_VERSION);
    const char *missing = !d->name             ? "name"
                          : !d->quote          ? "quote"
                          : !d->string_default ? "string_default"
                          : !d->now            ? "now"
                          : !d->bool_true      ? "bool_true"
                          : !d->bool_false     ? "bool_false"
                                               : NULL;
    if (missing)
        return pm_error_set(err, PM_EINVAL, "dialect %s has no %s", d->name ? d->name : "?",
                            missing);
    return 0;
}

/* ==== Statements ==== */

int pm__render_create_table(char **out, const pm_dialect *d, const pm_table *t, unsigned int flags,
                            pm_error *err)
{
    int rc = need_name("table", t->name, err);
    if (rc < 0)
        return rc;
    if (t->ncolumns == 0 || !t->columns)
        return pm_error_set(err, PM_EINVAL, "table \"%s\" has no columns", t->name);
    rc = check_names("primary key of table", t->name, t->primary_key, t->nprimary_key, err);
    for (size_t i = 0; rc == 0 && t->nprimary_key && i < t->ncolumns; i++)
        if (t->columns[i].flags & PM_PRIMARY_KEY)
            rc = pm_error_set(err, PM_EINVAL,
                              "table \"%s\" has a composite primary key and column \"%s\" is "
                              "also marked PM_PRIMARY_KEY: use one or the other",
                              t->name, t->columns[i].name ? t->columns[i].name : "?");
    if (rc < 0)
        return rc;
    pm_buf b = PM_BUF_INIT;
    pm_buf_append(&b, "CREATE TABLE ");
    if (flags & PM_IF_NOT_EXISTS)
        pm_buf_append(&b, "IF NOT EXISTS ");
    pm__render_ident(&b, d, t->name);
    pm_buf_append(&b, " (");
    for (size_t i = 0; i < t->ncolumns && rc == 0; i++) {
        if (i)
            pm_buf_append(&b, ", ");
        rc = render_column(&b, d, &t->columns[i], err);
    }
    if (rc == 0 && t->nprimary_key) {
        pm_buf_append(&b, ", PRIMARY KEY ");
        render_ident_list(&b, d, t->primary_key, t->nprimary_key);
    }
    pm_buf_appendc(&b, ')');
    return finish(out, &b, rc, err);
}

int pm__render_drop_table(char **out, const pm_dialect *d, const char *table, unsigned int flags,
                          pm_error *err)
{
    int rc = need_name("table", table, err);
    if (rc < 0)
        return rc;
    pm_buf b = PM_BUF_INIT;
    pm_buf_append(&b, flags & PM_IF_EXISTS ? "DROP TABLE IF EXISTS " : "DROP TABLE ");
    pm__render_ident(&b, d, table);
    return finish(out, &b, 0, err);
}

int pm__render_add_column(char **out, const pm_dialect *d, const char *table, const pm_column *c,
                          pm_error *err)
{
    int rc = need_name("table", table, err);
    if (rc < 0)
        return rc;
    pm_buf b = PM_BUF_INIT;
    pm_buf_append(&b, "ALTER TABLE ");
    pm__render_ident(&b, d, table);
    pm_buf_append(&b, " ADD COLUMN ");
    rc = render_column(&b, d, c, err);
    return finish(out, &b, rc, err);
}

int pm__render_drop_column(char **out, const pm_dialect *d, const char *table, const char *column,
                           pm_error *err)
{
    int rc = need_name("table", table, err);
    if (rc == 0)
        rc = need_name("column", column, err);
    if (rc < 0)
        return rc;
    pm_buf b = PM_BUF_INIT;
    pm_buf_append(&b, "ALTER TABLE ");
    pm__render_ident(&b, d, table);
    pm_buf_append(&b, " DROP COLUMN ");
    pm__render_ident(&b, d, column);
    return finish(out, &b, 0, err);
}

int pm__render_rename_column(char **out, const pm_dialect *d, const char *table, const char *from,
                             const char *to, pm_error *err)
{
    int rc = need_name("table", table, err);
    if (rc == 0)
        rc = need_name("column", from, err);
    if (rc == 0)
        rc = need_name("new column", to, err);
    if (rc < 0)
        return rc;
    pm_buf b = PM_BUF_INIT;
    pm_buf_append(&b, "ALTER TABLE ");
    pm__render_ident(&b, d, table);
    pm_buf_append(&b, " RENAME COLUMN ");
    pm__render_ident(&b, d, from);
    pm_buf_append(&b, " TO ");
    pm__render_ident(&b, d, to);
    return finish(out, &b, 0, err);
}

int pm__render_create_index(char **out, const pm_dialect *d, const pm_index *idx,
                            unsigned int flags, pm_error *err)
{
    int rc = need_name("index", idx->name, err);
    if (rc == 0)
        rc = need_name("table", idx->table, err);
    if (rc < 0)
        return rc;
    if (idx->ncolumns == 0)
        return pm_error_set(err, PM_EINVAL, "index \"%s\" has no columns", idx->name);
    rc = check_names("index", idx->name, idx->columns, idx->ncolumns, err);
    if (rc < 0)
        return rc;
    pm_buf b = PM_BUF_INIT;
    pm_buf_append(&b, idx->unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ");
    if (flags & PM_IF_NOT_EXISTS)
        pm_buf_append(&b, "IF NOT EXISTS ");
    pm__render_ident(&b, d, idx->name);
    pm_buf_append(&b, " ON ");
    pm__render_ident(&b, d, idx->table);
    pm_buf_appendc(&b, ' ');
    render_ident_list(&b, d, idx->columns, idx->ncolumns);
    return finish(out, &b, 0, err);
}

int pm__render_drop_index(char **out, const pm_dialect *d, const char *table, const char *index,
                          unsigned int flags, pm_error *err)
{
    int rc = need_name("index", index, err);
    if (rc == 0 && d->drop_index_on_table)
        rc = need_name("table", table, err);
    if (rc < 0)
        return rc;
    pm_buf b = PM_BUF_INIT;
    pm_buf_append(&b, flags & PM_IF_EXISTS ? "DROP INDEX IF EXISTS " : "DROP INDEX ");
    pm__render_ident(&b, d, index);
    if (d->drop_index_on_table) {
        pm_buf_append(&b, " ON ");
        pm__render_ident(&b, d, table);
    }
    return finish(out, &b, 0, err);
}
