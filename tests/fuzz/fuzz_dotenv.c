/* fuzz_dotenv.c: the .env reader (core/src/dotenv.h). Oracle, for any
 * input: each key it reports is a valid name and each line number lies
 * within the text and never goes back; an error names "f.env:<line>:";
 * and each value without ' or a newline, written back as KEY='value', reads
 * back as the same key and value. A violation traps. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/src/dotenv.h"
#include "../../core/src/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

typedef struct seen {
    int lines; /* lines in the text */
    int last;  /* the last line reported */
    int count;
} seen;

static int valid_key(const char *key)
{
    if (!((*key >= 'A' && *key <= 'Z') || (*key >= 'a' && *key <= 'z') || *key == '_'))
        return 0;
    for (const char *c = key; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              *c == '_'))
            return 0;
    return 1;
}

typedef struct echo {
    const char *key, *value;
    int matched;
} echo;

static int compare(void *ctx, const char *key, const char *value, int line)
{
    echo *e = ctx;
    CHECK(line == 1);
    CHECK(strcmp(key, e->key) == 0 && strcmp(value, e->value) == 0);
    e->matched++;
    return 0;
}

static void check_round_trip(const char *key, const char *value)
{
    if (strchr(value, '\'') || strchr(value, '\n'))
        return;
    char *line = pm__format("%s='%s'", key, value);
    if (!line)
        return;
    echo e = {key, value, 0};
    pm_error err = PM_ERROR_INIT;
    CHECK(pm__dotenv_parse(line, strlen(line), "f.env", compare, &e, &err) == 0);
    CHECK(e.matched == 1);
    pm_error_clear(&err);
    free(line);
}

static int check_entry(void *ctx, const char *key, const char *value, int line)
{
    seen *s = ctx;
    CHECK(valid_key(key));
    CHECK(line >= 1 && line <= s->lines && line > s->last);
    s->last = line;
    s->count++;
    check_round_trip(key, value);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seen s = {1, 0, 0};
    for (size_t i = 0; i < size; i++)
        s.lines += data[i] == '\n';
    pm_error err = PM_ERROR_INIT;
    int rc = pm__dotenv_parse((const char *)data, size, "f.env", check_entry, &s, &err);
    if (rc < 0) {
        CHECK(rc == PM_EINVAL || rc == PM_ENOMEM);
        if (rc == PM_EINVAL)
            CHECK(err.message && strncmp(err.message, "f.env:", 6) == 0);
    }
    pm_error_clear(&err);
    return 0;
}
