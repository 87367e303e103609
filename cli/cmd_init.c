/* cmd_init.c: `poblysh migrate init`: SeaORM's `migrate init` for poblysh.
 * It makes a new migrations folder (never touching one that exists) and its
 * first migration through generate, so both share one template. Only files:
 * no database. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_internal.h"

#define FIRST_MIGRATION "create_table"

static const char registry_header[] =
    "/* registry.def: every compiled-in migration, oldest first, one line each\n"
    " * (the counterpart of SeaORM's lib.rs). `poblysh migrate generate NAME` adds\n"
    " * a line for each new <name>.c; the build compiles the files listed here. */\n";

static int write_registry(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof(path), "%s/registry.def", dir) >= (int)sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int rc = pm__cli_write_all(fd, registry_header, sizeof(registry_header) - 1);
    int saved = errno;
    if (close(fd) < 0 && rc == 0)
        return -1;
    errno = saved;
    return rc;
}

/* Makes the folders above path that are missing (mkdir -p of its parent). */
static void make_parents(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return;
    for (char *slash = strchr(buf + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(buf, 0755); /* an existing one is fine; a real failure shows below */
        *slash = '/';
    }
}

/* The folder: --dir, else -d/--source, else "migrations". */
static const char *folder(const cli_options *opts)
{
    if (opts->dir)
        return opts->dir;
    return opts->source ? opts->source : "migrations";
}

int pm__cli_init(const cli_options *opts)
{
    const char *dir = folder(opts);
    if (!*dir) {
        fprintf(stderr, "poblysh: migrate init: the folder name is empty\n");
        return PM_EXIT_USAGE;
    }
    make_parents(dir);
    if (mkdir(dir, 0755) < 0) {
        int saved = errno;
        fprintf(stderr, "poblysh: migrate init: cannot create %s: %s%s\n", dir, strerror(saved),
                saved == EEXIST ? " (init only makes a new folder; add migrations to an existing "
                                  "one with migrate generate)"
                                : "");
        return saved == EEXIST ? PM_EXIT_USAGE : PM_EXIT_FAILURE;
    }
    bool sql = (opts->given & OPT_SQL) != 0;
    if (!sql && write_registry(dir) < 0) {
        fprintf(stderr, "poblysh: error: cannot write %s/registry.def: %s\n", dir, strerror(errno));
        return PM_EXIT_FAILURE;
    }
    printf("Created %s%s\n", dir, sql ? "" : " with registry.def");
    cli_options first = *opts;
    first.argument = opts->argument ? opts->argument : FIRST_MIGRATION;
    first.given |= OPT_ARGUMENT;
    if (!opts->source || opts->dir) { /* generate --sql names files after --source if given */
        first.dir = dir;
        first.source = NULL;
    }
    return pm__cli_generate(&first);
}
