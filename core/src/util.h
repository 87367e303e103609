/* util.h: small helpers shared by the core's files (strings, a growable
 * buffer, clocks). Not part of the public API. */
#ifndef PM_UTIL_H
#define PM_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "poblysh/errors.h"

/* strdup that returns NULL for NULL. */
char *pm__strdup(const char *s);
char *pm__strndup(const char *s, size_t n);

/* A malloc'd printf; NULL when out of memory. */
char *pm__format(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
char *pm__vformat(const char *fmt, va_list ap);

/* A growable string. On allocation failure it remembers the failure
 * (oom = 1) and further appends do nothing; check once at the end. */
typedef struct pm_buf {
    char *ptr;
    size_t len;
    size_t cap;
    int oom;
} pm_buf;

#define PM_BUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }

void pm_buf_append(pm_buf *b, const char *s);
void pm_buf_appendn(pm_buf *b, const char *s, size_t n);
void pm_buf_appendc(pm_buf *b, char c);
void pm_buf_printf(pm_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The string built so far ("" when empty); borrowed. */
const char *pm_buf_cstr(pm_buf *b);
/* Hands the string to the caller (NULL after oom) and resets b. */
char *pm_buf_detach(pm_buf *b);
void pm_buf_free(pm_buf *b);

/* Milliseconds from a monotonic clock. */
int64_t pm__now_ms(void);

/* Records the migration at fault on err (copied). */
void pm__error_set_migration(pm_error *err, const char *migration);
/* Puts "<formatted>: " before err's message, keeping its other fields. */
void pm__error_prefix(pm_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
