/* config.c: pm_config (config.h): a profile's settings from poblysh.conf
 * (read with libinih), the environment and a .env file, each value with
 * where it came from. The file's lines are counted by the reader handed to
 * inih, so every error names file, line and key. */
#include "poblysh/config.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dotenv.h"
#include "internal.h"

/* ==== The keys ==== */

typedef enum key_kind {
    KIND_TEXT,
    KIND_URL,      /* checked when opened: pm_db_open() names what is wrong, redacted */
    KIND_SECONDS,  /* whole seconds from min to max */
    KIND_DURATION, /* pm_duration_parse(); 0 is no limit */
    KIND_COUNT,    /* a whole number from min to max */
    KIND_REFUSED   /* known, but this version cannot honour it */
} key_kind;

typedef struct key_info {
    const char *name;
    key_kind kind;
    long min, max;
} key_info;

static const key_info key_table[] = {
    {"database_url", KIND_URL, 0, 0},
    {"scheme", KIND_TEXT, 0, 0},
    {"host", KIND_TEXT, 0, 0},
    {"port", KIND_COUNT, 1, 65535},
    {"user", KIND_TEXT, 0, 0},
    {"dbname", KIND_TEXT, 0, 0},
    {"password_env", KIND_TEXT, 0, 0},
    {"password_file", KIND_TEXT, 0, 0},
    {"migrations_dir", KIND_TEXT, 0, 0},
    {"history_schema", KIND_TEXT, 0, 0},
    {"history_table", KIND_REFUSED, 0, 0},
    {"lock_timeout", KIND_SECONDS, 1, 86400},
    {"ddl_lock_timeout", KIND_DURATION, 0, 0},
    {"statement_timeout", KIND_DURATION, 0, 0},
    {"connect_timeout", KIND_SECONDS, 0, 86400},
    {"wait", KIND_SECONDS, 0, 86400},
    {"application_name", KIND_TEXT, 0, 0},
    {"pool_size", KIND_COUNT, 1, 10000},
    {"pool_idle_timeout", KIND_DURATION, 0, 0},
    {"pool_max_lifetime", KIND_DURATION, 0, 0},
    {"schema", KIND_TEXT, 0, 0},
};
#define NKEYS PM_ARRAY_LEN(key_table)
enum { KEY_DATABASE_URL = 0, KEY_MIGRATIONS_DIR = 8 };

static const char *const key_names[] = {"database_url",
                                        "scheme",
                                        "host",
                                        "port",
                                        "user",
                                        "dbname",
                                        "password_env",
                                        "password_file",
                                        "migrations_dir",
                                        "history_schema",
                                        "history_table",
                                        "lock_timeout",
                                        "ddl_lock_timeout",
                                        "statement_timeout",
                                        "connect_timeout",
                                        "wait",
                                        "application_name",
                                        "pool_size",
                                        "pool_idle_timeout",
                                        "pool_max_lifetime",
                                        "schema",
                                        NULL};

const char *const *pm_config_keys(void)
{
    return key_names;
}

static int key_index(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(key_table[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* ==== Values ==== */

typedef struct value {
    char *text;
    char *origin;
    int line; /* in the file, 0 elsewhere */
    bool is_default;
} value;

struct pm_config {
    char *profile;
    char *path;
    value values[NKEYS];
};

static void value_clear(value *v)
{
    free(v->text);
    free(v->origin);
    memset(v, 0, sizeof(*v));
}

static int value_set(value *v, const char *text, char *origin, int line, pm_error *err)
{
    char *copy = pm__strdup(text);
    if (!copy || !origin) {
        free(copy);
        free(origin);
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    }
    value_clear(v);
    v->text = copy;
    v->origin = origin;
    v->line = line;
    return 0;
}

/* Checks text as a value of key; where ("poblysh.conf:3: " or "") opens
 * the message. Values of text keys are never quoted: one may be secret. */
static int check_value(const key_info *k, const char *text, const char *where, pm_error *err)
{
    if (k->kind == KIND_REFUSED)
        return pm_error_set(err, PM_EINVAL,
                            "%s%s is not supported: the history table's name is fixed "
                            "(" PM_HISTORY_TABLE ", SeaORM's)",
                            where, k->name);
    if (!*text)
        return pm_error_set(err, PM_EINVAL, "%s%s is empty", where, k->name);
    if (k->kind == KIND_DURATION) {
        int ms;
        if (pm_duration_parse(text, &ms) < 0)
            return pm_error_set(err, PM_EINVAL,
                                "%s%s must be a duration (a whole number with ms, s, min or h: "
                                "5s, 500ms, 10min; 0 for no limit), not \"%s\"",
                                where, k->name, text);
        return 0;
    }
    if (k->kind == KIND_SECONDS || k->kind == KIND_COUNT) {
        char *end;
        errno = 0;
        long n = strtol(text, &end, 10);
        if (errno || *end || end == text || n < k->min || n > k->max)
            return pm_error_set(err, PM_EINVAL,
                                "%s%s must be a whole number%s from %ld to %ld, "
                                "not \"%s\"",
                                where, k->name, k->kind == KIND_SECONDS ? " of seconds" : "",
                                k->min, k->max, text);
    }
    return 0;
}

/* ==== The configuration file ==== */

/* The file as it is read: the profile's section and [default] apart, so
 * a profile's value wins wherever [default] stands. */
typedef struct file_reader {
    FILE *fp;
    const char *path;
    const char *profile;
    int line;
    bool line_ended; /* the last chunk read ended a line */
    value profile_values[NKEYS];
    value default_values[NKEYS];
    pm_error *err;
    int rc;
} file_reader;

/* inih's reader: fgets(), counting lines (a long line comes in chunks). */
static char *read_line(char *str, int num, void *stream)
{
    file_reader *r = stream;
    char *got = fgets(str, num, r->fp);
    if (!got)
        return NULL;
    if (r->line_ended)
        r->line++;
    size_t len = strlen(got);
    r->line_ended = len > 0 && got[len - 1] == '\n';
    return got;
}

static bool valid_section(const char *name)
{
    if (!*name)
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '-'))
            return false;
    return true;
}

static int on_entry(void *user, const char *section, const char *name, const char *text)
{
    file_reader *r = user;
    char where[PATH_MAX + 32];
    snprintf(where, sizeof(where), "%s:%d: ", r->path, r->line);
    if (!*section)
        r->rc = pm_error_set(r->err, PM_EINVAL,
                             "%s%s is outside a section: put it under [default] or a profile's "
                             "[name]",
                             where, name);
    else if (!valid_section(section))
        r->rc =
            pm_error_set(r->err, PM_EINVAL,
                         "%s[%s] is not a profile name (letters, digits, _ and -)", where, section);
    int i = r->rc ? -1 : key_index(name);
    if (!r->rc && i < 0)
        r->rc = pm_error_set(r->err, PM_EINVAL,
                             "%sunknown key \"%s\" in [%s] (known: database_url, scheme, host, "
                             "port, user, dbname, password_env, password_file, migrations_dir, "
                             "history_schema, lock_timeout, ddl_lock_timeout, statement_timeout, "
                             "connect_timeout, wait, application_name, pool_size, "
                             "pool_idle_timeout, pool_max_lifetime, schema)",
                             where, name, section);
    if (!r->rc)
        r->rc = check_value(&key_table[i], text, where, r->err);
    if (r->rc)
        return 0;
    value *layer = strcmp(section, "default") == 0    ? r->default_values
                   : strcmp(section, r->profile) == 0 ? r->profile_values
                                                      : NULL;
    if (!layer) /* another profile's section: checked, not used */
        return 1;
    if (layer[i].text) {
        r->rc = pm_error_set(r->err, PM_EINVAL, "%s%s is set twice in [%s] (first at line %d)",
                             where, name, section, layer[i].line);
        return 0;
    }
    r->rc = value_set(&layer[i], text, pm__format("%s:%d [%s]", r->path, r->line, section), r->line,
                      r->err);
    return r->rc == 0;
}

static int read_file(file_reader *r, pm_error *err)
{
    r->fp = fopen(r->path, "r");
    if (!r->fp)
        return pm_error_set(err, errno == ENOENT ? PM_ENOTFOUND : PM_EINVAL,
                            "cannot read the configuration file %s: %s", r->path, strerror(errno));
    r->line_ended = true;
    r->err = err;
    int at = ini_parse_stream(read_line, r, on_entry, r);
    fclose(r->fp);
    if (r->rc)
        return r->rc;
    if (at == -2)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    if (at != 0)
        return pm_error_set(err, PM_EINVAL, "%s:%d: not a [section] or a key = value line", r->path,
                            at);
    return 0;
}

/* ==== The database URL from its parts ==== */

static void append_encoded(pm_buf *b, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr("-._~", *c))
            pm_buf_appendc(b, (char)*c);
        else
            pm_buf_printf(b, "%%%c%c", hex[*c >> 4], hex[*c & 15]);
    }
}

/* The first line of a password file into *out (the caller frees it). A
 * relative path is taken from the configuration file's folder. */
static int read_password_file(char **out, const char *conf_path, const value *v, pm_error *err)
{
    const char *slash = strrchr(conf_path, '/');
    char *path = v->text[0] == '/' || !slash
                     ? pm__strdup(v->text)
                     : pm__format("%.*s/%s", (int)(slash - conf_path), conf_path, v->text);
    if (!path)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    FILE *fp = fopen(path, "r");
    char line[4096];
    char *got = fp ? fgets(line, sizeof(line), fp) : NULL;
    int saved = errno;
    if (fp)
        fclose(fp);
    int rc = 0;
    if (!got)
        rc = pm_error_set(err, PM_EINVAL, "%s: password_file: cannot read %s: %s", v->origin, path,
                          fp ? "it is empty" : strerror(saved));
    free(path);
    if (rc < 0)
        return rc;
    line[strcspn(line, "\r\n")] = '\0';
    *out = pm__strdup(line);
    memset(line, 0, sizeof(line));
    return *out ? 0 : pm_error_set(err, PM_ENOMEM, "out of memory");
}

/* The parts' password into *out (the caller frees it): from password_env,
 * password_file, or none (""). */
static int find_password(char **out, const pm_config *cfg, pm_error *err)
{
    const value *env = &cfg->values[key_index("password_env")];
    const value *file = &cfg->values[key_index("password_file")];
    *out = NULL;
    if (file->text && !env->text)
        return read_password_file(out, cfg->path, file, err);
    const char *pw = env->text ? getenv(env->text) : "";
    if (!pw)
        return pm_error_set(err, PM_EINVAL, "%s: password_env names %s, which is not set",
                            env->origin, env->text);
    *out = pm__strdup(pw);
    return *out ? 0 : pm_error_set(err, PM_ENOMEM, "out of memory");
}

/* scheme://user:password@host:port/dbname from the parts, when the file
 * has host or dbname and no database_url. */
static int compose_url(pm_config *cfg, pm_error *err)
{
    const value *scheme = &cfg->values[key_index("scheme")];
    const value *host = &cfg->values[key_index("host")];
    const value *port = &cfg->values[key_index("port")];
    const value *user = &cfg->values[key_index("user")];
    const value *dbname = &cfg->values[key_index("dbname")];
    if (!host->text && !dbname->text)
        return 0;
    const value *given = host->text ? host : dbname;
    if (!scheme->text)
        return pm_error_set(err, PM_EINVAL,
                            "%s: a database given by its parts needs scheme = (postgres, mysql, "
                            "...)",
                            given->origin);
    char *password = NULL;
    int found = find_password(&password, cfg, err);
    if (found < 0)
        return found;
    pm_buf url = PM_BUF_INIT;
    pm_buf_printf(&url, "%s://", scheme->text);
    if (user->text) {
        append_encoded(&url, user->text);
        if (*password) {
            pm_buf_appendc(&url, ':');
            append_encoded(&url, password);
        }
        pm_buf_appendc(&url, '@');
    }
    bool ipv6 = host->text && strchr(host->text, ':');
    pm_buf_printf(&url, "%s%s%s", ipv6 ? "[" : "", host->text ? host->text : "", ipv6 ? "]" : "");
    if (port->text)
        pm_buf_printf(&url, ":%s", port->text);
    pm_buf_appendc(&url, '/');
    if (dbname->text)
        append_encoded(&url, dbname->text);
    memset(password, 0, strlen(password));
    free(password);
    int rc =
        url.oom ? pm_error_set(err, PM_ENOMEM, "out of memory")
                : value_set(&cfg->values[KEY_DATABASE_URL], pm_buf_cstr(&url),
                            pm__format("%s (from scheme, host, port, user, dbname)", given->origin),
                            given->line, err);
    pm_buf_free(&url);
    return rc;
}

/* ==== The environment and the .env file ==== */

typedef struct env_file {
    const char *name;
    value poblysh_url; /* POBLYSH_DATABASE_URL */
    value common_url;  /* DATABASE_URL */
    pm_error *err;
} env_file;

static int on_env_entry(void *ctx, const char *key, const char *text, int line)
{
    env_file *e = ctx;
    value *v = strcmp(key, PM_ENV_DATABASE_URL) == 0          ? &e->poblysh_url
               : strcmp(key, PM_ENV_DATABASE_URL_COMMON) == 0 ? &e->common_url
                                                              : NULL;
    if (!v || !*text) /* the rest of a .env is the program's business */
        return 0;
    return value_set(v, text, pm__format("%s:%d (%s)", e->name, line, key), line, e->err);
}

static int read_env_file(env_file *e, bool must_exist, pm_error *err)
{
    FILE *fp = fopen(e->name, "rb");
    if (!fp) {
        if (!must_exist && errno == ENOENT)
            return 0;
        return pm_error_set(err, errno == ENOENT ? PM_ENOTFOUND : PM_EINVAL,
                            "cannot read the .env file %s: %s", e->name, strerror(errno));
    }
    pm_buf text = PM_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        pm_buf_appendn(&text, chunk, n);
    fclose(fp);
    e->err = err;
    int rc = text.oom ? pm_error_set(err, PM_ENOMEM, "out of memory")
                      : pm__dotenv_parse(text.ptr ? text.ptr : "", text.len, e->name, on_env_entry,
                                         e, err);
    pm_buf_free(&text);
    return rc;
}

/* The first of the environment's variables and the .env file's that is
 * set becomes key's value; returns 1 when one did, 0, or an error. */
static int take_environment(pm_config *cfg, int key, const char *const *vars,
                            value *const *from_file, size_t nfile, pm_error *err)
{
    for (const char *const *var = vars; *var; var++) {
        const char *text = getenv(*var);
        if (text && *text) {
            int rc = value_set(&cfg->values[key], text, pm__format("environment %s", *var), 0, err);
            return rc < 0 ? rc : 1;
        }
    }
    for (size_t i = 0; i < nfile; i++)
        if (from_file[i]->text) {
            value_clear(&cfg->values[key]);
            cfg->values[key] = *from_file[i];
            memset(from_file[i], 0, sizeof(value));
            return 1;
        }
    return 0;
}

/* ==== Loading ==== */

static int set_default(pm_config *cfg, const char *key, const char *text, pm_error *err)
{
    value *v = &cfg->values[key_index(key)];
    if (v->text)
        return 0;
    char *origin = strcmp(key, "database_url") == 0
                       ? pm__format("default of profile %s", cfg->profile)
                       : pm__strdup("default");
    int rc = value_set(v, text, origin, 0, err);
    v->is_default = rc == 0;
    return rc;
}

static int apply_defaults(pm_config *cfg, pm_error *err)
{
    const char *url = strcmp(cfg->profile, "local") == 0  ? PM_LOCAL_DATABASE_URL
                      : strcmp(cfg->profile, "test") == 0 ? PM_TEST_DATABASE_URL
                                                          : NULL;
    int rc = url ? set_default(cfg, "database_url", url, err) : 0;
    if (rc == 0)
        rc = set_default(cfg, "lock_timeout", "60", err);
    if (rc == 0)
        rc = set_default(cfg, "wait", "0", err);
    return rc;
}

/* The file's values: the profile's section, else [default]. */
static int load_file(pm_config *cfg, const char *path, pm_error *err)
{
    file_reader r;
    memset(&r, 0, sizeof(r));
    r.path = path;
    r.profile = cfg->profile;
    int rc = read_file(&r, err);
    for (size_t i = 0; i < NKEYS; i++) {
        value *v = r.profile_values[i].text ? &r.profile_values[i] : &r.default_values[i];
        if (rc == 0 && v->text) {
            cfg->values[i] = *v;
            memset(v, 0, sizeof(*v));
        }
        value_clear(&r.profile_values[i]);
        value_clear(&r.default_values[i]);
    }
    return rc;
}

static const char *file_to_read(const pm_config_options *o, bool *must_exist)
{
    *must_exist = true;
    if (o->path && *o->path)
        return o->path;
    const char *env = getenv(PM_ENV_CONFIG);
    if (env && *env)
        return env;
    *must_exist = false;
    return PM_CONFIG_FILE;
}

static int load(pm_config *cfg, const pm_config_options *o, pm_error *err)
{
    bool must_exist;
    const char *path = file_to_read(o, &must_exist);
    int rc = 0;
    FILE *probe = must_exist ? NULL : fopen(path, "r");
    if (probe)
        fclose(probe);
    if (must_exist || probe) {
        cfg->path = pm__strdup(path);
        rc = cfg->path ? load_file(cfg, path, err) : pm_error_set(err, PM_ENOMEM, "out of memory");
    }
    env_file e = {o->env_file && *o->env_file ? o->env_file : PM_ENV_FILE, {0}, {0}, NULL};
    if (rc == 0 && !(o->flags & PM_CONFIG_NO_ENV_FILE))
        rc = read_env_file(&e, o->env_file && *o->env_file, err);
    static const char *const url_vars[] = {PM_ENV_DATABASE_URL, PM_ENV_DATABASE_URL_COMMON, NULL};
    static const char *const dir_vars[] = {"POBLYSH_MIGRATIONS_DIR", NULL};
    value *from_env_file[] = {&e.poblysh_url, &e.common_url};
    int found = rc;
    if (rc == 0)
        found = take_environment(cfg, KEY_DATABASE_URL, url_vars, from_env_file, 2, err);
    if (found == 0 && !cfg->values[KEY_DATABASE_URL].text)
        found = compose_url(cfg, err);
    if (found >= 0)
        found = take_environment(cfg, KEY_MIGRATIONS_DIR, dir_vars, NULL, 0, err);
    value_clear(&e.poblysh_url);
    value_clear(&e.common_url);
    return found < 0 ? found : apply_defaults(cfg, err);
}

int pm_config_load_with(pm_config **out, const pm_config_options *opts, pm_error *err)
{
    static const pm_config_options defaults = PM_CONFIG_OPTIONS_INIT;
    const pm_config_options *o = opts ? opts : &defaults;
    pm_error_clear(err);
    *out = NULL;
    if (o->version != PM_CONFIG_OPTIONS_VERSION)
        return pm_error_set(err, PM_EINVAL,
                            "pm_config_options version %u is unknown: this build knows %d",
                            o->version, PM_CONFIG_OPTIONS_VERSION);
    pm_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    cfg->profile = pm__strdup(o->profile && *o->profile ? o->profile : pm_profile_current());
    int rc = cfg->profile ? load(cfg, o, err) : pm_error_set(err, PM_ENOMEM, "out of memory");
    if (rc < 0) {
        pm_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

int pm_config_load(pm_config **out, const char *path, const char *profile, pm_error *err)
{
    pm_config_options o = PM_CONFIG_OPTIONS_INIT;
    o.path = path;
    o.profile = profile;
    return pm_config_load_with(out, &o, err);
}

void pm_config_free(pm_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < NKEYS; i++)
        value_clear(&cfg->values[i]);
    free(cfg->profile);
    free(cfg->path);
    free(cfg);
}

/* ==== Reading ==== */

const char *pm_config_profile(const pm_config *cfg)
{
    return cfg->profile;
}

const char *pm_config_path(const pm_config *cfg)
{
    return cfg->path;
}

const char *pm_config_get(const pm_config *cfg, const char *key)
{
    int i = key_index(key);
    return i < 0 ? NULL : cfg->values[i].text;
}

const char *pm_config_origin(const pm_config *cfg, const char *key)
{
    int i = key_index(key);
    return i < 0 ? NULL : cfg->values[i].origin;
}

bool pm_config_is_default(const pm_config *cfg, const char *key)
{
    int i = key_index(key);
    return i >= 0 && cfg->values[i].is_default;
}

int pm_config_get_int(const pm_config *cfg, const char *key, int *out)
{
    int i = key_index(key);
    if (i < 0 || (key_table[i].kind != KIND_SECONDS && key_table[i].kind != KIND_COUNT))
        return PM_EINVAL;
    if (!cfg->values[i].text)
        return PM_ENOTFOUND;
    *out = (int)strtol(cfg->values[i].text, NULL, 10); /* checked when set */
    return 0;
}

int pm_config_get_duration_ms(const pm_config *cfg, const char *key, int *out_ms)
{
    int i = key_index(key);
    if (i < 0 || key_table[i].kind != KIND_DURATION)
        return PM_EINVAL;
    if (!cfg->values[i].text)
        return PM_ENOTFOUND;
    return pm_duration_parse(cfg->values[i].text, out_ms);
}

int pm_config_set(pm_config *cfg, const char *key, const char *text, const char *origin,
                  pm_error *err)
{
    int i = key_index(key);
    if (i < 0)
        return pm_error_set(err, PM_EINVAL, "unknown setting \"%s\"", key);
    char where[256];
    snprintf(where, sizeof(where), "%s: ", origin ? origin : "?");
    int rc = check_value(&key_table[i], text ? text : "", where, err);
    return rc ? rc : value_set(&cfg->values[i], text, pm__strdup(origin ? origin : "?"), 0, err);
}
