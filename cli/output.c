/* output.c: writing the CLI's results where a failure cannot go unnoticed:
 * a file replaced whole (a temporary file in its folder, then rename(), so a
 * full disk never leaves a truncated or empty file behind), and a last check
 * of stdout, so output cut short by a full disk or a closed pipe exits 1;
 * and text made valid UTF-8 before it goes into JSON. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_internal.h"

int pm__cli_write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ==== Replacing a file ==== */

/* The mode a new file gets from open(0666): what the umask leaves. */
static mode_t new_file_mode(void)
{
    mode_t mask = umask(022);
    umask(mask);
    return 0666 & ~mask;
}

/* Writes text to a new temporary file next to path (mode: the file's own if
 * it exists, else as open() would make it), flushes it to disk, then renames
 * it over path. Returns 0, or -1 with errno set and nothing left behind. */
static int replace_regular(const char *path, const char *text, mode_t mode)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + sizeof(".tmpXXXXXX"));
    if (!tmp) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmpXXXXXX", sizeof(".tmpXXXXXX"));
    int fd = mkstemp(tmp);
    int rc = fd < 0 ? -1 : 0;
    if (rc == 0 &&
        (fchmod(fd, mode) != 0 || pm__cli_write_all(fd, text, strlen(text)) != 0 || fsync(fd) != 0))
        rc = -1;
    int saved = errno;
    if (fd >= 0 && close(fd) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0 && fd >= 0)
        unlink(tmp);
    free(tmp);
    errno = saved;
    return rc;
}

/* A device or FIFO (/dev/stdout, /dev/full, a pipe) is written in place:
 * it cannot be replaced, and nothing is left behind in it. */
static int write_in_place(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = pm__cli_write_all(fd, text, strlen(text));
    int saved = errno;
    if (close(fd) != 0 && rc == 0)
        return -1;
    errno = saved;
    return rc;
}

/* The path a chain of symbolic links at path ends at (path itself when it is
 * no link), existing or not; malloc'd, NULL with errno set. */
static char *follow_links(const char *path)
{
    char *at = strdup(path);
    for (int hops = 0; at; hops++) {
        struct stat st;
        if (lstat(at, &st) != 0 || !S_ISLNK(st.st_mode))
            return at;
        char target[PATH_MAX];
        ssize_t n = hops < 40 ? readlink(at, target, sizeof(target) - 1) : (errno = ELOOP, -1);
        if (n < 0) {
            free(at);
            return NULL;
        }
        target[n] = '\0';
        const char *slash = strrchr(at, '/');
        int dirlen = target[0] == '/' || !slash ? 0 : (int)(slash - at + 1);
        size_t size = (size_t)dirlen + (size_t)n + 1;
        char *next = malloc(size);
        if (next)
            snprintf(next, size, "%.*s%s", dirlen, at, target);
        free(at);
        at = next;
    }
    errno = ENOMEM;
    return NULL;
}

int pm__cli_replace_file(const char *path, const char *text)
{
    /* A link is followed, so the file it names is replaced, not the link. */
    char *at = follow_links(path);
    if (!at)
        return -1;
    struct stat st;
    int rc;
    if (stat(at, &st) != 0)
        rc = errno == ENOENT ? replace_regular(at, text, new_file_mode()) : -1;
    else if (S_ISREG(st.st_mode))
        rc = replace_regular(at, text, st.st_mode & 07777);
    else if (S_ISDIR(st.st_mode))
        rc = (errno = EISDIR, -1);
    else
        rc = write_in_place(at, text);
    int saved = errno;
    free(at);
    errno = saved;
    return rc;
}

/* ==== Standard output ==== */

/* The errno of a write to stdout that failed while text longer than its
 * buffer was printed: by the final flush it may be gone. */
static int stdout_errno;

void pm__cli_note_stdout(FILE *out, int saved_errno)
{
    if (out == stdout && ferror(stdout) && saved_errno && !stdout_errno)
        stdout_errno = saved_errno;
}

int pm__cli_finish_stdout(int code)
{
    errno = 0;
    int failed = fflush(stdout) != 0;
    int saved = errno ? errno : stdout_errno;
    stdout_errno = 0;
    if (!failed && !ferror(stdout))
        return code;
    if (saved)
        fprintf(stderr, "poblysh: error: cannot write standard output: %s\n", strerror(saved));
    else
        fprintf(stderr, "poblysh: error: cannot write standard output: some of it was lost\n");
    return code == PM_EXIT_OK ? PM_EXIT_FAILURE : code;
}

/* ==== JSON text ==== */

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0 when the bytes
 * there are not one (a stray continuation byte, a truncated, overlong or
 * surrogate sequence, or beyond U+10FFFF). */
static size_t utf8_sequence(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t len = s[0] >= 0xC2 && s[0] <= 0xDF   ? 2
                 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
                 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
                                                : 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) ||
        (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))
        return 0;
    return len;
}

json_t *pm__cli_json_text(const char *s)
{
    if (!s)
        return json_null();
    size_t n = strlen(s);
    char *text = malloc(n * 3 + 1); /* each bad byte may become U+FFFD's 3 bytes */
    if (!text)
        return NULL;
    size_t out = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t len = utf8_sequence(p);
        if (len) {
            memcpy(text + out, p, len);
            out += len;
            p += len;
        } else {
            memcpy(text + out, "\xEF\xBF\xBD", 3);
            out += 3;
            p++;
        }
    }
    json_t *j = json_stringn(text, out);
    free(text);
    return j;
}
