/* config.h: the settings of a profile, read from a configuration file
 * (poblysh.conf, INI), the environment and a .env file, with where each came
 * from. The CLI reads its settings through it, and so can a service: its
 * database URL, timeouts and connection-pool settings.
 *
 * The file has one section per profile ([local], [test], [production], any
 * name of letters, digits, '_' and '-'); a [default] section's keys apply to
 * every profile that does not set them. Keys (see docs/configuration.md):
 *   database_url                  the database, or its parts: scheme, host,
 *                                 port, user, dbname, with the password read
 *                                 from password_env=VARIABLE or
 *                                 password_file=PATH, never from the file
 *   migrations_dir                a folder of SQL migrations (--source)
 *   history_schema                the schema of the history table (read and
 *                                 shown; the CLI refuses to run with it until
 *                                 the engine can place the history there)
 *   lock_timeout, wait, connect_timeout   whole seconds
 *   ddl_lock_timeout, statement_timeout,
 *   pool_idle_timeout, pool_max_lifetime  durations: 500ms, 5s, 10min, 1h;
 *                                         0 for no limit
 *   application_name              a name for the server's session list
 *   pool_size                     a whole number of connections, 1 to 10000
 *   schema                        the PostgreSQL schema for the migrations'
 *                                 objects and the history (pm_db_use_schema())
 * history_table is refused: the history table's name is fixed
 * (seaql_migrations). An unknown key, a key set twice in a section, a bad
 * value or a line that is not INI is an error naming file, line and key.
 *
 * Where the database URL comes from, first found wins: a value the caller
 * sets (pm_config_set(): the CLI's --database-url), $POBLYSH_DATABASE_URL,
 * $DATABASE_URL, the same two keys in the .env file (never overriding the
 * real environment), the profile's section, the [default] section, and the
 * profile's own default (local: sqlite://poblysh.db, test: sqlite::memory:).
 * migrations_dir: $POBLYSH_MIGRATIONS_DIR before the file.
 *
 * Threads: loading reads the environment with getenv(); a loaded pm_config
 * is read-only and may be read from several threads. */
#ifndef POBLYSH_CONFIG_H
#define POBLYSH_CONFIG_H

#include <stdbool.h>

#include "errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The file read when no path is given and $POBLYSH_CONFIG is unset, if it
 * exists in the current folder; and the .env file likewise. */
#define PM_CONFIG_FILE "poblysh.conf"
#define PM_ENV_CONFIG "POBLYSH_CONFIG"
#define PM_ENV_FILE ".env"
#define PM_ENV_DATABASE_URL_COMMON "DATABASE_URL"

typedef struct pm_config pm_config;

/* pm_config_options.flags */
#define PM_CONFIG_NO_ENV_FILE (1u << 0) /* read no .env file */

#define PM_CONFIG_OPTIONS_VERSION 1

typedef struct pm_config_options {
    unsigned int version; /* PM_CONFIG_OPTIONS_VERSION */
    /* The configuration file; NULL: $POBLYSH_CONFIG, else ./poblysh.conf
     * when it exists (no file at all is fine: every setting is then from the
     * environment or a default). A file named here or by $POBLYSH_CONFIG
     * must exist. */
    const char *path;
    /* The profile; NULL or "": $POBLYSH_PROFILE, else "local". */
    const char *profile;
    /* The .env file; NULL: ./.env when it exists. A file named here must
     * exist. Ignored with PM_CONFIG_NO_ENV_FILE. */
    const char *env_file;
    unsigned int flags; /* PM_CONFIG_* */
} pm_config_options;

#define PM_CONFIG_OPTIONS_INIT                                                                     \
    {                                                                                              \
        PM_CONFIG_OPTIONS_VERSION, NULL, NULL, NULL, 0                                             \
    }

/* Reads the settings of profile (NULL: $POBLYSH_PROFILE, else "local") from
 * path (NULL: $POBLYSH_CONFIG, else ./poblysh.conf if present), the
 * environment and ./.env if present. PM_EINVAL with "FILE:LINE: ..." for a
 * bad file; a missing file that was named is PM_ENOTFOUND. The caller frees
 * *out with pm_config_free(). */
int pm_config_load(pm_config **out, const char *path, const char *profile, pm_error *err);

/* pm_config_load() with options; opts NULL is PM_CONFIG_OPTIONS_INIT. */
int pm_config_load_with(pm_config **out, const pm_config_options *opts, pm_error *err);

void pm_config_free(pm_config *cfg);

/* The profile the settings are for. Borrowed from cfg. */
const char *pm_config_profile(const pm_config *cfg);

/* The configuration file read ("poblysh.conf", as named), or NULL when none
 * was. Borrowed from cfg. */
const char *pm_config_path(const pm_config *cfg);

/* The value of key as text, or NULL when it is not set (nor defaulted).
 * "database_url" is the resolved URL: it may hold a password; show it
 * through pm_url_redact(). Borrowed from cfg, valid until it is freed or
 * the key is set again. An unknown key is NULL. */
const char *pm_config_get(const pm_config *cfg, const char *key);

/* A whole-number setting (lock_timeout, wait, connect_timeout, pool_size,
 * port) in *out. PM_ENOTFOUND when it is not set (*out unchanged),
 * PM_EINVAL when key is not such a setting. */
int pm_config_get_int(const pm_config *cfg, const char *key, int *out);

/* A duration setting (ddl_lock_timeout, statement_timeout,
 * pool_idle_timeout, pool_max_lifetime) in milliseconds; 0 is no limit.
 * PM_ENOTFOUND when it is not set, PM_EINVAL when key is not one. */
int pm_config_get_duration_ms(const pm_config *cfg, const char *key, int *out_ms);

/* Where the value of key came from, for people: "--database-url",
 * "environment POBLYSH_DATABASE_URL", ".env:3", "poblysh.conf:12
 * [production]", "default of profile local"; NULL when it is not set.
 * Borrowed from cfg. */
const char *pm_config_origin(const pm_config *cfg, const char *key);

/* true when key's value is the profile's built-in default (database_url of
 * local and test, lock_timeout, wait). */
bool pm_config_is_default(const pm_config *cfg, const char *key);

/* Sets key, validated as in the file, with origin (e.g. "--lock-timeout"):
 * what a caller's own flags say, above everything else. PM_EINVAL naming
 * the key for a bad value or unknown key. */
int pm_config_set(pm_config *cfg, const char *key, const char *value, const char *origin,
                  pm_error *err);

/* The keys pm_config_get() knows, in the order `poblysh config` prints
 * them, ending with NULL. Static. */
const char *const *pm_config_keys(void);

#ifdef __cplusplus
}
#endif
#endif
