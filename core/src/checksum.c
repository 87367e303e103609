/* checksum.c: the checksum of a migration, as recorded in the history table:
 * "sha256:" and the hex SHA-256 (OpenSSL's libcrypto) of its source text
 * with a leading UTF-8 byte-order mark removed and every CRLF turned into LF,
 * so the same migration hashes alike on every machine and checkout. */
#define OPENSSL_API_COMPAT 10101 /* SHA256_Init() without deprecation warnings */
#include <openssl/sha.h>
#include <string.h>

#include "internal.h"

/* libcrypto's SHA-256 functions, not the EVP interface: the first EVP
 * digest starts OpenSSL's provider machinery (it reads openssl.cnf, loads the
 * default provider and its tables), which for `status` of a 1,000-file folder
 * cost 5.3 M instructions, about 400 page faults and 3.4 MiB of resident
 * libcrypto pages, more than hashing the files. SHA256_Init() and friends
 * are deprecated in OpenSSL 3.0 (API level 1.1.1 below keeps them quiet) but
 * still part of libcrypto's API, and compute the same SHA-256; a checksum
 * is an identity, not a security boundary, so OpenSSL's provider choice
 * (e.g. FIPS) does not apply. */
static int sha256_hex(char out[PM_CHECKSUM_SIZE], const unsigned char *p, const unsigned char *end)
{
    SHA256_CTX ctx;
    int ok = SHA256_Init(&ctx);
    /* Feed runs between CRs; a CR followed by LF is dropped. */
    while (ok && p < end) {
        const unsigned char *cr = memchr(p, '\r', (size_t)(end - p));
        const unsigned char *stop = cr ? cr : end;
        ok = SHA256_Update(&ctx, p, (size_t)(stop - p));
        if (!cr)
            break;
        if (!(cr + 1 < end && cr[1] == '\n'))
            ok = ok && SHA256_Update(&ctx, cr, 1);
        p = cr + 1;
    }
    unsigned char digest[SHA256_DIGEST_LENGTH];
    ok = ok && SHA256_Final(digest, &ctx);
    if (!ok)
        return 0;
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "sha256:", 7);
    for (unsigned int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        out[7 + 2 * i] = hex[digest[i] >> 4];
        out[8 + 2 * i] = hex[digest[i] & 15];
    }
    out[7 + 64] = '\0';
    return 1;
}

int pm_checksum(char out[PM_CHECKSUM_SIZE], const void *text, size_t length, pm_error *err)
{
    const unsigned char *p = text, *end = p + length;
    if (length >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        p += 3;
    if (!sha256_hex(out, p, end))
        return pm_error_set(err, PM_ERROR, "SHA-256 failed in libcrypto");
    return 0;
}
