/* dotenv.h: the reader of .env files, a small well-defined subset of what
 * dotenv tools accept (there is no Debian C library for it): KEY=VALUE
 * lines, an optional leading "export ", 'single' (literal) and "double"
 * quotes (with \" \\ \n \t escapes), # comments on their own line or after
 * whitespace. Values are never quoted in errors: they may be passwords. */
#ifndef PM_DOTENV_H
#define PM_DOTENV_H

#include <stddef.h>

#include "poblysh/errors.h"

/* Called once per assignment, in order; key and value are borrowed for the
 * call. line is 1-based. A negative return stops the parse and is returned. */
typedef int (*pm__dotenv_fn)(void *ctx, const char *key, const char *value, int line);

/* Parses len bytes of text (NUL bytes are an error). name (the file's name)
 * prefixes errors: "NAME:LINE: ...". Returns 0, PM_EINVAL with err set for
 * a bad line, PM_ENOMEM, or what fn returned. */
int pm__dotenv_parse(const char *text, size_t len, const char *name, pm__dotenv_fn fn, void *ctx,
                     pm_error *err);

#endif
