/* secrets.h: the one finder of a URL's secrets (url.c), shared by the
 * redaction that makes a URL printable and by the scrubbing that keeps
 * passwords out of the errors drivers report. Not installed. */
#ifndef PM_SECRETS_H
#define PM_SECRETS_H

#include <stddef.h>

#include "poblysh/errors.h"

/* Where one secret is written in a URL text: bytes [start, end). */
typedef struct pm_secret_span {
    size_t start;
    size_t end;
} pm_secret_span;

/* Every secret of one URL text. Owned by the struct; released by
 * pm__secrets_clear(). */
typedef struct pm_secrets {
    pm_secret_span *spans; /* in text order, not overlapping, never empty */
    size_t nspans;
    char **values; /* each secret as written and percent-decoded; distinct,
                      longest first, never empty */
    size_t nvalues;
} pm_secrets;

#define PM_SECRETS_INIT                                                                            \
    {                                                                                              \
        NULL, 0, NULL, 0                                                                           \
    }

/* Finds the secrets of text, which need not parse as a URL: the password of
 * the user info ("scheme://user:PASSWORD@host") and the values of the
 * password-like query parameters (password, pass, pwd, sslpassword, matched
 * in any case and after percent-decoding the key; passfile names a file and
 * is not a secret). It runs pm_url_parse()'s own parser, which records where
 * it reads each secret, so for a URL the parser accepts the spans are exactly
 * what the drivers receive as secrets. Text the parser refuses is read
 * generously instead (from the first ':' after "://" to the last '@', and
 * the password-like keys of the query), since hiding too much of a broken
 * URL costs nothing. Empty values are not secrets. *out must be empty
 * (PM_SECRETS_INIT or cleared). Returns 0, or PM_ENOMEM with *out left
 * empty. */
int pm__secrets_find(pm_secrets *out, const char *text);

/* Releases what pm__secrets_find() stored and leaves s empty. */
void pm__secrets_clear(pm_secrets *s);

/* Replaces every whole occurrence of each secret value in err's message,
 * db_code, detail, hint and statement with "***". An occurrence is whole
 * when no word character ([A-Za-z0-9_] or a byte of a UTF-8 sequence) sits
 * against a word character at either of the secret's ends: password "ev"
 * leaves "previously" alone, but "ev" standing as a word is scrubbed, however
 * short, because that is the password printed. Database libraries echo connection
 * details in their messages, so every error a driver reports goes through
 * this. A field that cannot be rewritten for lack of memory is dropped
 * rather than left holding a secret. err may be NULL. */
void pm__secrets_scrub(const pm_secrets *s, pm_error *err);

#endif
