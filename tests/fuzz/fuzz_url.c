/* fuzz_url.c: the URL parser, the secret finder, redaction and scrubbing.
 * Oracle, for any input: every secret the parser reads (password, or a
 * password=/sslpassword=/pwd=/pass= value) is among the finder's; the
 * redacted URL parses with each of those secrets replaced by "***"; no error
 * from parsing or from pm_url_capabilities() (which never connects) quotes
 * a secret; and a driver message scrubbed with the finder's secrets holds
 * none of them as a whole occurrence. For a driver that reads connection
 * strings with its own library (libpq: several hosts, key=value strings),
 * every secret that library reads is among the finder's too, and the
 * redacted form, when that library reads it, holds "***" for each. A
 * violation traps. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../core/src/internal.h"
#include "poblysh/poblysh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

/* The scrubbing's notion of a word character (url.c). */
static int is_word(char c)
{
    unsigned char u = (unsigned char)c;
    return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '_' ||
           u >= 0x80;
}

/* How many whole occurrences of s text holds (the scrubbing's definition). */
static size_t whole_count(const char *text, const char *s)
{
    size_t n = strlen(s), count = 0;
    if (!text || n == 0)
        return 0;
    for (const char *hit = text; (hit = strstr(hit, s)) != NULL; hit++) {
        int left = !(is_word(s[0]) && hit > text && is_word(hit[-1]));
        int right = !(is_word(s[n - 1]) && is_word(hit[n]));
        count += left && right;
    }
    return count;
}

static int is_secret_name(const char *key)
{
    return strcasecmp(key, "password") == 0 || strcasecmp(key, "sslpassword") == 0 ||
           strcasecmp(key, "pwd") == 0 || strcasecmp(key, "pass") == 0;
}

static int found(const pm_secrets *s, const char *value)
{
    for (size_t i = 0; i < s->nvalues; i++) {
        if (strcmp(s->values[i], value) == 0)
            return 1;
    }
    return 0;
}

/* The secrets the driver's library reads in a text, collected. */
typedef struct library_secrets {
    const pm_secrets *finder; /* each must be found there; NULL: only count */
    size_t count;
    size_t not_hidden; /* values other than "***" */
} library_secrets;

static int note_library_secret(void *ctx, const char *value)
{
    library_secrets *l = ctx;
    l->count++;
    l->not_hidden += strcmp(value, "***") != 0;
    if (l->finder)
        CHECK(found(l->finder, value));
    return 0;
}

/* What the library of the driver reading url finds in text is found, and
 * what it finds in the redaction is only "***". */
static void check_library_reading(const char *text, const pm_url *url, const pm_secrets *s,
                                  const char *shown)
{
    const pm_driver *reader = pm__scheme_reader(url->scheme);
    if (!reader)
        return;
    library_secrets original = {s, 0, 0};
    if (reader->conninfo(text, note_library_secret, &original, NULL, NULL) != 1)
        return;
    /* A redaction the library refuses sends nothing; one it reads sends
     * nothing but "***". */
    library_secrets redacted = {NULL, 0, 0};
    if (reader->conninfo(shown, note_library_secret, &redacted, NULL, NULL) == 1)
        CHECK(redacted.not_hidden == 0);
}

static int checkable(const char *secret);
static size_t whole_count(const char *text, const char *s);

/* The parser's secrets are the finder's, and redaction replaces each. */
static void check_parsed(const char *text, const pm_url *url, const pm_secrets *s)
{
    if (url->password)
        CHECK(found(s, url->password));
    for (size_t i = 0; i < url->nparams; i++) {
        if (is_secret_name(url->params[i].key) && *url->params[i].value)
            CHECK(found(s, url->params[i].value));
    }
    char *shown = pm_url_redact(text);
    if (!shown)
        return;
    pm_url *back = NULL;
    pm_error err = PM_ERROR_INIT;
    CHECK(pm_url_parse(&back, shown, &err) == 0);
    CHECK(back->is_conninfo == url->is_conninfo);
    check_library_reading(text, url, s, shown);
    if (url->password)
        CHECK(back->password && strcmp(back->password, "***") == 0);
    /* Hiding what a driver's library reads as a password (libpq's user info
     * ends at the first '@', across a '?') may swallow a '&' of the query:
     * then fewer parameters, and no secret value left in the text. */
    CHECK(back->nparams <= url->nparams);
    for (size_t i = 0; i < url->nparams; i++) {
        if (!is_secret_name(url->params[i].key) || !*url->params[i].value)
            continue;
        if (back->nparams == url->nparams)
            CHECK(strcmp(back->params[i].value, "***") == 0);
        else if (checkable(url->params[i].value))
            CHECK(whole_count(shown, url->params[i].value) == 0);
    }
    pm_url_free(back);
    pm_error_clear(&err);
    free(shown);
}

/* text with every byte of every secret span changed (to 'Q', or 'Z' where it
 * was 'Q'), so no secret can be written there. */
static char *filled(const char *text, const pm_secrets *s)
{
    char *copy = strdup(text);
    for (size_t i = 0; copy && i < s->nspans; i++) {
        for (size_t k = s->spans[i].start; k < s->spans[i].end; k++)
            copy[k] = copy[k] == 'Q' ? 'Z' : 'Q';
    }
    return copy;
}

/* The error message pm_url_capabilities() gives for text, or NULL. */
static char *error_of(const char *text)
{
    unsigned int caps = 0;
    pm_error err = PM_ERROR_INIT;
    char *message = NULL;
    if (pm_url_capabilities(text, &caps, &err) < 0 && err.message)
        message = strdup(err.message);
    pm_error_clear(&err);
    return message;
}

/* A secret that could be a word of the messages' own prose ("password",
 * "host") or an offset is not checked: only the ones of 8 bytes or more
 * with a character other than a letter. */
static int checkable(const char *secret)
{
    if (strlen(secret) < 8 || strchr(secret, '*'))
        return 0;
    for (const char *c = secret; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
            return 1;
    }
    return 0;
}

/* No error quotes a secret more often than it does when the secrets are
 * overwritten (what it quotes then is its own text, not the secret). */
static void check_errors(const char *text, const pm_secrets *s)
{
    char *message = error_of(text);
    if (!message)
        return;
    char *other = filled(text, s);
    char *baseline = other ? error_of(other) : NULL;
    for (size_t i = 0; other && i < s->nvalues; i++) {
        if (checkable(s->values[i]))
            CHECK(whole_count(message, s->values[i]) <= whole_count(baseline, s->values[i]));
    }
    free(baseline);
    free(other);
    free(message);
}

/* A message naming each secret in the ways drivers do loses every one. */
static void check_scrub(const pm_secrets *s)
{
    for (size_t i = 0; i < s->nvalues; i++) {
        const char *v = s->values[i];
        if (strchr(v, '*'))
            continue;
        pm_error err = PM_ERROR_INIT;
        pm_error_set(&err, PM_EDB, "%s: auth failed for \"%s\" (%s) %s", v, v, v, v);
        err.detail = strdup(v);
        pm__secrets_scrub(s, &err);
        for (size_t k = 0; k < s->nvalues; k++) {
            if (strchr(s->values[k], '*'))
                continue;
            CHECK(whole_count(err.message, s->values[k]) == 0);
            CHECK(whole_count(err.detail, s->values[k]) == 0);
        }
        pm_error_clear(&err);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    pm_secrets secrets = PM_SECRETS_INIT;
    if (pm__secrets_find(&secrets, text) == 0) {
        pm_url *url = NULL;
        pm_error err = PM_ERROR_INIT;
        if (pm_url_parse(&url, text, &err) == 0)
            check_parsed(text, url, &secrets);
        pm_url_free(url);
        pm_error_clear(&err);
        check_errors(text, &secrets);
        check_scrub(&secrets);
    }
    pm__secrets_clear(&secrets);
    free(text);
    return 0;
}
