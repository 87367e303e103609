/* checksum.c: the checksum of a migration, as recorded in the history table:
 * "sha256:" and the hex SHA-256 (OpenSSL's libcrypto) of its source text
 * with a leading UTF-8 byte-order mark removed and every CRLF turned into LF,
 * so the same migration hashes alike on every machine and checkout. */
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

#include "internal.h"

/* SHA-256 fetched from libcrypto's providers once per process: passing
 * EVP_sha256() to every EVP_DigestInit_ex() fetched it again at each call
 * (callgrind, status of a 1,000-file folder: 7.9 M instructions in
 * EVP_DigestInit_ex before, one fetch of 5.3 M after, most of it OpenSSL
 * reading its configuration, which the first use pays either way). Kept for
 * the life of the process; NULL (fetch failed) falls back to EVP_sha256(). */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *sha256(void)
{
    pthread_once(&sha256_once, fetch_sha256);
    return sha256_md ? sha256_md : EVP_sha256();
}

int pm_checksum(char out[PM_CHECKSUM_SIZE], const void *text, size_t length, pm_error *err)
{
    const unsigned char *p = text, *end = p + length;
    if (length >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        p += 3;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, sha256(), NULL);
    /* Feed runs between CRs; a CR followed by LF is dropped. */
    while (ok && p < end) {
        const unsigned char *cr = memchr(p, '\r', (size_t)(end - p));
        const unsigned char *stop = cr ? cr : end;
        ok = EVP_DigestUpdate(ctx, p, (size_t)(stop - p));
        if (!cr)
            break;
        if (cr + 1 < end && cr[1] == '\n') {
            p = cr + 1;
        } else {
            ok = ok && EVP_DigestUpdate(ctx, cr, 1);
            p = cr + 1;
        }
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, digest, &n) && n == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return pm_error_set(err, PM_ERROR, "SHA-256 failed in libcrypto");
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "sha256:", 7);
    for (unsigned int i = 0; i < n; i++) {
        out[7 + 2 * i] = hex[digest[i] >> 4];
        out[8 + 2 * i] = hex[digest[i] & 15];
    }
    out[7 + 64] = '\0';
    return 0;
}
