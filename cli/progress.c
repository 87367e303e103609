/* progress.c: what up, down, fresh, refresh and reset print while they run:
 * one "[k/N] Applying NAME ... done (2 ms)" line per migration, or, on a
 * terminal once a run has lasted PM_PROGRESS_BAR_AFTER_MS, one line redrawn
 * in place with a bar, the current migration and an estimate of the time
 * left. The bar is drawn with '\r' and spaces only: no escape sequences, so
 * NO_COLOR and TERM=dumb are honoured by construction. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_internal.h"

/* How long a run prints plain lines on a terminal before the bar replaces
 * them, and how often the bar is redrawn at most. */
#define PM_PROGRESS_BAR_AFTER_MS 2000
#define PM_PROGRESS_REDRAW_MS 100
#define BAR_CELLS 24
#define NAME_MAX_SHOWN 40

typedef struct cli_progress {
    int mode;              /* CLI_PROGRESS_* */
    bool tty;              /* stdout is a terminal */
    bool color;            /* pm__cli_use_color(stdout) */
    int64_t bar_after_ms;  /* PM_PROGRESS_BAR_AFTER_MS, or the test override */
    int64_t started_ms;    /* when the first migration of the run started; 0: none yet */
    int64_t drawn_ms;      /* when the bar was last drawn */
    bool bar;              /* the bar line is on the screen */
    size_t bar_len;        /* characters of the bar line drawn last, to blank them */
    bool reverting;        /* the last migration started was a down() */
    const char *migration; /* the migration started last (borrowed from the engine's set) */
} cli_progress;

static cli_progress progress;

int64_t pm__cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool pm__cli_use_color(FILE *stream)
{
    const char *no_color = getenv("NO_COLOR");
    const char *term = getenv("TERM");
    return isatty(fileno(stream)) && !(no_color && *no_color) &&
           !(term && strcmp(term, "dumb") == 0);
}

/* The threshold; POBLYSH_TEST_PROGRESS_AFTER_MS lowers it for the tests
 * (documented as for tests only). */
static int64_t bar_after_ms(void)
{
    const char *text = getenv("POBLYSH_TEST_PROGRESS_AFTER_MS");
    char *end = NULL;
    long ms = text && *text ? strtol(text, &end, 10) : -1;
    return end && !*end && ms >= 0 ? ms : PM_PROGRESS_BAR_AFTER_MS;
}

void pm__cli_progress_begin(int mode)
{
    memset(&progress, 0, sizeof(progress));
    progress.mode = mode;
    progress.tty = isatty(STDOUT_FILENO);
    progress.color = pm__cli_use_color(stdout);
    progress.bar_after_ms = bar_after_ms();
}

/* Blanks the bar line, so that what follows starts at the line's start. */
static void clear_bar(void)
{
    if (!progress.bar)
        return;
    printf("\r%*s\r", (int)progress.bar_len, "");
    progress.bar = false;
    progress.bar_len = 0;
}

/* Flushes stdout, keeping a write error's errno for pm__cli_finish_stdout(). */
static void flush_stdout(void)
{
    errno = 0;
    if (fflush(stdout) != 0)
        pm__cli_note_stdout(stdout, errno);
}

void pm__cli_progress_end(void)
{
    if (!progress.bar)
        return;
    clear_bar();
    flush_stdout();
}

/* "1m05s", "12s", "--" before anything is known. */
static void format_eta(char *buf, size_t size, int64_t elapsed_ms, size_t done, size_t total)
{
    if (done == 0 || total < done) {
        snprintf(buf, size, "--");
        return;
    }
    int64_t left_s = (elapsed_ms * (int64_t)(total - done) / (int64_t)done + 999) / 1000;
    if (left_s >= 60)
        snprintf(buf, size, "%" PRId64 "m%02" PRId64 "s", left_s / 60, left_s % 60);
    else
        snprintf(buf, size, "%" PRId64 "s", left_s);
}

/* "\r[#########...............] 1234/2000  61%  Applying NAME  ETA 45s",
 * padded with spaces over a longer line drawn before. */
static void draw_bar(const pm_event *ev, int64_t now)
{
    size_t done = ev->position - 1, total = ev->total;
    size_t filled = total ? done * BAR_CELLS / total : 0;
    char cells[BAR_CELLS + 1];
    for (size_t i = 0; i < BAR_CELLS; i++)
        cells[i] = i < filled ? '#' : '.';
    cells[BAR_CELLS] = '\0';
    char eta[32];
    format_eta(eta, sizeof(eta), now - progress.started_ms, done, total);
    int name_len = (int)strlen(ev->migration);
    char line[256];
    int n = snprintf(line, sizeof(line), "[%s] %zu/%zu %3zu%%  %s %.*s%s  ETA %s", cells,
                     ev->position, total, total ? done * 100 / total : 0,
                     progress.reverting ? "Reverting" : "Applying",
                     name_len > NAME_MAX_SHOWN ? NAME_MAX_SHOWN - 3 : name_len, ev->migration,
                     name_len > NAME_MAX_SHOWN ? "..." : "", eta);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    int pad = progress.bar_len > len ? (int)(progress.bar_len - len) : 0;
    printf("\r%s%*s", line, pad, "");
    progress.bar = true;
    progress.bar_len = len;
    progress.drawn_ms = now;
}

/* "[3/2000] " before a migration's line, when the run's size is known. */
static void print_count(const pm_event *ev)
{
    if (ev->total)
        printf("[%zu/%zu] ", ev->position, ev->total);
}

static void on_start(const pm_event *ev)
{
    progress.reverting = ev->kind == PM_EVENT_REVERTING;
    progress.migration = ev->migration;
    if (progress.mode == CLI_PROGRESS_NONE)
        return;
    int64_t now = pm__cli_now_ms();
    if (!progress.started_ms)
        progress.started_ms = now;
    bool bar_time = now - progress.started_ms >= progress.bar_after_ms;
    if (progress.mode == CLI_PROGRESS_AUTO && progress.tty && ev->total && bar_time) {
        if (!progress.bar || now - progress.drawn_ms >= PM_PROGRESS_REDRAW_MS)
            draw_bar(ev, now);
        return;
    }
    print_count(ev);
    printf("%s %s ... ", progress.reverting ? "Reverting" : "Applying", ev->migration);
}

static void on_done(const pm_event *ev)
{
    if (progress.bar) {
        if (ev->position == ev->total)
            clear_bar(); /* the last one: the summary follows */
        return;
    }
    if (progress.mode == CLI_PROGRESS_NONE)
        return;
    printf("done (%" PRId64 " ms)\n", ev->elapsed_ms);
}

/* A failure always ends with its own line, also after the bar. */
static void on_failed(const pm_event *ev)
{
    if (progress.mode == CLI_PROGRESS_NONE)
        return;
    if (progress.bar) {
        clear_bar();
        print_count(ev);
        printf("%s %s ... ", progress.reverting ? "Reverting" : "Applying",
               ev->migration ? ev->migration : progress.migration);
    }
    printf("%sFAILED%s\n", progress.color ? "\033[1;31m" : "", progress.color ? "\033[0m" : "");
}

void pm__cli_progress_event(const pm_event *ev, void (*other)(const pm_event *))
{
    switch (ev->kind) {
    case PM_EVENT_APPLYING:
    case PM_EVENT_REVERTING: on_start(ev); break;
    case PM_EVENT_APPLIED:
    case PM_EVENT_REVERTED: on_done(ev); break;
    case PM_EVENT_FAILED: on_failed(ev); break;
    default: /* notices (drops, retries, skips) keep a line of their own */
        clear_bar();
        other(ev);
        break;
    }
    flush_stdout();
}

int pm__cli_progress_parse(const char *text, int *out)
{
    static const char *const names[] = {
        [CLI_PROGRESS_AUTO] = "auto", [CLI_PROGRESS_PLAIN] = "plain", [CLI_PROGRESS_NONE] = "none"};
    for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
        if (strcmp(text, names[i]) == 0) {
            *out = i;
            return 0;
        }
    return -1;
}
