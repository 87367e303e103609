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

/* ==== Lists of names in messages ==== */

/* A message names at most PM_LIST_MAX items of a list, so that 2,000
 * missing migrations stay one readable line. */
#define PM_LIST_MAX 10

/* Appends item, the index-th (from 0) of a list, after ", " unless it is
 * the first; from the PM_LIST_MAX-th on it appends nothing. */
void pm__list_add(pm_buf *b, size_t index, const char *item);
/* Ends a list of count items: " and 1,990 more" followed by more_hint
 * (may be NULL: ": run `poblysh migrate status`") when some were left out. */
void pm__list_end(pm_buf *b, size_t count, const char *more_hint);

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
