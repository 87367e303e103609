/* run.c: pm_bench_run, the small launcher every measured command goes
 * through, as /usr/bin/time is. Linux records a process's peak memory
 * across exec, so a command forked straight from pm_bench (which holds
 * databases and migration sets) would start with pm_bench's memory as its
 * peak; forked from this tiny process (libc only) it starts near zero.
 *
 *   pm_bench_run RESULT_FD COMMAND [ARG]...
 *
 * Runs COMMAND (stdin, stdout, stderr and environment inherited), waits for
 * it with wait4 and writes "<wall ms> <ru_maxrss KiB> <exit status> <CPU ms>\n"
 * (CPU: user + system) to the file descriptor RESULT_FD. Exits 0 when that
 * was written. */
#define _DEFAULT_SOURCE /* wait4() */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double cpu_ms(const struct rusage *u)
{
    return (double)(u->ru_utime.tv_sec + u->ru_stime.tv_sec) * 1e3 +
           (double)(u->ru_utime.tv_usec + u->ru_stime.tv_usec) / 1e3;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: pm_bench_run RESULT_FD COMMAND [ARG]...\n");
        return 2;
    }
    int result_fd = atoi(argv[1]);
    FILE *result = fdopen(result_fd, "w");
    if (!result) {
        fprintf(stderr, "pm_bench_run: bad result fd %s\n", argv[1]);
        return 2;
    }
    double start = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        close(result_fd);
        execv(argv[2], argv + 2);
        fprintf(stderr, "pm_bench_run: cannot run %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    int status = 0;
    struct rusage usage;
    memset(&usage, 0, sizeof(usage));
    if (pid < 0 || wait4(pid, &status, 0, &usage) < 0) {
        fprintf(stderr, "pm_bench_run: cannot run %s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    double ms = now_ms() - start;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    fprintf(result, "%.6f %ld %d %.6f\n", ms, usage.ru_maxrss, code, cpu_ms(&usage));
    return fclose(result) == 0 ? 0 : 1;
}
