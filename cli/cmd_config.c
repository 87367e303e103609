/* cmd_config.c: where the CLI's settings come from. pm__cli_load_config()
 * reads the profile's settings (poblysh.conf, the environment, .env) once,
 * puts the flags given above them, and fills in what no flag gave;
 * `poblysh config` prints them with each one's origin, passwords hidden. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"

/* ==== Loading ==== */

/* The flags that are settings too, as given, above everything else. */
static int set_flags(const cli_options *opts, pm_error *err)
{
    const struct {
        const char *key, *flag, *text;
    } flags[] = {
        {"database_url", "--database-url", opts->database_url},
        {"migrations_dir", "--source", opts->source},
        {"lock_timeout", "--lock-timeout", opts->lock_timeout_text},
        {"wait", "--wait", opts->wait_text},
        {"ddl_lock_timeout", "--ddl-lock-timeout", opts->ddl_lock_timeout_text},
        {"statement_timeout", "--statement-timeout", opts->statement_timeout_text},
        {"schema", "--schema", opts->schema},
    };
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        if (!flags[i].text)
            continue;
        int rc = pm_config_set(opts->config, flags[i].key, flags[i].text, flags[i].flag, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* A timeout of the file in the engine's terms: 0 in the file is no limit. */
static void take_timeout(const pm_config *cfg, const char *key, int *out_ms)
{
    int ms;
    if (pm_config_get_duration_ms(cfg, key, &ms) == 0)
        *out_ms = ms == 0 ? PM_TIMEOUT_NONE : ms;
}

/* What no flag gave, from the file (the flags' own values were set in it). */
static void fill_options(cli_options *opts)
{
    const pm_config *cfg = opts->config;
    int n;
    if (pm_config_get_int(cfg, "lock_timeout", &n) == 0)
        opts->lock_timeout = n;
    if (pm_config_get_int(cfg, "wait", &n) == 0)
        opts->wait = n;
    take_timeout(cfg, "ddl_lock_timeout", &opts->ddl_lock_timeout_ms);
    take_timeout(cfg, "statement_timeout", &opts->statement_timeout_ms);
}

int pm__cli_load_config(cli_options *opts)
{
    pm_config_options o = PM_CONFIG_OPTIONS_INIT;
    o.path = opts->config_path;
    o.profile = opts->profile;
    o.env_file = opts->env_file;
    if (opts->no_env_file)
        o.flags |= PM_CONFIG_NO_ENV_FILE;
    pm_error err = PM_ERROR_INIT;
    int rc = pm_config_load_with(&opts->config, &o, &err);
    if (rc == 0)
        rc = set_flags(opts, &err);
    if (rc < 0) {
        fprintf(stderr, "poblysh: error: %s\n", err.message ? err.message : "?");
        pm_error_clear(&err);
        return PM_EXIT_USAGE;
    }
    fill_options(opts);
    return 0;
}

/* ==== poblysh config ==== */

static void print_setting(const pm_config *cfg, const char *key)
{
    const char *text = pm_config_get(cfg, key);
    char *shown = text && strcmp(key, "database_url") == 0 ? pm_url_redact(text) : NULL;
    const char *origin = pm_config_origin(cfg, key);
    printf("%-18s %s  (%s)\n", key, shown ? shown : text ? text : "-", origin ? origin : "not set");
    free(shown);
}

int pm__cli_config(const cli_options *opts)
{
    const pm_config *cfg = opts->config;
    const char *path = pm_config_path(cfg);
    printf("Profile: %s\n", pm_config_profile(cfg));
    printf("Configuration file: %s\n", path ? path : "none (no " PM_CONFIG_FILE " here)");
    for (const char *const *key = pm_config_keys(); *key; key++)
        if (strcmp(*key, "history_table") != 0) /* refused in the file: never set */
            print_setting(cfg, *key);
    if (!pm_config_get(cfg, "database_url"))
        printf("(profile %s has no database: give --database-url, %s, %s, or database_url in "
               "its section)\n",
               pm_config_profile(cfg), PM_ENV_DATABASE_URL, PM_ENV_DATABASE_URL_COMMON);
    return PM_EXIT_OK;
}
