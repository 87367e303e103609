/* url.c: the one database URL parser every driver shares (pm_url_parse), the
 * one finder of a URL's secrets (pm__secrets_find, which is that same parser
 * recording where it read a secret), and the two uses of it: the redaction
 * that makes any URL safe to print (pm_url_redact) and the scrubbing of
 * driver messages (pm__secrets_scrub). Error messages name the fault and its
 * offset but never quote a password. */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "poblysh/sys/driver.h"
#include "poblysh/url.h"
#include "util.h"

#define PM_URL_EXAMPLE "(expected e.g. sqlite://file.db or postgres://host/db)"
#define PM_URL_ENCODE_HINT                                                                         \
    "percent-encode '/', '?' and '@' in a user name or password as %%2F, %%3F and %%40"

/* Longest port text quoted in a message. */
#define PM_URL_QUOTE_MAX 20

/* ==== Small helpers ==== */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int is_scheme_char(char c, int first)
{
    if (isalpha((unsigned char)c))
        return 1;
    return !first && (isdigit((unsigned char)c) || c == '+' || c == '-' || c == '.');
}

/* Length of the run of scheme characters ([A-Za-z][A-Za-z0-9+.-]*) at s. */
static size_t scheme_span(const char *s)
{
    size_t n = 0;
    while (is_scheme_char(s[n], n == 0))
        n++;
    return n;
}

static void lower_in_place(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static const char *last_char(const char *s, size_t n, char c)
{
    while (n > 0) {
        if (s[--n] == c)
            return s + n;
    }
    return NULL;
}

/* Whether a query key names a secret (password, pass, pwd, sslpassword), in
 * any case and even when spelled with percent-escapes ("p%61ssword"). */
static int is_secret_key(const char *key, size_t n)
{
    static const char *const names[] = {"password", "pass", "pwd", "sslpassword"};
    char name[16];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        char c = key[i];
        if (c == '%' && i + 2 < n && hex_value(key[i + 1]) >= 0 && hex_value(key[i + 2]) >= 0) {
            c = (char)(hex_value(key[i + 1]) * 16 + hex_value(key[i + 2]));
            i += 2;
        }
        if (len == sizeof(name) - 1)
            return 0;
        name[len++] = (char)tolower((unsigned char)c);
    }
    name[len] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i]) == 0)
            return 1;
    }
    return 0;
}

/* ==== Errors ==== */

static int url_oom(pm_error *err)
{
    return pm_error_set(err, PM_ENOMEM, "out of memory");
}

static int url_error(pm_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Sets PM_EURL with "invalid database URL: " and the fault. Callers pass only
 * text that cannot hold the password. */
static int url_error(pm_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *fault = pm__vformat(fmt, ap);
    va_end(ap);
    if (!fault)
        return url_oom(err);
    pm_error_set(err, PM_EURL, "invalid database URL: %s", fault);
    free(fault);
    return PM_EURL;
}

/* ==== Parsing ==== */

typedef struct url_parser url_parser;

struct url_parser {
    const char *text; /* the whole URL, for offsets in messages */
    pm_url *url;      /* being filled */
    pm_error *err;
    pm_secrets *found; /* when set, where each secret is written is added */
};

static size_t offset_of(const url_parser *p, const char *at)
{
    return (size_t)(at - p->text);
}

static int add_span(pm_secrets *s, size_t start, size_t end)
{
    pm_secret_span *spans = realloc(s->spans, (s->nspans + 1) * sizeof(*spans));
    if (!spans)
        return PM_ENOMEM;
    spans[s->nspans].start = start;
    spans[s->nspans].end = end;
    s->spans = spans;
    s->nspans++;
    return 0;
}

/* Records that text[at, at + n) holds a secret, when the caller asked where
 * secrets are (pm__secrets_find). An empty value is no secret. */
static int record_secret(url_parser *p, const char *at, size_t n)
{
    if (!p->found || n == 0)
        return 0;
    size_t start = offset_of(p, at);
    return add_span(p->found, start, start + n) < 0 ? url_oom(p->err) : 0;
}

/* Control characters are usually a stray newline from a file, and a raw '#'
 * would start a fragment: both are refused rather than silently kept. */
static int check_characters(url_parser *p)
{
    for (const char *c = p->text; *c; c++) {
        unsigned char u = (unsigned char)*c;
        if (u < 0x20 || u == 0x7f)
            return url_error(p->err, "control character at offset %zu (a stray newline or tab?)",
                             offset_of(p, c));
        if (u == '#')
            return url_error(p->err,
                             "'#' at offset %zu: fragments are not supported "
                             "(write '#' in a password as %%23)",
                             offset_of(p, c));
    }
    return 0;
}

static int bad_escape(url_parser *p, const char *at, size_t left, const char *secret)
{
    int nul = left >= 3 && at[1] == '0' && at[2] == '0';
    if (secret && nul)
        return url_error(p->err, "%%00 (a NUL byte) in the %s is not allowed", secret);
    if (secret)
        return url_error(p->err, "bad percent-escape in the %s (write a literal '%%' as %%25)",
                         secret);
    if (nul)
        return url_error(p->err, "%%00 (a NUL byte) at offset %zu is not allowed",
                         offset_of(p, at));
    return url_error(p->err, "bad percent-escape \"%.*s\" at offset %zu", left < 3 ? (int)left : 3,
                     at, offset_of(p, at));
}

/* Percent-decodes s[0..n) into a new string ('+' stays '+'). When secret is
 * set it names the part in messages instead of quoting it. */
static int decode(url_parser *p, const char *s, size_t n, const char *secret, char **out)
{
    *out = NULL;
    char *d = malloc(n + 1);
    if (!d)
        return url_oom(p->err);
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            d[len++] = s[i];
            continue;
        }
        int hi = i + 1 < n ? hex_value(s[i + 1]) : -1;
        int lo = i + 2 < n ? hex_value(s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(d);
            return bad_escape(p, s + i, n - i, secret);
        }
        d[len++] = (char)(hi * 16 + lo);
        i += 2;
    }
    d[len] = '\0';
    *out = d;
    return 0;
}

/* Like decode(), but an empty part is absent (NULL). */
static int decode_part(url_parser *p, const char *s, size_t n, const char *secret, char **out)
{
    *out = NULL;
    return n ? decode(p, s, n, secret, out) : 0;
}

static int scheme_error(url_parser *p, size_t n)
{
    const char *s = p->text;
    /* "post_gres://": a colon ends the word, so it was meant as a scheme. */
    if (n > 0 && s[n] && s[strcspn(s, ":/?@")] == ':') {
        if (isprint((unsigned char)s[n]))
            return url_error(p->err,
                             "'%c' at offset %zu is not allowed in a scheme "
                             "(letters, digits, '+', '-' and '.' only)",
                             s[n], n);
        return url_error(p->err, "character at offset %zu is not allowed in a scheme", n);
    }
    return url_error(p->err, "missing scheme " PM_URL_EXAMPLE);
}

/* Reads "scheme:" and, for a scheme a driver claims with a sub-scheme
 * ("dbi:*"), "scheme:<driver>:"; *rest points past them. */
static int parse_scheme(url_parser *p, const char **rest)
{
    const char *s = p->text;
    size_t n = scheme_span(s);
    if (n == 0 || s[n] != ':')
        return scheme_error(p, n);
    if (!(p->url->scheme = pm__strndup(s, n)))
        return url_oom(p->err);
    lower_in_place(p->url->scheme);
    s += n + 1;
    if (pm__scheme_takes_subscheme(p->url->scheme)) {
        n = scheme_span(s);
        if (n == 0 || s[n] != ':')
            return url_error(p->err, "expected a driver after \"%s:\", as in %s:<driver>://host/db",
                             p->url->scheme, p->url->scheme);
        if (!(p->url->subscheme = pm__strndup(s, n)))
            return url_oom(p->err);
        lower_in_place(p->url->subscheme);
        s += n + 1;
    }
    *rest = s;
    return 0;
}

/* Splits user[:password] at the first ':'. */
static int parse_userinfo(url_parser *p, const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    size_t ulen = colon ? (size_t)(colon - s) : n;
    int rc = decode_part(p, s, ulen, NULL, &p->url->user);
    if (rc == 0 && colon)
        rc = record_secret(p, colon + 1, n - ulen - 1);
    if (rc == 0 && colon)
        rc = decode_part(p, colon + 1, n - ulen - 1, "password", &p->url->password);
    return rc;
}

/* A port is 1..65535 in decimal. Its text is quoted in a message only when
 * quotable: in "user:secret" without "@host" the password sits where the
 * port goes. */
static int parse_port(url_parser *p, const char *s, size_t n, int quotable)
{
    if (n == 0)
        return url_error(p->err,
                         "empty port after ':' at offset %zu (give a port, e.g. :5432, "
                         "or remove the ':')",
                         offset_of(p, s) - 1);
    unsigned long value = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) {
            if (quotable)
                return url_error(p->err, "port \"%.*s%s\" is not a number",
                                 n > PM_URL_QUOTE_MAX ? PM_URL_QUOTE_MAX : (int)n, s,
                                 n > PM_URL_QUOTE_MAX ? "..." : "");
            return url_error(p->err, "the port after ':' is not a number (if that is a "
                                     "password, the URL lacks '@host'; " PM_URL_ENCODE_HINT ")");
        }
        if (value <= 65535)
            value = value * 10 + (unsigned long)(s[i] - '0');
    }
    if ((value < 1 || value > 65535) && !quotable)
        return url_error(p->err, "the port after ':' is not between 1 and 65535");
    if (value < 1 || value > 65535)
        return url_error(p->err, "port \"%.*s%s\" is not between 1 and 65535",
                         n > PM_URL_QUOTE_MAX ? PM_URL_QUOTE_MAX : (int)n, s,
                         n > PM_URL_QUOTE_MAX ? "..." : "");
    p->url->port = (int)value;
    return 0;
}

/* The inside of "[...]": hex digits, ':' and '.' (for an embedded IPv4),
 * then an optional zone written "%25eth0" (RFC 6874). */
static int parse_ipv6(url_parser *p, const char *s, size_t n)
{
    if (n == 0)
        return url_error(p->err, "empty IPv6 literal \"[]\"");
    const char *zone = memchr(s, '%', n);
    size_t alen = zone ? (size_t)(zone - s) : n;
    if (!memchr(s, ':', alen) || strspn(s, "0123456789abcdefABCDEF:.") < alen)
        return url_error(p->err, "the host in brackets at offset %zu is not an IPv6 address",
                         offset_of(p, s) - 1);
    return decode(p, s, n, NULL, &p->url->host);
}

/* after_userinfo: an '@' came before the host, so the port text cannot be
 * a password and may be quoted. */
static int parse_hostport(url_parser *p, const char *s, size_t n, int after_userinfo)
{
    if (memchr(s, ',', n) && pm__scheme_reader(p->url->scheme))
        return decode_part(p, s, n, NULL, &p->url->host); /* the driver's library reads them */
    if (memchr(s, ',', n))
        return url_error(p->err, "several hosts (separated by ',') are not supported");
    const char *port = NULL;
    size_t plen = 0;
    int rc;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close)
            return url_error(p->err, "unterminated IPv6 literal (no ']' after '[' at offset %zu)",
                             offset_of(p, s));
        if ((rc = parse_ipv6(p, s + 1, (size_t)(close - s) - 1)) != 0)
            return rc;
        const char *after = close + 1;
        size_t left = n - (size_t)(after - s);
        if (left > 0 && *after != ':')
            return url_error(p->err,
                             "unexpected '%c' at offset %zu after the IPv6 literal "
                             "(expected ':port')",
                             *after, offset_of(p, after));
        if (left > 0) {
            port = after + 1;
            plen = left - 1;
        }
    } else {
        const char *colon = memchr(s, ':', n);
        size_t hlen = colon ? (size_t)(colon - s) : n;
        if (memchr(s, '[', hlen) || memchr(s, ']', hlen))
            return url_error(p->err,
                             "unexpected '[' or ']' in the host at offset %zu "
                             "(only a whole IPv6 literal goes in brackets)",
                             offset_of(p, s));
        if ((rc = decode_part(p, s, hlen, NULL, &p->url->host)) != 0)
            return rc;
        if (colon) {
            port = colon + 1;
            plen = n - hlen - 1;
        }
    }
    return port ? parse_port(p, port, plen, after_userinfo) : 0;
}

/* A driver's library that reads URLs itself may end the user info at the
 * first '@' before any '/', across a '?' (libpq does): there
 * "postgres://h?application_name=a:b@c" would send the password "b" to host
 * "c". Such a URL means two things, so an '@' in the query of a URL without
 * a path is refused (even after a '/', which the redaction may hide). */
static int check_library_userinfo(url_parser *p, const char *auth_end)
{
    if (*auth_end != '?' || !pm__scheme_reader(p->url->scheme))
        return 0;
    const char *at = strchr(auth_end, '@'); /* any: hiding a secret may remove a '/' */
    if (!at)
        return 0;
    return url_error(p->err,
                     "'@' at offset %zu in the query of a URL without a path: the %s driver's "
                     "library would read the user info up to it; write it as %%40, or give the "
                     "path (\"/db?...\")",
                     offset_of(p, at), p->url->scheme);
}

/* "//[userinfo@]host[:port][/path]" up to end (the '?' or the end of text);
 * auth points past the "//". The authority ends at the first '/' or '?' and
 * the user info at its last '@', so a raw '@' in a password still parses. */
static int parse_hierarchical(url_parser *p, const char *auth, const char *end)
{
    size_t alen = strcspn(auth, "/?");
    const char *auth_end = auth + alen;
    p->url->has_authority = 1;
    /* An '@' after the authority means a '/' or '?' inside the user info was
     * not encoded: the parts would land in the wrong fields, so refuse. */
    const char *stray = memchr(auth_end, '@', (size_t)(end - auth_end));
    if (stray)
        return url_error(p->err,
                         "'@' after the host at offset %zu; " PM_URL_ENCODE_HINT
                         ", and '@' in a path as %%40",
                         offset_of(p, stray));
    const char *at = last_char(auth, alen, '@');
    int rc = 0;
    if (at)
        rc = parse_userinfo(p, auth, (size_t)(at - auth));
    const char *host = at ? at + 1 : auth;
    if (rc == 0)
        rc = parse_hostport(p, host, (size_t)(auth_end - host), at != NULL);
    if (rc == 0 && *auth_end == '/')
        rc = decode(p, auth_end, (size_t)(end - auth_end), NULL, &p->url->path);
    return rc ? rc : check_library_userinfo(p, auth_end);
}

static int add_param(pm_url *url, char *key, char *value)
{
    pm_url_param *params = realloc(url->params, (url->nparams + 1) * sizeof(*params));
    if (!params)
        return -1;
    params[url->nparams].key = key;
    params[url->nparams].value = value;
    url->params = params;
    url->nparams++;
    return 0;
}

/* One "key[=value]" of the query; a key without '=' has the value "". */
static int parse_param(url_parser *p, const char *s, size_t n)
{
    const char *eq = memchr(s, '=', n);
    size_t klen = eq ? (size_t)(eq - s) : n;
    if (klen == 0)
        return url_error(p->err, "query parameter without a name at offset %zu", offset_of(p, s));
    char *key = NULL, *value = NULL;
    int rc = decode(p, s, klen, NULL, &key);
    if (rc)
        return rc;
    const char *secret = is_secret_key(key, strlen(key)) ? "password query parameter" : NULL;
    if (eq && secret)
        rc = record_secret(p, eq + 1, n - klen - 1);
    if (rc == 0 && eq)
        rc = decode(p, eq + 1, n - klen - 1, secret, &value);
    else if (rc == 0 && !(value = pm__strdup("")))
        rc = url_oom(p->err);
    if (rc == 0 && add_param(p->url, key, value) < 0)
        rc = url_oom(p->err);
    if (rc) {
        free(key);
        free(value);
    }
    return rc;
}

/* Splits the query on '&', skipping empty segments ("a=1&&b=2"). */
static int parse_query(url_parser *p, const char *q)
{
    for (;;) {
        size_t len = strcspn(q, "&");
        if (len > 0) {
            int rc = parse_param(p, q, len);
            if (rc)
                return rc;
        }
        if (!q[len])
            return 0;
        q += len + 1;
    }
}

static int parse_url(url_parser *p)
{
    const char *rest = NULL;
    int rc = parse_scheme(p, &rest);
    if (rc)
        return rc;
    const char *query = strchr(rest, '?');
    const char *end = query ? query : rest + strlen(rest);
    if (rest[0] == '/' && rest[1] == '/')
        rc = parse_hierarchical(p, rest + 2, end);
    else
        rc = decode_part(p, rest, (size_t)(end - rest), NULL, &p->url->path);
    if (rc == 0 && query)
        rc = parse_query(p, query + 1);
    return rc;
}

/* ==== Connection strings that are not URLs ==== */

/* Whether text may be a key=value connection string ("host=h dbname=app"):
 * it does not start with "scheme:" and holds a '='. Which driver reads it,
 * if any, is for the drivers' libraries to say (conninfo()). */
static int may_be_conninfo(const char *text)
{
    size_t n = scheme_span(text);
    return !(n > 0 && text[n] == ':') && strchr(text, '=') != NULL;
}

/* The driver's first scheme, without a "NAME:*" sub-scheme mark. */
static char *first_scheme(const pm_driver *d)
{
    return pm__strndup(d->schemes[0], strcspn(d->schemes[0], ":"));
}

/* A key=value string: the driver whose library accepts it takes it whole. */
static int parse_conninfo(pm_url **out, const char *text, pm_error *err)
{
    pm_error why = PM_ERROR_INIT;
    const pm_driver *reader = NULL;
    int rc = pm__conninfo_reader(&reader, text, &why);
    if (rc == 0 && !reader)
        rc = url_error(err,
                       "missing scheme " PM_URL_EXAMPLE
                       ", and no driver reads it as a key=value connection string%s%s",
                       why.message ? ": " : "", why.message ? why.message : "");
    pm_error_clear(&why);
    if (rc < 0)
        return rc == PM_ENOMEM ? url_oom(err) : rc;
    pm_url *url = calloc(1, sizeof(*url));
    if (url && (url->scheme = first_scheme(reader)) != NULL && (url->text = pm__strdup(text))) {
        url->is_conninfo = 1;
        *out = url;
        return 0;
    }
    pm_url_free(url);
    return url_oom(err);
}

/* pm_url_parse(), also telling found (when not NULL) where it read each
 * secret. */
static int parse_text(pm_url **out, const char *text, pm_error *err, pm_secrets *found)
{
    *out = NULL;
    if (!text || !*text)
        return url_error(err, "empty " PM_URL_EXAMPLE);
    if (may_be_conninfo(text))
        return parse_conninfo(out, text, err);
    url_parser p = {text, NULL, err, found};
    int rc = check_characters(&p);
    if (rc)
        return rc;
    if (!(p.url = calloc(1, sizeof(*p.url))))
        return url_oom(err);
    if ((rc = parse_url(&p)) == 0 && !(p.url->text = pm__strdup(text)))
        rc = url_oom(err);
    if (rc != 0) {
        pm_url_free(p.url);
        return rc;
    }
    *out = p.url;
    return 0;
}

/* A message about refused text may quote a part of it (a port that is not
 * a number): hide every secret the generous reading of refused text finds
 * there, as the -v line's redaction does. */
static void scrub_refused(const char *text, pm_error *err)
{
    pm_secrets secrets = PM_SECRETS_INIT;
    if (err && pm__secrets_find(&secrets, text) == 0)
        pm__secrets_scrub(&secrets, err);
    pm__secrets_clear(&secrets);
}

int pm_url_parse(pm_url **out, const char *text, pm_error *err)
{
    if (!out)
        return pm_error_set(err, PM_EINVAL, "pm_url_parse: out is NULL");
    int rc = parse_text(out, text, err, NULL);
    if (rc < 0 && rc != PM_ENOMEM)
        scrub_refused(text, err);
    return rc;
}

void pm_url_free(pm_url *url)
{
    if (!url)
        return;
    free(url->scheme);
    free(url->subscheme);
    free(url->user);
    free(url->password);
    free(url->host);
    free(url->path);
    for (size_t i = 0; i < url->nparams; i++) {
        free(url->params[i].key);
        free(url->params[i].value);
    }
    free(url->params);
    free(url->text);
    free(url);
}

/* The first parameter named key, as in most URL libraries. */
const char *pm_url_param_get(const pm_url *url, const char *key)
{
    if (!url || !key)
        return NULL;
    for (size_t i = 0; i < url->nparams; i++) {
        if (strcmp(url->params[i].key, key) == 0)
            return url->params[i].value;
    }
    return NULL;
}

/* ==== Secrets ==== */

/* Text the parser refuses never reaches a driver, but it is still printed
 * (the -v line, a profile's error) and may hold a password a person meant,
 * so it is read generously: hiding too much of a broken URL costs nothing. */

/* Where the authority begins (past "://"), or NULL. Only a "://" before the
 * first '?' counts: a later one sits in a query value
 * ("postgres:?host=h&application_name=x://y"). Text before the scheme is
 * allowed, so a URL quoted inside other words is still found. */
static const char *authority_start(const char *text)
{
    const char *sep = strstr(text, "://");
    return sep && (size_t)(sep - text) < strcspn(text, "?") ? sep + 3 : NULL;
}

/* The password of a URL the parser refuses: from the authority's first ':'
 * (before any '/' or '?') to the text's last '@' (a raw '/', '?', '=' or '@'
 * in a password is the usual reason for the refusal). With no '@', anything
 * but a port after the ':' may be a password ("user:secret" without
 * "@host") and is hidden to the end of the text. */
static int broken_password(const char *text, size_t *start, size_t *end)
{
    const char *auth = authority_start(text);
    if (!auth)
        return 0;
    const char *at = strrchr(auth, '@');
    size_t limit = strcspn(auth, "/?");
    if (at && (size_t)(at - auth) < limit)
        limit = (size_t)(at - auth);
    const char *colon = memchr(auth, ':', limit);
    if (!colon || (!at && auth[0] == '['))
        return 0;
    const char *from = colon + 1;
    size_t n = limit - (size_t)(from - auth);
    if (n == 0 || (!at && strspn(from, "0123456789") >= n))
        return 0;
    *start = (size_t)(from - text);
    *end = at ? (size_t)(at - text) : strlen(text);
    return 1;
}

/* Adds as spans the values of secret keys in a refused URL: any
 * "key=value" that follows a '?' or '&', the value running to the next '&'
 * (a raw '?' in a password may have moved where the query starts). */
static int broken_query_secrets(pm_secrets *s, const char *text)
{
    for (const char *seg = text; (seg = strpbrk(seg, "?&")) != NULL;) {
        seg++;
        size_t klen = strcspn(seg, "=&?");
        if (seg[klen] != '=' || !is_secret_key(seg, klen))
            continue;
        const char *value = seg + klen + 1;
        size_t vlen = strcspn(value, "&");
        int rc = vlen ? add_span(s, (size_t)(value - text), (size_t)(value + vlen - text)) : 0;
        if (rc)
            return rc;
    }
    return 0;
}

/* The end of a key=value string's value starting at v: a quoted value runs
 * to its closing quote ('\\' escapes), another to the next blank. */
static const char *conninfo_value_end(const char *v)
{
    if (*v != '\'')
        return v + strcspn(v, " \t\n\r\f\v");
    for (v++; *v && *v != '\''; v++)
        if (*v == '\\' && v[1])
            v++;
    return *v ? v + 1 : v;
}

/* Adds as spans the values of secret keys in text that is no URL
 * ("password=x host=h" a driver refused): each "key = value" whose key
 * starts the text or follows a blank. */
static int broken_conninfo_secrets(pm_secrets *s, const char *text)
{
    for (const char *key = text; *key;) {
        key += strspn(key, " \t\n\r\f\v");
        size_t klen = strcspn(key, "= \t\n\r\f\v");
        const char *eq = key + klen + strspn(key + klen, " \t\n\r\f\v");
        if (klen == 0 || *eq != '=') {
            key += klen ? klen : (*key != '\0');
            continue;
        }
        const char *value = eq + 1 + strspn(eq + 1, " \t\n\r\f\v");
        const char *end = conninfo_value_end(value);
        if (is_secret_key(key, klen) && end > value) {
            int rc = add_span(s, (size_t)(value - text), (size_t)(end - text));
            if (rc)
                return rc;
        }
        key = end > value ? end : value;
    }
    return 0;
}

static int span_order(const void *a, const void *b)
{
    const pm_secret_span *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return 0;
}

/* Sorts the spans and joins those that overlap or touch, so that they stay
 * in text order and apart (the generous reading can overlap). */
static void merge_spans(pm_secrets *s)
{
    if (s->nspans < 2)
        return;
    qsort(s->spans, s->nspans, sizeof(*s->spans), span_order);
    size_t kept = 0;
    for (size_t i = 1; i < s->nspans; i++) {
        pm_secret_span *last = &s->spans[kept];
        if (s->spans[i].start <= last->end) {
            if (s->spans[i].end > last->end)
                last->end = s->spans[i].end;
        } else {
            s->spans[++kept] = s->spans[i];
        }
    }
    s->nspans = kept + 1;
}

static int first_at_password(const char *text, size_t *start, size_t *end);

static int find_in_broken(pm_secrets *s, const char *text)
{
    size_t start, end;
    int rc = 0;
    if (broken_password(text, &start, &end))
        rc = add_span(s, start, end);
    if (rc == 0 && first_at_password(text, &start, &end))
        rc = add_span(s, start, end);
    if (rc == 0)
        rc = broken_query_secrets(s, text);
    if (rc == 0 && may_be_conninfo(text))
        rc = broken_conninfo_secrets(s, text);
    if (rc == 0)
        merge_spans(s);
    return rc;
}

/* s[0..n) percent-decoded as the parser decodes it; an escape the parser
 * would refuse is kept as written. NULL when out of memory. */
static char *decode_lenient(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        int hi = s[i] == '%' && i + 1 < n ? hex_value(s[i + 1]) : -1;
        int lo = hi >= 0 && i + 2 < n ? hex_value(s[i + 2]) : -1;
        if (lo < 0 || (hi == 0 && lo == 0)) {
            d[len++] = s[i];
            continue;
        }
        d[len++] = (char)(hi * 16 + lo);
        i += 2;
    }
    d[len] = '\0';
    return d;
}

static int has_value(const pm_secrets *s, const char *value)
{
    for (size_t i = 0; i < s->nvalues; i++) {
        if (strcmp(s->values[i], value) == 0)
            return 1;
    }
    return 0;
}

/* Adds value (taken over; NULL means out of memory) unless empty or known. */
static int add_value(pm_secrets *s, char *value)
{
    if (!value)
        return PM_ENOMEM;
    if (!*value || has_value(s, value)) {
        free(value);
        return 0;
    }
    char **values = realloc(s->values, (s->nvalues + 1) * sizeof(*values));
    if (!values) {
        free(value);
        return PM_ENOMEM;
    }
    values[s->nvalues++] = value;
    s->values = values;
    return 0;
}

/* Longest first, so that a secret inside a longer one cannot leave the
 * longer one's remainder behind when scrubbing. */
static int longest_first(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    size_t nx = strlen(x), ny = strlen(y);
    if (nx != ny)
        return nx > ny ? -1 : 1;
    return strcmp(x, y);
}

/* Each span's text as written and as decoded becomes a value. */
static int add_span_values(pm_secrets *s, const char *text)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < s->nspans; i++) {
        const char *written = text + s->spans[i].start;
        size_t n = s->spans[i].end - s->spans[i].start;
        rc = add_value(s, pm__strndup(written, n));
        if (rc == 0)
            rc = add_value(s, decode_lenient(written, n));
    }
    if (rc == 0 && s->nvalues > 1)
        qsort(s->values, s->nvalues, sizeof(*s->values), longest_first);
    return rc;
}

static int add_secret_value(void *ctx, const char *value)
{
    return add_value(ctx, pm__strdup(value));
}

/* The secrets the driver's own library finds in text (for a driver that
 * reads its connection strings itself): every password libpq would send. */
static int add_library_secrets(pm_secrets *s, const pm_url *url, const char *text)
{
    const pm_driver *reader = url ? pm__scheme_reader(url->scheme) : NULL;
    if (!reader)
        return 0;
    int rc = reader->conninfo(text, add_secret_value, s, NULL, NULL);
    return rc < 0 ? rc : 0;
}

/* The parser itself says where the secrets are: the drivers connect with
 * what it read, so redaction and scrubbing hide exactly that; a driver that
 * reads connection strings with its own library adds what that library
 * counts as secrets. Only text the parser refuses is read by
 * find_in_broken(). */
int pm__secrets_find(pm_secrets *out, const char *text)
{
    if (!text)
        return 0;
    pm_error scratch = PM_ERROR_INIT;
    pm_url *url = NULL;
    int rc = parse_text(&url, text, &scratch, out);
    if (rc == 0)
        rc = add_library_secrets(out, url, text);
    pm_url_free(url);
    pm_error_clear(&scratch);
    if (rc < 0 && rc != PM_ENOMEM) {
        free(out->spans);
        out->spans = NULL;
        out->nspans = 0;
        rc = find_in_broken(out, text);
    }
    if (rc == 0)
        rc = add_span_values(out, text);
    if (rc < 0) {
        pm__secrets_clear(out);
        return PM_ENOMEM;
    }
    return 0;
}

void pm__secrets_clear(pm_secrets *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nvalues; i++)
        free(s->values[i]);
    free(s->values);
    free(s->spans);
    *s = (pm_secrets)PM_SECRETS_INIT;
}

/* ==== Scrubbing ==== */

/* Letters, digits, '_' and every byte of a UTF-8 sequence: the characters of
 * which words and identifiers are made. */
static int is_word_byte(char c)
{
    unsigned char u = (unsigned char)c;
    return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '_' ||
           u >= 0x80;
}

/* Whether the n bytes at hit are a whole occurrence in field: where the
 * secret begins (ends) with a word character, the byte before (after) it
 * must not be one. So "ev" is not found in "previously", nor "postgres" in
 * "postgres_fdw", while "postgres" in "TO postgres;" and "-x" in "a-x" are. */
static int whole_occurrence(const char *field, const char *hit, size_t n)
{
    if (is_word_byte(hit[0]) && hit > field && is_word_byte(hit[-1]))
        return 0;
    return !(is_word_byte(hit[n - 1]) && is_word_byte(hit[n]));
}

/* Replaces every whole occurrence of secret in *field with "***". */
static void scrub_field(char **field, const char *secret)
{
    if (!*field || !*secret)
        return;
    size_t n = strlen(secret);
    pm_buf b = PM_BUF_INIT;
    const char *copied = *field, *from = *field, *hit;
    int replaced = 0;
    while ((hit = strstr(from, secret))) {
        if (!whole_occurrence(*field, hit, n)) {
            from = hit + 1;
            continue;
        }
        pm_buf_appendn(&b, copied, (size_t)(hit - copied));
        pm_buf_append(&b, "***");
        copied = from = hit + n;
        replaced = 1;
    }
    if (!replaced) {
        pm_buf_free(&b);
        return;
    }
    pm_buf_append(&b, copied);
    free(*field);
    *field = pm_buf_detach(&b); /* NULL when out of memory: no message beats a leaked one */
}

void pm__secrets_scrub(const pm_secrets *s, pm_error *err)
{
    if (!s || !err)
        return;
    for (size_t i = 0; i < s->nvalues; i++) {
        scrub_field(&err->message, s->values[i]);
        scrub_field(&err->db_code, s->values[i]);
        scrub_field(&err->detail, s->values[i]);
        scrub_field(&err->hint, s->values[i]);
        scrub_field(&err->statement, s->values[i]);
    }
}

/* ==== Redaction ==== */

/* A key=value string as the library of the driver that reads it shows it,
 * secrets hidden; NULL when no driver reads text (or out of memory). */
static char *conninfo_shown(const char *text)
{
    const pm_driver *reader = NULL;
    char *shown = NULL;
    if (!may_be_conninfo(text) || pm__conninfo_reader(&reader, text, NULL) < 0 || !reader)
        return NULL;
    if (reader->conninfo(text, NULL, NULL, &shown, NULL) != 1) {
        free(shown);
        return NULL;
    }
    return shown;
}

/* text with each span of s replaced by "***"; NULL when out of memory. */
static char *hide_spans(const char *text, const pm_secrets *s)
{
    pm_buf out = PM_BUF_INIT;
    size_t pos = 0;
    for (size_t i = 0; i < s->nspans; i++) {
        pm_buf_appendn(&out, text + pos, s->spans[i].start - pos);
        pm_buf_append(&out, "***");
        pos = s->spans[i].end;
    }
    pm_buf_append(&out, text + pos);
    return pm_buf_detach(&out);
}

/* The driver of a URL's scheme when it reads its URLs with its own library. */
static const pm_driver *reader_of_url(const char *text)
{
    size_t n = scheme_span(text);
    char *scheme = n > 0 && text[n] == ':' ? pm__strndup(text, n) : NULL;
    if (!scheme)
        return NULL;
    lower_in_place(scheme);
    const pm_driver *reader = pm__scheme_reader(scheme);
    free(scheme);
    return reader;
}

static int note_unhidden(void *ctx, const char *value)
{
    if (strcmp(value, "***") != 0)
        *(int *)ctx = 1;
    return 0;
}

/* Whether reader's library still reads a secret other than "***" in shown. */
static int library_sees_secret(const pm_driver *reader, const char *shown)
{
    int seen = 0;
    return reader->conninfo(shown, note_unhidden, &seen, NULL, NULL) < 0 || seen;
}

/* The password as a library that ends the user info at the first '@'
 * before any '/' reads it (libpq does, also across a '?'): from the first
 * ':' after "://" to that '@'. */
static int first_at_password(const char *text, size_t *start, size_t *end)
{
    const char *sep = strstr(text, "://");
    if (!sep)
        return 0;
    const char *auth = sep + 3;
    size_t n = strcspn(auth, "@/");
    const char *colon = auth[n] == '@' ? memchr(auth, ':', n) : NULL;
    if (!colon || colon + 1 == auth + n)
        return 0;
    *start = (size_t)(colon + 1 - text);
    *end = (size_t)(auth + n - text);
    return 1;
}

/* A URL whose driver's library reads it differently from the parser (a
 * '?' or '@' in the user info) must not show what that library takes for a
 * password: its reading of the user info and the password-like values of
 * every query are hidden too, and if a secret still shows, everything after
 * the scheme. */
static char *hide_library_reading(const char *text, pm_secrets *s, char *shown)
{
    const pm_driver *reader = shown ? reader_of_url(text) : NULL;
    if (!reader || !library_sees_secret(reader, shown))
        return shown;
    size_t start, end;
    free(shown);
    int rc = first_at_password(text, &start, &end) ? add_span(s, start, end) : 0;
    if (rc == 0) /* and its query, which may start at a later '?' */
        rc = broken_query_secrets(s, text);
    if (rc < 0)
        return NULL;
    merge_spans(s);
    shown = hide_spans(text, s);
    if (!shown || !library_sees_secret(reader, shown))
        return shown;
    free(shown);
    return pm__format("%.*s://***", (int)scheme_span(text), text);
}

char *pm_url_redact(const char *text)
{
    if (!text)
        return pm__strdup("");
    char *shown = conninfo_shown(text);
    if (shown)
        return shown;
    pm_secrets secrets = PM_SECRETS_INIT;
    if (pm__secrets_find(&secrets, text) < 0)
        return NULL;
    shown = hide_library_reading(text, &secrets, hide_spans(text, &secrets));
    pm__secrets_clear(&secrets);
    return shown;
}

/* ==== Another database on the same server ==== */

char *pm__url_with_database(const char *url, const char *name)
{
    const char *authority = strstr(url, "://");
    if (!authority && strchr(url, '=')) /* key=value: a later keyword wins (libpq) */
        return pm__format("%s dbname='%s'", url, name);
    if (!authority)
        return NULL;
    authority += 3;
    const char *path = authority + strcspn(authority, "/?#");
    const char *rest = path + strcspn(path, "?#");
    return pm__format("%.*s/%s%s", (int)(path - url), url, name, rest);
}
