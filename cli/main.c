/* main.c: the poblysh command line: argument parsing, help, and dispatch to
 * the command table. It decides exit codes; the work is library calls. */
#include <getopt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *program_usage =
    "Usage: poblysh [options] migrate <command> [command options]\n"
    "\n"
    "Database schema migrations. Commands:\n"
    "%s"
    "\n"
    "Options:\n"
    "  --database-url URL   database to migrate; overrides $POBLYSH_DATABASE_URL\n"
    "  --lock-timeout SECS  how long to wait for another runner's migration lock (default 60)\n"
    "  --wait SECS          retry connecting while the server is down or starting (default 0)\n"
    "  -v, --verbose        say which profile, URL and driver are used\n"
    "  -h, --help           show help (also after a command: poblysh migrate up --help)\n"
    "  --version            print the version\n"
    "\n"
    "Database URLs (the scheme picks the driver; this build knows: %s):\n"
    "  sqlite::memory:  sqlite:path.db  sqlite://relative/path.db  sqlite:///absolute/path.db\n"
    "  append ?mode=ro|rw|rwc to choose how a SQLite file is opened (default rwc)\n"
    "  postgres://user:password@host:port/db?sslmode=require&... (postgresql:// too; every libpq\n"
    "  parameter passes through; connect_timeout defaults to 10 s)\n"
    "  Percent-encode special characters in the password (@ %%40, : %%3A, / %%2F, ? %%3F, # %%23).\n"
    "  Passwords are never printed.\n"
    "\n"
    "Environment:\n"
    "  POBLYSH_DATABASE_URL  the database, when --database-url is not given\n"
    "  POBLYSH_PROFILE       local (default), test, production, ...; without a URL, local uses\n"
    "                        sqlite://poblysh.db and test uses sqlite::memory:; other profiles\n"
    "                        need a URL\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  1  a migration or database error (nothing half-applied: see the message)\n"
    "  2  usage error: bad arguments, an invalid database URL, a profile with no database\n"
    "  3  the migration lock was not acquired within --lock-timeout\n"
    "  4  could not connect: server unreachable, authentication failed, no such database or file\n"
    "  130  interrupted (SIGINT/SIGTERM): the running migration was rolled back\n";

static void print_program_usage(FILE *out)
{
    char commands[1024] = "";
    for (const cli_command *c = cli_migrate_commands; c->name; c++) {
        char line[160];
        snprintf(line, sizeof(line), "  migrate %-7s  %s\n", c->name, c->summary);
        strncat(commands, line, sizeof(commands) - strlen(commands) - 1);
    }
    char *schemes = pm_db_known_schemes();
    fprintf(out, program_usage, commands, schemes ? schemes : "?");
    free(schemes);
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "poblysh: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'poblysh --help'.\n");
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

static const cli_command *find_command(const char *name)
{
    for (const cli_command *c = cli_migrate_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

enum { OPT_DATABASE_URL = 256, OPT_VERSION, OPT_LOCK_TIMEOUT, OPT_WAIT };

int main(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"database-url", required_argument, NULL, OPT_DATABASE_URL},
        {"lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT},
        {"wait", required_argument, NULL, OPT_WAIT},
        {"num", required_argument, NULL, 'n'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    cli_options opts = {0};
    int help = 0, opt;
    long value;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":n:vh", long_options, NULL)) != -1) {
        switch (opt) {
        case OPT_DATABASE_URL:
            if (!*optarg)
                return usage_error("--database-url is empty%s", "");
            opts.database_url = optarg;
            break;
        case OPT_LOCK_TIMEOUT:
            if (parse_positive(optarg, 86400, &value) < 0)
                return usage_error("--lock-timeout must be a number of seconds from 1 to 86400, not \"%s\"", optarg);
            opts.lock_timeout = (int)value;
            break;
        case OPT_WAIT:
            if (strcmp(optarg, "0") != 0 && parse_positive(optarg, 86400, &value) < 0)
                return usage_error("--wait must be a number of seconds from 0 to 86400, not \"%s\"", optarg);
            if (strcmp(optarg, "0") == 0)
                value = 0;
            opts.wait = (int)value;
            break;
        case 'n':
            if (parse_positive(optarg, 1000000000L, &value) < 0)
                return usage_error("-n must be a positive whole number, not \"%s\"", optarg);
            opts.count = (size_t)value;
            opts.count_given = 1;
            break;
        case 'v':
            opts.verbose = 1;
            break;
        case 'h':
            help = 1;
            break;
        case OPT_VERSION:
            printf("poblysh %s\n", PM_VERSION_STRING);
            return PM_EXIT_OK;
        case ':':
            return usage_error("option %s needs a value", argv[optind - 1]);
        default:
            return usage_error("unknown option \"%s\"", argv[optind - 1]);
        }
    }
    const char *group = optind < argc ? argv[optind] : NULL;
    const char *name = optind + 1 < argc ? argv[optind + 1] : NULL;
    if (group && strcmp(group, "migrate") != 0)
        return usage_error("unknown command \"%s\" (expected: migrate)", group);
    if (!group || (help && !name)) {
        print_program_usage(help ? stdout : stderr);
        return help ? PM_EXIT_OK : PM_EXIT_USAGE;
    }
    if (!name)
        return usage_error("%s needs a command: up, down or status", "migrate");
    const cli_command *command = find_command(name);
    if (!command)
        return usage_error("unknown migrate command \"%s\" (expected: up, down or status)", name);
    if (optind + 2 < argc)
        return usage_error("unexpected argument \"%s\"", argv[optind + 2]);
    if (help) {
        fputs(command->usage, stdout);
        return PM_EXIT_OK;
    }
    if (opts.count_given && !command->takes_count)
        return usage_error("-n does not apply to migrate %s", name);
    return command->run(&opts);
}
