/* cli_main.c: pm_cli_main(), the poblysh command line over a given migration
 * set: argument parsing, help, and dispatch to the command table. It decides
 * exit codes; the work is library calls. The standalone poblysh (poblysh.c)
 * and every service binary run this same function. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"

static const char *program_usage =
    "Usage: poblysh [options] migrate <command> [command options]\n"
    "       poblysh [options] database create|drop|reset [--yes]\n"
    "       poblysh [options] config   (the profile's settings and where each came from)\n"
    "\n"
    "Database schema migrations. Commands:\n"
    "%s"
    "\n"
    "Options:\n"
    "  -u, --database-url URL  database to migrate; overrides $POBLYSH_DATABASE_URL,\n"
    "                       $DATABASE_URL, .env and poblysh.conf\n"
    "  --profile NAME       the profile (overrides $POBLYSH_PROFILE)\n"
    "  --config FILE        settings file (default ./poblysh.conf; also $POBLYSH_CONFIG)\n"
    "  --env-file FILE      read the database URL from FILE instead of ./.env\n"
    "  --no-env-file        read no .env file\n"
    "  --lock-timeout SECS  how long to wait for another runner's migration lock (default 60)\n"
    "  --ddl-lock-timeout DURATION  how long a migration's statement waits for a table\n"
    "                       lock (5s, 500ms, 1min; 0: no limit); PostgreSQL only; default 5s\n"
    "                       for migrations in a transaction, none for those without one\n"
    "  --statement-timeout DURATION  how long a migration's statement may run (PostgreSQL;\n"
    "                       default: the server's setting; 0: no limit)\n"
    "  --ddl-retries N      times a migration in a transaction is rolled back and run again\n"
    "                       after a lock timeout, pausing 1 s, 2 s, 4 s, ... (default 3; 0: "
    "never)\n"
    "  --wait SECS          retry connecting while the server is down or starting (default 0;\n"
    "                       a line per attempt on stderr; SQLite has nothing to wait for)\n"
    "  --source DIR         use the SQL migrations of DIR instead of the compiled-in ones;\n"
    "                       also $POBLYSH_MIGRATIONS_DIR. Layouts of dbmate, golang-migrate,\n"
    "                       goose, sqlx, diesel and Flyway are recognised\n"
    "%s"
    "  --layout NAME        read --source as that tool's layout only (auto, dbmate, goose,\n"
    "                       golang-migrate, sqlx, diesel, flyway; default auto)\n"
    "  -d DIR               the same as --source DIR (SeaORM's -d); migrate init: the folder\n"
    "  -s, --schema NAME    PostgreSQL schema for the migrations and their history (it must\n"
    "                       exist; also schema= in poblysh.conf)\n"
    "  -v, --verbose        say which profile, URL and driver are used\n"
    "  -q, --quiet          print errors only\n"
    "  --progress MODE      auto (lines, then a bar on a terminal after 2 s), plain (a\n"
    "                       line per migration: [k/N] Applying NAME ...) or none (summary)\n"
    "  --targets FILE       a fleet: run migrate up, down, status or verify on every target\n"
    "                       of FILE, one a line: URL [name=NAME] [schema=SCHEMA]; - reads\n"
    "                       stdin (see docs/fleet.md)\n"
    "  --targets-query URL SQL  a fleet: the targets a query lists on a control database\n"
    "                       (columns: url[, name[, schema]])\n"
    "  -j, --jobs N         a fleet: at most N targets at once, one connection each (1 to\n"
    "                       256; default 4)\n"
    "  --canary K           a fleet: the first K targets first, alone; the others start\n"
    "                       only if all K are ok\n"
    "  --keep-going         a fleet: a failed target does not stop the others from starting\n"
    "  --report FILE        a fleet: every target's outcome as JSON in FILE, also after a\n"
    "                       failure or Ctrl-C\n"
    "  (each command has options of its own: poblysh migrate COMMAND --help)\n"
    "  -h, --help           show help (also after a command: poblysh migrate up --help)\n"
    "  -V, --version        print the version\n"
    "\n"
    "Database URLs (the scheme picks the driver; this build knows: %s):\n"
    "  sqlite::memory:  sqlite:path.db  sqlite://relative/path.db  sqlite:///absolute/path.db\n"
    "  append ?mode=ro|rw|rwc to choose how a SQLite file is opened (default rwc)\n"
    "  postgres://user:password@host:port/db?sslmode=require&... (postgresql:// too; every libpq\n"
    "  parameter passes through; connect_timeout defaults to 10 s)\n"
    "  mysql://user:password@host:port/db (mariadb:// too), dbi:DRIVER://... for any libdbi "
    "driver\n"
    "  Percent-encode special characters in the password (@ %%40, : %%3A, / %%2F, ? %%3F, # "
    "%%23).\n"
    "  Passwords are never printed.\n"
    "\n"
    "Environment:\n"
    "  POBLYSH_DATABASE_URL  the database, when --database-url is not given\n"
    "  DATABASE_URL          the database, when POBLYSH_DATABASE_URL is not set either\n"
    "  POBLYSH_CONFIG        the settings file, when --config is not given\n"
    "  POBLYSH_MIGRATIONS_DIR  a folder of SQL migrations, when --source is not given\n"
    "  POBLYSH_PROFILE       local (default), test, production, ...; without a URL, local uses\n"
    "                        sqlite://poblysh.db and test uses sqlite::memory:; other profiles\n"
    "                        need a URL\n"
    "  NO_COLOR             set (or TERM=dumb): no colour; status colours only on a terminal\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  1  a migration or database error (see the message for what was rolled back), or\n"
    "     its output could not be written (stdout, or schema --output FILE)\n"
    "  2  usage error: bad arguments, an invalid database URL, a profile with no database,\n"
    "     a bad line in poblysh.conf or .env, a schema (-s) that is missing or unsupported,\n"
    "     a destructive command under a profile other than local/test without --yes\n"
    "  3  the migration lock was not acquired within --lock-timeout\n"
    "  4  could not connect: server unreachable, authentication failed, no such database or file;\n"
    "     or a writing command reached a read-only standby\n"
    "  5  the history needs attention: up refused because of failed, modified, missing or\n"
    "     out-of-order migrations (down, reset, refresh, repair --accept: a failed one), or\n"
    "     because the database holds another tool's history not adopted yet (also status;\n"
    "     adopt: versions this set lacks, a dirty or failed version, or two tools' tables), or\n"
    "     status found a failed, modified, missing or out-of-order migration or a damaged\n"
    "     history table, or status --exit-code found the database not up to date\n"
    "  130  interrupted (SIGINT/SIGTERM): the running migration was stopped and rolled back\n"
    "       where the database can (libdbi lets the running statement finish)\n"
    "  A fleet exits 0 when every target is ok, 130 when interrupted, else the code its\n"
    "  failed targets share (status: 5 for a target needing attention), else 1.\n";

const char *pm__cli_program = "poblysh";

void pm__cli_put_named(FILE *out, const char *text)
{
    static const char word[] = "poblysh ";
    const char *p = text, *hit;
    while ((hit = strstr(p, word)) != NULL) {
        bool starts_word = hit == text || !(isalnum((unsigned char)hit[-1]) || hit[-1] == '_');
        fwrite(p, 1, (size_t)(hit - p), out);
        fputs(starts_word ? pm__cli_program : "poblysh", out);
        fputc(' ', out);
        p = hit + sizeof(word) - 1;
    }
    fputs(p, out);
}

static void print_program_usage(FILE *out, bool has_set)
{
    char commands[2048] = "";
    for (const cli_command *c = pm__cli_migrate_commands; c->name; c++) {
        char line[160];
        snprintf(line, sizeof(line), "  migrate %-9s %s\n", c->name, c->summary);
        strncat(commands, line, sizeof(commands) - strlen(commands) - 1);
    }
    for (const cli_command *c = pm__cli_database_commands; c->name; c++) {
        char line[160];
        snprintf(line, sizeof(line), "  database %-8s %s\n", c->name, c->summary);
        strncat(commands, line, sizeof(commands) - strlen(commands) - 1);
    }
    char *schemes = pm_db_known_schemes();
    /* Only the standalone binary lacks a set of its own. */
    const char *no_set_note =
        has_set
            ? ""
            : "                       (this binary has none compiled in: it needs one of them)\n";
    size_t size = strlen(program_usage) + strlen(no_set_note) + strlen(commands) +
                  (schemes ? strlen(schemes) : 1) + 1;
    char *text = malloc(size);
    if (text) {
        snprintf(text, size, program_usage, commands, no_set_note, schemes ? schemes : "?");
        errno = 0;
        pm__cli_put_named(out, text);
        pm__cli_note_stdout(out, errno); /* longer than stdout's buffer: it may fail early */
    }
    free(text);
    free(schemes);
}

/* "poblysh 0.1.0"; a service's own binary: "myservice (poblysh 0.1.0)". */
static void print_version(void)
{
    if (strcmp(pm__cli_program, "poblysh") == 0)
        printf("poblysh %s\n", pm_version());
    else
        printf("%s (poblysh %s)\n", pm__cli_program, pm_version());
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "poblysh: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry '%s --help'.\n", pm__cli_program);
    return PM_EXIT_USAGE;
}

static int parse_positive(const char *text, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || *end || end == text || v < 1 || v > max)
        return -1;
    *out = v;
    return 0;
}

/* The command table of a group ("migrate", "database"), or NULL. */
static const cli_command *group_commands(const char *group)
{
    if (strcmp(group, "migrate") == 0)
        return pm__cli_migrate_commands;
    if (strcmp(group, "database") == 0)
        return pm__cli_database_commands;
    return NULL;
}

static const cli_command *find_command(const cli_command *table, const char *name)
{
    for (const cli_command *c = table; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

enum {
    LONG_DATABASE_URL = 256,
    LONG_VERSION,
    LONG_LOCK_TIMEOUT,
    LONG_WAIT,
    LONG_IGNORE_MODIFIED,
    LONG_ALLOW_MISSING,
    LONG_ALLOW_OUT_OF_ORDER,
    LONG_YES,
    LONG_FORMAT,
    LONG_EXIT_CODE,
    LONG_ACCEPT,
    LONG_APPLIED,
    LONG_ROLLBACK,
    LONG_DRY_RUN,
    LONG_DIR,
    LONG_OUTPUT,
    LONG_SOURCE,
    LONG_LAYOUT,
    LONG_SQL,
    LONG_ALLOW_UNMATCHED,
    LONG_ALLOW_FAILED,
    LONG_DDL_LOCK_TIMEOUT,
    LONG_STATEMENT_TIMEOUT,
    LONG_DDL_RETRIES,
    LONG_STRICT,
    LONG_PROGRESS,
    LONG_CREATE_DATABASE,
    LONG_CONFIG,
    LONG_ENV_FILE,
    LONG_NO_ENV_FILE,
    LONG_PROFILE,
    LONG_SCHEMA,
    LONG_TARGETS,
    LONG_TARGETS_QUERY,
    LONG_CANARY,
    LONG_KEEP_GOING,
    LONG_REPORT
};

static const struct option long_options[] = {
    {"database-url", required_argument, NULL, LONG_DATABASE_URL},
    {"lock-timeout", required_argument, NULL, LONG_LOCK_TIMEOUT},
    {"wait", required_argument, NULL, LONG_WAIT},
    {"ddl-lock-timeout", required_argument, NULL, LONG_DDL_LOCK_TIMEOUT},
    {"statement-timeout", required_argument, NULL, LONG_STATEMENT_TIMEOUT},
    {"ddl-retries", required_argument, NULL, LONG_DDL_RETRIES},
    {"num", required_argument, NULL, 'n'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, LONG_VERSION},
    {"ignore-modified", no_argument, NULL, LONG_IGNORE_MODIFIED},
    {"allow-missing", no_argument, NULL, LONG_ALLOW_MISSING},
    {"allow-out-of-order", no_argument, NULL, LONG_ALLOW_OUT_OF_ORDER},
    {"yes", no_argument, NULL, LONG_YES},
    {"format", required_argument, NULL, LONG_FORMAT},
    {"exit-code", no_argument, NULL, LONG_EXIT_CODE},
    {"accept", required_argument, NULL, LONG_ACCEPT},
    {"applied", required_argument, NULL, LONG_APPLIED},
    {"rollback", required_argument, NULL, LONG_ROLLBACK},
    {"dry-run", no_argument, NULL, LONG_DRY_RUN},
    {"dir", required_argument, NULL, LONG_DIR},
    {"output", required_argument, NULL, LONG_OUTPUT},
    {"source", required_argument, NULL, LONG_SOURCE},
    {"layout", required_argument, NULL, LONG_LAYOUT},
    {"sql", no_argument, NULL, LONG_SQL},
    {"allow-unmatched", no_argument, NULL, LONG_ALLOW_UNMATCHED},
    {"allow-failed", no_argument, NULL, LONG_ALLOW_FAILED},
    {"strict", no_argument, NULL, LONG_STRICT},
    {"progress", required_argument, NULL, LONG_PROGRESS},
    {"quiet", no_argument, NULL, 'q'},
    {"create-database", no_argument, NULL, LONG_CREATE_DATABASE},
    {"config", required_argument, NULL, LONG_CONFIG},
    {"env-file", required_argument, NULL, LONG_ENV_FILE},
    {"no-env-file", no_argument, NULL, LONG_NO_ENV_FILE},
    {"profile", required_argument, NULL, LONG_PROFILE},
    {"schema", required_argument, NULL, LONG_SCHEMA},
    {"targets", required_argument, NULL, LONG_TARGETS},
    {"targets-query", required_argument, NULL, LONG_TARGETS_QUERY},
    {"jobs", required_argument, NULL, 'j'},
    {"canary", required_argument, NULL, LONG_CANARY},
    {"keep-going", no_argument, NULL, LONG_KEEP_GOING},
    {"report", required_argument, NULL, LONG_REPORT},
    {NULL, 0, NULL, 0},
};

/* The long name of an OPT_* bit, for "does not apply" messages. */
static const char *option_name(unsigned int bit)
{
    switch (bit) {
    case OPT_NUM: return "-n";
    case OPT_IGNORE_MODIFIED: return "--ignore-modified";
    case OPT_ALLOW_MISSING: return "--allow-missing";
    case OPT_ALLOW_OUT_OF_ORDER: return "--allow-out-of-order";
    case OPT_YES: return "--yes";
    case OPT_FORMAT: return "--format";
    case OPT_EXIT_CODE: return "--exit-code";
    case OPT_DRY_RUN: return "--dry-run";
    case OPT_DIR: return "--dir";
    case OPT_OUTPUT: return "--output";
    case OPT_ARGUMENT: return "an argument";
    case OPT_SQL: return "--sql";
    case OPT_ALLOW_UNMATCHED: return "--allow-unmatched";
    case OPT_ALLOW_FAILED: return "--allow-failed";
    case OPT_STRICT: return "--strict";
    case OPT_CREATE_DATABASE: return "--create-database";
    case OPT_TARGETS: return "--targets/--targets-query";
    case OPT_JOBS: return "-j/--jobs";
    case OPT_CANARY: return "--canary";
    case OPT_KEEP_GOING: return "--keep-going";
    case OPT_REPORT: return "--report";
    default: return "--accept/--applied/--rollback";
    }
}

static int set_repair(cli_options *opts, pm_repair action, const char *name)
{
    if (opts->given & OPT_REPAIR)
        return usage_error("give one of --accept, --applied and --rollback, once%s", "");
    opts->given |= OPT_REPAIR;
    opts->repair = action;
    opts->repair_name = name;
    return 0;
}

/* A timeout option: a duration, "0" for no limit (PM_TIMEOUT_NONE). */
static int parse_timeout(const char *name, const char *text, int *out)
{
    int ms = 0;
    if (pm_duration_parse(text, &ms) < 0) {
        fprintf(stderr,
                "poblysh: %s must be a duration (a whole number with ms, s, min or h: 5s, "
                "500ms, 10min; 0 for no limit), not \"%s\"\nTry '%s --help'.\n",
                name, text, pm__cli_program);
        return PM_EXIT_USAGE;
    }
    *out = ms == 0 ? PM_TIMEOUT_NONE : ms;
    return 0;
}

/* ==== Fleets ==== */

/* --targets, --targets-query URL SQL (its second argument is the next word:
 * GNU getopt moves the words it skips behind the options, as it does for
 * any argument), -j, --canary, --keep-going, --report. */
static int parse_fleet_option(int opt, int argc, char **argv, cli_options *opts)
{
    long value;
    switch (opt) {
    case LONG_TARGETS:
    case LONG_TARGETS_QUERY:
        if (opts->given & OPT_TARGETS)
            return usage_error("give --targets FILE or --targets-query URL SQL, once%s", "");
        if (!*optarg)
            return usage_error("%s is empty",
                               opt == LONG_TARGETS ? "--targets" : "--targets-query's URL");
        opts->given |= OPT_TARGETS;
        if (opt == LONG_TARGETS) {
            opts->targets = optarg;
            break;
        }
        if (optind >= argc || !*argv[optind])
            return usage_error("--targets-query needs two values: a control database's URL and "
                               "a query listing url[, name[, schema]]%s",
                               "");
        opts->targets_query_url = optarg;
        opts->targets_query_sql = argv[optind++];
        break;
    case 'j':
        if (parse_positive(optarg, PM_FLEET_MAX_JOBS, &value) < 0)
            return usage_error("-j/--jobs must be a whole number from 1 to 256, not \"%s\"",
                               optarg);
        opts->jobs = (unsigned int)value;
        opts->given |= OPT_JOBS;
        break;
    case LONG_CANARY:
        if (parse_positive(optarg, 1000000L, &value) < 0)
            return usage_error("--canary must be a positive whole number of targets, not \"%s\"",
                               optarg);
        opts->canary = (unsigned int)value;
        opts->given |= OPT_CANARY;
        break;
    case LONG_KEEP_GOING: opts->given |= OPT_KEEP_GOING; break;
    default:
        if (!*optarg)
            return usage_error("--report is empty%s", "");
        opts->report = optarg;
        opts->given |= OPT_REPORT;
        break;
    }
    return 0;
}

/* What cannot go with a fleet, and the fleet's options without one. */
static int check_fleet_options(const cli_options *opts)
{
    if (!(opts->given & OPT_TARGETS)) {
        for (unsigned int bit = OPT_JOBS; bit <= OPT_REPORT; bit <<= 1)
            if (opts->given & bit)
                return usage_error("%s applies only to a fleet: give --targets FILE or "
                                   "--targets-query URL SQL",
                                   option_name(bit));
        return 0;
    }
    const struct {
        bool given;
        const char *option, *why;
    } refused[] = {
        {opts->database_url != NULL, "--database-url", "the targets name every database"},
        {opts->schema != NULL, "-s/--schema", "a targets line names its schema (schema=NAME)"},
        {(opts->given & OPT_DRY_RUN) != 0, "--dry-run",
         "dry-run one database with --database-url instead"},
        {(opts->given & OPT_CREATE_DATABASE) != 0, "--create-database",
         "a fleet migrates databases that exist (SQLite files are created by up)"},
        {(opts->given & OPT_FORMAT) != 0, "--format", "--report FILE writes the fleet's JSON"},
        {(opts->given & OPT_STRICT) != 0, "--strict", "verify one database with --strict instead"},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if (!refused[i].given)
            continue;
        char message[256];
        snprintf(message, sizeof(message), "%s cannot go with --targets/--targets-query: %s",
                 refused[i].option, refused[i].why);
        return usage_error("%s", message);
    }
    return 0;
}

/* Parses every option, wherever it stands; returns 0, or an exit code. */
static int parse_options(int argc, char **argv, cli_options *opts, int *help)
{
    int opt;
    long value;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":n:u:vhqVd:s:j:", long_options, NULL)) != -1) {
        switch (opt) {
        case 'u':
        case LONG_DATABASE_URL:
            if (!*optarg)
                return usage_error("--database-url is empty%s", "");
            opts->database_url = optarg;
            break;
        case LONG_LOCK_TIMEOUT:
            if (parse_positive(optarg, 86400, &value) < 0)
                return usage_error(
                    "--lock-timeout must be a number of seconds from 1 to 86400, not \"%s\"",
                    optarg);
            opts->lock_timeout = (int)value;
            opts->lock_timeout_text = optarg;
            break;
        case LONG_WAIT:
            if (strcmp(optarg, "0") != 0 && parse_positive(optarg, 86400, &value) < 0)
                return usage_error("--wait must be a number of seconds from 0 to 86400, not \"%s\"",
                                   optarg);
            if (strcmp(optarg, "0") == 0)
                value = 0;
            opts->wait = (int)value;
            opts->wait_text = optarg;
            break;
        case LONG_DDL_LOCK_TIMEOUT:
        case LONG_STATEMENT_TIMEOUT: {
            bool lock = opt == LONG_DDL_LOCK_TIMEOUT;
            int rc = parse_timeout(lock ? "--ddl-lock-timeout" : "--statement-timeout", optarg,
                                   lock ? &opts->ddl_lock_timeout_ms : &opts->statement_timeout_ms);
            if (rc)
                return rc;
            *(lock ? &opts->ddl_lock_timeout_text : &opts->statement_timeout_text) = optarg;
            break;
        }
        case LONG_DDL_RETRIES:
            if (strcmp(optarg, "0") != 0 && parse_positive(optarg, 100, &value) < 0)
                return usage_error("--ddl-retries must be a whole number from 0 to 100, not \"%s\"",
                                   optarg);
            opts->ddl_retries = strcmp(optarg, "0") == 0 ? -1 : (int)value;
            break;
        case 'n':
            if (parse_positive(optarg, 1000000000L, &value) < 0)
                return usage_error("-n must be a positive whole number, not \"%s\"", optarg);
            opts->count = (size_t)value;
            opts->given |= OPT_NUM;
            break;
        case 'v': opts->verbose = 1; break;
        case 'h': *help = 1; break;
        case 'V':
        case LONG_VERSION: print_version(); return -1;
        case 'q': opts->quiet = 1; break;
        case LONG_PROGRESS:
            if (pm__cli_progress_parse(optarg, &opts->progress) < 0)
                return usage_error("--progress must be auto, plain or none, not \"%s\"", optarg);
            break;
        case LONG_IGNORE_MODIFIED: opts->given |= OPT_IGNORE_MODIFIED; break;
        case LONG_ALLOW_MISSING: opts->given |= OPT_ALLOW_MISSING; break;
        case LONG_ALLOW_OUT_OF_ORDER: opts->given |= OPT_ALLOW_OUT_OF_ORDER; break;
        case LONG_YES: opts->given |= OPT_YES; break;
        case LONG_FORMAT:
            if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
                return usage_error("--format must be text or json, not \"%s\"", optarg);
            opts->json = strcmp(optarg, "json") == 0;
            opts->given |= OPT_FORMAT;
            break;
        case LONG_EXIT_CODE: opts->given |= OPT_EXIT_CODE; break;
        case LONG_ACCEPT:
        case LONG_APPLIED:
        case LONG_ROLLBACK: {
            pm_repair action = opt == LONG_ACCEPT    ? PM_REPAIR_ACCEPT
                               : opt == LONG_APPLIED ? PM_REPAIR_APPLIED
                                                     : PM_REPAIR_ROLLBACK;
            int rc = set_repair(opts, action, optarg);
            if (rc)
                return rc;
            break;
        }
        case LONG_DRY_RUN: opts->given |= OPT_DRY_RUN; break;
        case LONG_DIR:
            opts->dir = optarg;
            opts->given |= OPT_DIR;
            break;
        case LONG_SQL: opts->given |= OPT_SQL; break;
        case LONG_ALLOW_UNMATCHED: opts->given |= OPT_ALLOW_UNMATCHED; break;
        case LONG_ALLOW_FAILED: opts->given |= OPT_ALLOW_FAILED; break;
        case LONG_STRICT: opts->given |= OPT_STRICT; break;
        case LONG_CREATE_DATABASE: opts->given |= OPT_CREATE_DATABASE; break;
        case LONG_CONFIG: opts->config_path = optarg; break;
        case LONG_ENV_FILE: opts->env_file = optarg; break;
        case LONG_NO_ENV_FILE: opts->no_env_file = 1; break;
        case LONG_PROFILE:
            if (!*optarg)
                return usage_error("--profile is empty%s", "");
            opts->profile = optarg;
            break;
        case 's': /* SeaORM's -s, --database-schema */
        case LONG_SCHEMA:
            if (!*optarg)
                return usage_error("%s is empty", opt == 's' ? "-s" : "--schema");
            opts->schema = optarg;
            break;
        case 'd': /* SeaORM's -d, --migration-dir */
        case LONG_SOURCE:
            if (!*optarg)
                return usage_error("%s is empty", opt == 'd' ? "-d" : "--source");
            opts->source = optarg;
            break;
        case LONG_LAYOUT: {
            pm_error bad = PM_ERROR_INIT;
            int known = pm_source_format_check(optarg, &bad);
            if (known < 0) {
                known = usage_error("%s", bad.message ? bad.message : "unknown layout");
                pm_error_clear(&bad);
                return known;
            }
            opts->layout = optarg;
            break;
        }
        case LONG_OUTPUT:
            opts->output = optarg;
            opts->given |= OPT_OUTPUT;
            break;
        case LONG_TARGETS:
        case LONG_TARGETS_QUERY:
        case 'j':
        case LONG_CANARY:
        case LONG_KEEP_GOING:
        case LONG_REPORT: {
            int rc = parse_fleet_option(opt, argc, argv, opts);
            if (rc)
                return rc;
            break;
        }
        case ':': return usage_error("option %s needs a value", argv[optind - 1]);
        default: return usage_error("unknown option \"%s\"", argv[optind - 1]);
        }
    }
    return 0;
}

static int command_names_error(const cli_command *table, const char *fmt, const char *arg)
{
    char names[256] = "";
    for (const cli_command *c = table; c->name; c++) {
        size_t len = strlen(names);
        snprintf(names + len, sizeof(names) - len, "%s%s", len ? ", " : "", c->name);
    }
    fprintf(stderr, "poblysh: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (expected one of: %s)\nTry '%s --help'.\n", names, pm__cli_program);
    return PM_EXIT_USAGE;
}

/* Without a set of the program's own and without --source or
 * $POBLYSH_MIGRATIONS_DIR there is nothing to migrate: say how to give
 * migrations, before any database is opened. */
static int no_migrations_error(const cli_options *opts)
{
    if (!opts->needs_set_check || opts->set || pm__cli_source_dir(opts))
        return 0;
    fprintf(stderr,
            "poblysh: no migrations to manage: this binary has no compiled-in migration set, and\n"
            "  neither --source DIR nor %s names a folder of SQL migrations.\n"
            "  hint: point it at your SQL migrations: %s --source DIR migrate ... (the layout\n"
            "        of dbmate, golang-migrate, goose, sqlx, diesel or Flyway), or export %s=DIR\n"
            "  hint: for C migrations, build your service's own command: poblysh_add_migrations()\n"
            "        in CMake and pm_cli_main() in its main() (see poblysh(1))\n"
            "Nothing was opened or changed.\n",
            PM_ENV_MIGRATIONS_DIR, pm__cli_program, PM_ENV_MIGRATIONS_DIR);
    return PM_EXIT_USAGE;
}

static const char *program_name(const char *argv0)
{
    if (!argv0 || !*argv0)
        return "poblysh";
    const char *slash = strrchr(argv0, '/');
    return slash && slash[1] ? slash + 1 : argv0;
}

/* `poblysh config`: only the global options apply. */
static int run_config(int argc, cli_options *opts, int help)
{
    if (help) {
        pm__cli_put_named(stdout,
                          "Usage: poblysh [--profile NAME] [--config FILE] [--env-file FILE | "
                          "--no-env-file] config\n"
                          "Prints each setting of the profile and where it came from: a flag, "
                          "the environment,\n.env (file:line), poblysh.conf (file:line "
                          "[section]) or a default. Passwords are hidden.\n");
        return PM_EXIT_OK;
    }
    if (optind + 1 < argc || opts->given)
        return usage_error("config takes no arguments or command options%s", "");
    int rc = pm__cli_load_config(opts);
    if (rc == 0)
        rc = pm__cli_config(opts);
    pm_config_free(opts->config);
    return rc;
}

/* The history lives in the migrations' schema (schema=, -s), never in
 * another: a history_schema setting is refused rather than silently ignored. */
static int refuse_history_schema(const cli_options *opts)
{
    if (!pm_config_get(opts->config, "history_schema"))
        return 0;
    fprintf(stderr,
            "%s: error: history_schema (%s) cannot be applied by this version: the history "
            "table follows the migrations' schema; set schema = NAME (or -s NAME) instead "
            "(docs/postgres.md, Choosing a schema) and remove history_schema\n",
            pm__cli_program, pm_config_origin(opts->config, "history_schema"));
    return PM_EXIT_USAGE;
}

static int run_main(int argc, char **argv, const pm_migration *const *set, size_t count)
{
    cli_options opts = {0};
    opts.set = count ? set : NULL;
    opts.set_count = opts.set ? count : 0;
    pm__cli_program = program_name(argc > 0 ? argv[0] : NULL);
    optind = 0; /* a fresh getopt_long() scan, even if the program ran one before */
    int help = 0;
    int rc = parse_options(argc, argv, &opts, &help);
    if (rc)
        return rc < 0 ? PM_EXIT_OK : rc;
    const char *group = optind < argc ? argv[optind] : NULL;
    const char *name = optind + 1 < argc ? argv[optind + 1] : NULL;
    if (group && strcmp(group, "config") == 0)
        return run_config(argc, &opts, help);
    const cli_command *table = group ? group_commands(group) : NULL;
    if (group && !table)
        return usage_error("unknown command \"%s\" (expected: migrate, database or config)", group);
    if (!group || (help && !name)) {
        print_program_usage(help ? stdout : stderr, opts.set != NULL);
        return help ? PM_EXIT_OK : PM_EXIT_USAGE;
    }
    if (!name)
        return command_names_error(table, "%s needs a command", group);
    const cli_command *command = find_command(table, name);
    if (!command) {
        return command_names_error(table,
                                   strcmp(group, "migrate") == 0
                                       ? "unknown migrate command \"%s\""
                                       : "unknown database command \"%s\"",
                                   name);
    }
    if (optind + 2 < argc) {
        opts.argument = argv[optind + 2];
        opts.given |= OPT_ARGUMENT;
    }
    if (optind + 3 < argc)
        return usage_error("unexpected argument \"%s\"", argv[optind + 3]);
    if (help) {
        pm__cli_put_named(stdout, command->usage);
        return PM_EXIT_OK;
    }
    if ((opts.given & OPT_ARGUMENT) && !(command->allows & OPT_ARGUMENT))
        return usage_error("unexpected argument \"%s\"", opts.argument);
    for (unsigned int bit = 1; bit; bit <<= 1)
        if ((opts.given & bit) && !(command->allows & bit)) {
            fprintf(stderr, "%s: %s does not apply to %s %s\nTry '%s %s %s --help'.\n",
                    pm__cli_program, option_name(bit), group, name, pm__cli_program, group, name);
            return PM_EXIT_USAGE;
        }
    if ((rc = check_fleet_options(&opts)) != 0)
        return rc;
    opts.needs_set_check = command->needs_migrations;
    rc = pm__cli_load_config(&opts);
    if (rc == 0)
        rc = refuse_history_schema(&opts);
    if (rc == 0)
        rc = no_migrations_error(&opts);
    if (rc == 0)
        rc = pm__cli_run_command(command, &opts);
    pm_config_free(opts.config);
    return rc;
}

int pm_cli_main(int argc, char **argv, const pm_migration *const *set, size_t count)
{
    /* Output that did not reach stdout makes the command fail, whatever it was:
     * a dry run or a status cut short by a full disk must not exit 0. */
    return pm__cli_finish_stdout(run_main(argc, argv, set, count));
}
