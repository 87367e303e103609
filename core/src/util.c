/* util.c: strings, the growable buffer and the clock the core shares. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

char *pm__strdup(const char *s)
{
    return s ? pm__strndup(s, strlen(s)) : NULL;
}

char *pm__strndup(const char *s, size_t n)
{
    char *copy = malloc(n + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

char *pm__vformat(const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

char *pm__format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = pm__vformat(fmt, ap);
    va_end(ap);
    return s;
}

static int buf_reserve(pm_buf *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->ptr, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->ptr = p;
    b->cap = cap;
    return 0;
}

void pm_buf_appendn(pm_buf *b, const char *s, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return;
    memcpy(b->ptr + b->len, s, n);
    b->len += n;
    b->ptr[b->len] = '\0';
}

void pm_buf_append(pm_buf *b, const char *s)
{
    pm_buf_appendn(b, s, strlen(s));
}

void pm_buf_appendc(pm_buf *b, char c)
{
    pm_buf_appendn(b, &c, 1);
}

void pm_buf_printf(pm_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = pm__vformat(fmt, ap);
    va_end(ap);
    if (!s) {
        b->oom = 1;
        return;
    }
    pm_buf_append(b, s);
    free(s);
}

const char *pm_buf_cstr(pm_buf *b)
{
    return b->ptr && !b->oom ? b->ptr : "";
}

char *pm_buf_detach(pm_buf *b)
{
    char *s = b->oom ? NULL : b->ptr;
    if (!s && !b->oom)
        s = pm__strdup("");
    if (b->oom)
        free(b->ptr);
    b->ptr = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
    return s;
}

void pm_buf_free(pm_buf *b)
{
    free(b->ptr);
    b->ptr = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

/* ==== Lists of names in messages ==== */

void pm__list_add(pm_buf *b, size_t index, const char *item)
{
    if (index < PM_LIST_MAX)
        pm_buf_printf(b, "%s%s", index ? ", " : "", item);
}

/* n with a comma between groups of three digits: 1,990. */
static void append_grouped(pm_buf *b, size_t n)
{
    if (n >= 1000) {
        append_grouped(b, n / 1000);
        pm_buf_printf(b, ",%03zu", n % 1000);
    } else {
        pm_buf_printf(b, "%zu", n);
    }
}

void pm__list_end(pm_buf *b, size_t count, const char *more_hint)
{
    if (count <= PM_LIST_MAX)
        return;
    pm_buf_append(b, " and ");
    append_grouped(b, count - PM_LIST_MAX);
    pm_buf_append(b, " more");
    if (more_hint)
        pm_buf_append(b, more_hint);
}

int64_t pm__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
