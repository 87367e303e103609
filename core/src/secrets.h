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
 * in any case and after percent-decoding the key). A URL that pm_url_parse()
 * accepts gets exactly the parts the parser decodes as those secrets; other
 * text is read the same way with allowances for a raw '/', '?' or '@' in a
 * password. Empty values are not secrets. *out must be empty (PM_SECRETS_INIT
 * or cleared). Returns 0, or PM_ENOMEM with *out left empty. */
int pm__secrets_find(pm_secrets *out, const char *text);

/* Releases what pm__secrets_find() stored and leaves s empty. */
void pm__secrets_clear(pm_secrets *s);

/* Replaces every occurrence of each secret value in err's message, db_code,
 * detail, hint and statement with "***". Database libraries echo connection
 * details in their messages, so every error a driver reports goes through
 * this. A field that cannot be rewritten for lack of memory is dropped
 * rather than left holding a secret. err may be NULL. */
void pm__secrets_scrub(const pm_secrets *s, pm_error *err);

#endif
