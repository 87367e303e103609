/* url.h: the one database URL parser every driver uses, and the redaction
 * that turns any URL into a form safe to print.
 *
 * Accepted shapes:
 *   scheme://[user[:password]@]host[:port][/path][?k=v&...]   (host may be [IPv6])
 *   scheme:opaque-path[?k=v&...]                            (sqlite:file.db, sqlite::memory:)
 *   dbi:<driver>://...  and  dbi:<driver>:opaque            (scheme "dbi", subscheme "<driver>")
 *   scheme://[user[:password]@]host1[:port1],host2[:port2]/...   (several hosts: only for a
 *       scheme whose driver reads connection strings itself, the driver's conninfo())
 *   key=value strings ("host=h dbname=app"): text that does not start with
 *       "scheme:" and holds a '=' is offered to every driver with a conninfo();
 *       the first whose library accepts it takes it (scheme is then the
 *       driver's first scheme, everything else absent but text)
 * For such a driver's scheme an '@' in the query of a URL without a path is
 * refused: its library may read the user info up to it.
 * User, password, host, path and query parts are percent-decoded.
 *
 * Threads: these functions keep no state and may be called from any thread.
 * pm_url_parse() asks the driver registry, under its lock, whether a scheme
 * takes a sub-scheme. A pm_url is plain data owned by its caller. */
#ifndef POBLYSH_URL_H
#define POBLYSH_URL_H

#include <stddef.h>

#include "errors.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pm_url_param {
    char *key;
    char *value; /* "" when the parameter had no '=' */
} pm_url_param;

/* A parsed URL. Plain data: every string is owned by the struct and released
 * by pm_url_free(). Absent parts are NULL (port is 0). */
typedef struct pm_url {
    char *scheme;      /* lower-cased: "sqlite", "postgres", "dbi" */
    char *subscheme;   /* the libdbi driver of "dbi:<driver>:", else NULL */
    int has_authority; /* 1 when "//" followed the scheme */
    char *user;
    char *password;
    char *host; /* without the brackets of an IPv6 literal; several hosts are
                   kept as written, "h1:5432,h2", with port 0 */
    int port;   /* 1..65535, or 0 when absent */
    char *path; /* "/db" after an authority; the opaque part otherwise */
    pm_url_param *params;
    size_t nparams;
    /* The whole text that was parsed, secrets included: what a driver that
     * reads connection strings itself hands to its library. */
    char *text;
    int is_conninfo; /* 1 for a key=value string, which only text describes */
} pm_url;

/* Parses text into *out (caller frees with pm_url_free). On bad input returns
 * PM_EURL and names the fault in err; the message never contains the
 * password. */
int pm_url_parse(pm_url **out, const char *text, pm_error *err);

void pm_url_free(pm_url *url);

/* The value of query parameter key, or NULL. Borrowed from url. */
const char *pm_url_param_get(const pm_url *url, const char *key);

/* A printable copy of any text that may be a URL: the password of the user
 * info and the values of password-like query parameters (password, pass,
 * pwd, sslpassword) are replaced by "***". A key=value connection string
 * is shown as the driver's library reads it, each secret "***"; one no
 * driver accepts has the values of password-like keys hidden. Works on text
 * that does not parse.
 * Returns a malloc'd string the caller frees, or NULL when out of memory. */
char *pm_url_redact(const char *text);

#ifdef __cplusplus
}
#endif
#endif
