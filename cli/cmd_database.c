/* cmd_database.c: `poblysh database create|drop|reset`, the URL's own
 * database made or removed (pm_database_create(), pm_database_drop()), and
 * `up --create-database`. No SQL here: the backends know how. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "poblysh/sys/driver.h" /* pm_error_set() */

/* The URL the flags, environment, .env or poblysh.conf name (cmd_config.c);
 * *url is the caller's. */
static int resolve_url(char **url, const cli_options *opts, pm_error *err)
{
    const char *found = pm_config_get(opts->config, "database_url");
    if (!found)
        return pm__cli_no_database(pm_config_profile(opts->config), err);
    if (opts->verbose)
        pm__cli_say_database(opts->config, found, false);
    size_t size = strlen(found) + 1;
    *url = malloc(size);
    if (!*url)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    memcpy(*url, found, size);
    return 0;
}

/* Dropping takes the data with it: outside local and test it needs --yes,
 * as `migrate down` does. */
static int refused_without_yes(const char *command, const cli_options *opts)
{
    const char *profile = pm_config_profile(opts->config);
    if (pm_profile_auto_migrates(profile) || (opts->given & OPT_YES))
        return 0;
    fprintf(stderr,
            "poblysh: refusing to run database %s under profile \"%s\": it deletes the "
            "database and all its data. Pass --yes to confirm.\n",
            command, profile);
    return PM_EXIT_USAGE;
}

static int create_database(const char *url, const cli_options *opts, pm_error *err)
{
    char *name = NULL;
    bool created = false;
    pm_db_options dopts;
    pm__cli_db_options(&dopts, opts);
    int rc = pm_database_name(url, &name, err);
    if (rc == 0)
        rc = pm_database_create(url, &dopts, &created, err);
    if (rc == 0)
        printf(created ? "Created database %s\n" : "Database %s already exists\n", name);
    free(name);
    return rc;
}

static int drop_database(const char *url, const cli_options *opts, pm_error *err)
{
    char *name = NULL;
    bool dropped = false;
    pm_db_options dopts;
    pm__cli_db_options(&dopts, opts);
    int rc = pm_database_name(url, &name, err);
    if (rc == 0)
        rc = pm_database_drop(url, &dopts, &dropped, err);
    if (rc == 0)
        printf(dropped ? "Dropped database %s\n" : "Database %s does not exist\n", name);
    free(name);
    return rc;
}

/* Runs the steps of a command on the resolved URL; an exit code. */
static int run(const cli_options *opts, bool drop, bool create)
{
    char *url = NULL;
    pm_error err = PM_ERROR_INIT;
    int rc = resolve_url(&url, opts, &err);
    if (rc == 0 && drop)
        rc = drop_database(url, opts, &err);
    if (rc == 0 && create)
        rc = create_database(url, opts, &err);
    int code = rc < 0 ? pm__cli_report_error(&err, NULL) : PM_EXIT_OK;
    free(url);
    pm_error_clear(&err);
    return code;
}

int pm__cli_database_ensure(const cli_options *opts)
{
    return run(opts, false, true);
}

static int cmd_create(const cli_options *opts)
{
    return run(opts, false, true);
}

static int cmd_drop(const cli_options *opts)
{
    int code = refused_without_yes("drop", opts);
    return code ? code : run(opts, true, false);
}

static int cmd_reset(const cli_options *opts)
{
    int code = refused_without_yes("reset", opts);
    return code ? code : run(opts, true, true);
}

const cli_command pm__cli_database_commands[] = {
    {"create", cmd_create, "Create the URL's database if it does not exist",
     "Usage: poblysh database create [--database-url URL] [--wait SECS]\n"
     "\n"
     "Creates the database the URL names: on PostgreSQL through the server's postgres\n"
     "database, on MySQL/MariaDB through a connection naming no database, for SQLite the\n"
     "file. Prints \"Created database NAME\", or \"Database NAME already exists\" (exit 0).\n",
     0, 0},
    {"drop", cmd_drop, "Drop the URL's database if it exists",
     "Usage: poblysh database drop [--yes] [--database-url URL] [--wait SECS]\n"
     "\n"
     "Drops the database the URL names with all its data: PostgreSQL's DROP DATABASE ...\n"
     "WITH (FORCE) ends the sessions still connected to it; for SQLite the file and its\n"
     "-wal, -shm and -journal are deleted. Prints \"Dropped database NAME\", or \"Database\n"
     "NAME does not exist\" (exit 0).\n"
     "\n"
     "  --yes   needed under a profile other than local/test (else exit 2)\n",
     OPT_YES, 0},
    {"reset", cmd_reset, "Drop the URL's database and create it again, empty",
     "Usage: poblysh database reset [--yes] [--database-url URL] [--wait SECS]\n"
     "\n"
     "database drop, then database create.\n"
     "\n"
     "  --yes   needed under a profile other than local/test (else exit 2)\n",
     OPT_YES, 0},
    {NULL, NULL, NULL, NULL, 0, 0},
};
