/* measure.c: how pm_bench measures. A run is a command started through
 * pm_bench_run (run.c: wait4 gives its wall time and peak memory) or work
 * done in a forked child (in-process cases, so each run's peak memory is its
 * own); two sides are run in
 * alternation and summarised by medians; results are printed per case and
 * gathered into one summary table. */
#define _DEFAULT_SOURCE /* wait4(), putenv() */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

/* ==== Small helpers ==== */

static void *checked(void *p)
{
    if (!p) {
        fprintf(stderr, "pm_bench: out of memory\n");
        exit(1);
    }
    return p;
}

char *bench_format(const char *fmt, ...)
{
    va_list ap, copy;
    va_start(ap, fmt);
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    char *s = checked(malloc(n < 0 ? 1 : (size_t)n + 1));
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

char *bench_path(const char *dir, const char *name)
{
    return bench_format("%s/%s", dir, name);
}

char *bench_cli_path(const bench_env *env, size_t count)
{
    return bench_format("%s/pm_bench_cli_%zu", env->bin_dir, count);
}

void bench_remove_sqlite(const char *path)
{
    static const char *const suffixes[] = {"", "-journal", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        char *p = bench_format("%s%s", path, suffixes[i]);
        unlink(p);
        free(p);
    }
}

const char *bench_ms_text(char *buf, size_t size, double ms)
{
    if (ms >= 10000)
        snprintf(buf, size, "%.2f s", ms / 1000);
    else if (ms >= 100)
        snprintf(buf, size, "%.0f ms", ms);
    else if (ms >= 1)
        snprintf(buf, size, "%.2f ms", ms);
    else
        snprintf(buf, size, "%.3f ms", ms);
    return buf;
}

const char *bench_kib_text(char *buf, size_t size, long kib)
{
    snprintf(buf, size, "%.1f MiB", (double)kib / 1024);
    return buf;
}

/* ==== Child processes ==== */

/* The smallest figures a measured command can show: /bin/true's. */
static int do_nothing(void *ctx, double *ms)
{
    (void)ctx;
    *ms = 0;
    return 0;
}

int bench_report_floor(const bench_env *env)
{
    const char *argv[] = {"/bin/true", NULL};
    bench_cmd cmd = {argv, NULL, NULL};
    bench_sample s, child;
    int rc = bench_spawn(env, &cmd, &s);
    if (rc == 0)
        rc = bench_in_child(do_nothing, NULL, &child);
    if (rc == 0) {
        char ms[32], peak[32], child_peak[32];
        printf("floor: /bin/true measured the same way takes %s, peak %s; an in-process run "
               "doing nothing peaks at %s\n",
               bench_ms_text(ms, sizeof(ms), s.ms), bench_kib_text(peak, sizeof(peak), s.peak_kib),
               bench_kib_text(child_peak, sizeof(child_peak), child.peak_kib));
    }
    return rc;
}

/* The tail of the children's stderr log, after a failure. */
static void show_child_stderr(const char *log)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return;
    char tail[2048];
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size > (long)sizeof(tail) - 1 ? size - (long)sizeof(tail) + 1 : 0, SEEK_SET);
    size_t n = fread(tail, 1, sizeof(tail) - 1, f);
    tail[n] = '\0';
    fclose(f);
    fprintf(stderr, "pm_bench: its stderr (%s) ends with:\n%s\n", log, tail);
}

static void redirect(int fd, const char *path, int flags)
{
    int opened = open(path, flags, 0644);
    if (opened < 0 || dup2(opened, fd) < 0) {
        fprintf(stderr, "pm_bench: cannot open %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    close(opened);
}

/* In the child: redirections, environment, then pm_bench_run (which runs
 * and measures the command). Never returns. */
static void exec_launcher(const bench_env *env, const bench_cmd *cmd, const char *log,
                          int result_fd)
{
    redirect(STDIN_FILENO, cmd->stdin_path ? cmd->stdin_path : "/dev/null", O_RDONLY);
    redirect(STDOUT_FILENO, "/dev/null", O_WRONLY);
    redirect(STDERR_FILENO, log, O_WRONLY | O_CREAT | O_APPEND);
    for (const char *const *e = cmd->env; e && *e; e++)
        putenv((char *)*e);
    size_t n = 0;
    while (cmd->argv[n])
        n++;
    const char **argv = calloc(n + 3, sizeof(*argv));
    char *launcher = bench_path(env->bin_dir, "pm_bench_run");
    char fd_text[16];
    snprintf(fd_text, sizeof(fd_text), "%d", result_fd);
    if (argv) {
        argv[0] = launcher;
        argv[1] = fd_text;
        memcpy(argv + 2, cmd->argv, (n + 1) * sizeof(*argv));
        execv(launcher, (char *const *)argv);
    }
    fprintf(stderr, "pm_bench: cannot run %s: %s\n", launcher, strerror(errno));
    _exit(127);
}

/* Reads pm_bench_run's "<ms> <peak KiB> <status>" line. */
static int read_result(int fd, bench_sample *out, int *status)
{
    char line[128];
    size_t len = 0;
    ssize_t got;
    while (len < sizeof(line) - 1 && (got = read(fd, line + len, sizeof(line) - 1 - len)) > 0)
        len += (size_t)got;
    line[len] = '\0';
    return sscanf(line, "%lf %ld %d %lf", &out->ms, &out->peak_kib, status, &out->cpu_ms) == 4 ? 0
                                                                                               : -1;
}

int bench_spawn(const bench_env *env, const bench_cmd *cmd, bench_sample *out)
{
    char *log = bench_path(env->work, "child-stderr.log");
    int fds[2];
    if (pipe(fds) < 0) {
        free(log);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        exec_launcher(env, cmd, log, fds[1]);
    }
    close(fds[1]);
    int status = -1, launcher_status = 0;
    int rc = pid < 0 ? -1 : read_result(fds[0], out, &status);
    close(fds[0]);
    if (pid > 0)
        waitpid(pid, &launcher_status, 0);
    if (rc < 0 || status != 0) {
        fprintf(stderr, "pm_bench: %s failed (status %d)\n", cmd->argv[0], status);
        show_child_stderr(log);
        rc = -1;
    }
    free(log);
    return rc;
}

int bench_in_child(bench_work_fn fn, void *ctx, bench_sample *out)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        double ms = 0;
        int rc = fn(ctx, &ms);
        ssize_t written = write(fds[1], &ms, sizeof(ms));
        fflush(NULL);
        _exit(rc == 0 && written == (ssize_t)sizeof(ms) ? 0 : 1);
    }
    close(fds[1]);
    double ms = -1;
    ssize_t got = pid < 0 ? -1 : read(fds[0], &ms, sizeof(ms));
    close(fds[0]);
    int status = 0;
    struct rusage usage;
    if (pid < 0 || wait4(pid, &status, 0, &usage) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0 || got != (ssize_t)sizeof(ms)) {
        fprintf(stderr, "pm_bench: the in-process run failed\n");
        return -1;
    }
    out->ms = ms;
    out->cpu_ms = (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3 +
                  (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;
    out->peak_kib = usage.ru_maxrss;
    return 0;
}

int bench_isolated(bench_work_fn fn, void *ctx)
{
    bench_sample ignored;
    return bench_in_child(fn, ctx, &ignored);
}

/* ==== Several runs ==== */

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *values, int n)
{
    qsort(values, (size_t)n, sizeof(*values), compare_double);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

static void summarise(const bench_sample *samples, int n, bench_stats *out)
{
    double *ms = checked(calloc((size_t)n, sizeof(*ms)));
    double *cpu = checked(calloc((size_t)n, sizeof(*cpu)));
    double *peak = checked(calloc((size_t)n, sizeof(*peak)));
    for (int i = 0; i < n; i++) {
        ms[i] = samples[i].ms;
        cpu[i] = samples[i].cpu_ms;
        peak[i] = (double)samples[i].peak_kib;
    }
    out->median_cpu_ms = median(cpu, n);
    out->median_ms = median(ms, n);
    out->min_ms = ms[0];
    out->max_ms = ms[n - 1];
    out->peak_kib = (long)median(peak, n);
    out->runs = n;
    free(ms);
    free(cpu);
    free(peak);
}

static int run_side(const bench_side *side, bench_sample *out)
{
    if (side->prepare && side->prepare(side->ctx) < 0) {
        fprintf(stderr, "pm_bench: preparing a %s run failed\n", side->label);
        return -1;
    }
    return side->run(side->ctx, out);
}

/* The side that runs at position pos of round r: the order rotates every
 * round, so with two sides it is AB, BA, AB... and drift in the machine's
 * speed falls on every side alike. */
static size_t side_at(size_t pos, int r, size_t nsides)
{
    return (pos + (size_t)r) % nsides;
}

int bench_rounds(const bench_side *sides, size_t nsides, int runs, bench_stats *stats,
                 double *ratios)
{
    bench_sample *samples = checked(calloc((size_t)runs * nsides, sizeof(*samples)));
    int rc = 0;
    for (int r = 0; rc == 0 && r < runs; r++)
        for (size_t pos = 0; rc == 0 && pos < nsides; pos++) {
            size_t i = side_at(pos, r, nsides);
            rc = run_side(&sides[i], &samples[i * (size_t)runs + (size_t)r]);
        }
    double *pair = checked(calloc((size_t)runs, sizeof(*pair)));
    for (size_t i = 0; rc == 0 && i < nsides; i++) {
        summarise(&samples[i * (size_t)runs], runs, &stats[i]);
        for (size_t j = 0; ratios && j < nsides; j++) {
            for (int r = 0; r < runs; r++) /* side i over side j, same round */
                pair[r] = samples[i * (size_t)runs + (size_t)r].ms /
                          samples[j * (size_t)runs + (size_t)r].ms;
            ratios[i * nsides + j] = median(pair, runs);
        }
    }
    free(pair);
    free(samples);
    return rc;
}

int bench_alternate(const bench_side *a, const bench_side *b, int runs, bench_stats *sa,
                    bench_stats *sb)
{
    bench_side sides[2] = {*a, *b};
    bench_stats stats[2];
    int rc = bench_rounds(sides, 2, runs, stats, NULL);
    if (rc == 0) {
        *sa = stats[0];
        *sb = stats[1];
    }
    return rc;
}

int bench_repeat(const bench_side *a, int runs, bench_stats *out)
{
    bench_sample *samples = checked(calloc((size_t)runs, sizeof(*samples)));
    int rc = 0;
    for (int r = 0; rc == 0 && r < runs; r++)
        rc = run_side(a, &samples[r]);
    if (rc == 0)
        summarise(samples, runs, out);
    free(samples);
    return rc;
}

/* ==== Reporting ==== */

void bench_report_header(int number, const char *title)
{
    printf("\ncase %d: %s\n", number, title);
    fflush(stdout);
}

void bench_report_stats(const char *label, const bench_stats *s)
{
    char med[32], lo[32], hi[32], cpu[32], peak[32];
    printf("  %-9s median %10s  (min %s, max %s, %d runs)  CPU %s  peak %s\n", label,
           bench_ms_text(med, sizeof(med), s->median_ms), bench_ms_text(lo, sizeof(lo), s->min_ms),
           bench_ms_text(hi, sizeof(hi), s->max_ms), s->runs,
           bench_ms_text(cpu, sizeof(cpu), s->median_cpu_ms),
           bench_kib_text(peak, sizeof(peak), s->peak_kib));
    fflush(stdout);
}

bool bench_report_ratio(const bench_stats *poblysh, const bench_stats *baseline, double target)
{
    double ratio = poblysh->median_ms / baseline->median_ms;
    bool met = ratio <= target;
    printf("  ratio     %.3f (poblysh / baseline, medians of wall time)  target <= %.2f  %s\n",
           ratio, target, met ? "MET" : "NOT MET");
    printf("            CPU time ratio %.3f (user + system, for reference)\n",
           poblysh->median_cpu_ms / baseline->median_cpu_ms);
    fflush(stdout);
    return met;
}

void bench_report_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("  ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
}

/* ==== The summary ==== */

typedef struct summary_row {
    int number;
    char *cells[7]; /* what, poblysh, baseline, ratio, target, met, peak */
} summary_row;

static summary_row *rows;
static size_t nrows;

void bench_summary_add(int number, const char *what, const char *poblysh, const char *baseline,
                       const char *ratio, const char *target, const char *met, const char *peak)
{
    rows = checked(realloc(rows, (nrows + 1) * sizeof(*rows)));
    const char *cells[7] = {what, poblysh, baseline, ratio, target, met, peak};
    rows[nrows].number = number;
    for (int i = 0; i < 7; i++)
        rows[nrows].cells[i] = bench_format("%s", cells[i] ? cells[i] : "");
    nrows++;
}

void bench_summary_print(void)
{
    printf("\nSummary (medians; peak = median ru_maxrss of the poblysh runs):\n\n");
    printf("| Case | What | poblysh | Baseline | Ratio | Target | Met | Peak |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < nrows; i++) {
        printf("| %d |", rows[i].number);
        for (int c = 0; c < 7; c++)
            printf(" %s |", rows[i].cells[c]);
        printf("\n");
    }
    fflush(stdout);
}

void bench_summary_free(void)
{
    for (size_t i = 0; i < nrows; i++)
        for (int c = 0; c < 7; c++)
            free(rows[i].cells[c]);
    free(rows);
    rows = NULL;
    nrows = 0;
}
