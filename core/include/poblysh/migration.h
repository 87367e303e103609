/* migration.h: what a migration is, and the validation every migration set
 * passes before anything runs.
 *
 * A migration set is an ordered array of pointers to migrations, handed to the
 * engine: tests and benchmarks build their own, migrations/ provides the
 * compiled-in one.
 *
 * Threads: migrations and sets are read-only data, which any number of
 * engines in any threads may use at once; the functions below keep no state
 * (pm_checksum() uses libcrypto's EVP interface, which is thread-safe) and may
 * be called from any thread. A migration's up() and down() run on the
 * thread running the engine, and must themselves be safe to run in
 * several threads at once if several engines use the set concurrently. */
#ifndef POBLYSH_MIGRATION_H
#define POBLYSH_MIGRATION_H

#include <stddef.h>

#include "errors.h"
#include "schema.h"

#ifdef __cplusplus
extern "C" {
#endif

/* up() and down() return 0, or a negative PM_E* code (usually the one a
 * pm_schema_* call returned). data is the migration's own data pointer. */
typedef int (*pm_migration_fn)(pm_schema *schema, const void *data);

/* Migration options. */
#define PM_MIGRATION_DEFAULT 0u
/* Runs outside a transaction, for statements that cannot run inside one
 * (PostgreSQL CREATE INDEX CONCURRENTLY, ALTER TYPE ... ADD VALUE). The
 * history row is written as "started" first and becomes "applied" when up()
 * completes; a failure or a crash during up() leaves it "failed" for
 * `repair`. (down() of such a migration deletes the row when it completes;
 * a crash during it leaves the row "applied".) */
#define PM_MIGRATION_NO_TRANSACTION (1u << 0)

typedef struct pm_migration {
    /* mYYYY_MM_DD_HHMMSS_description or SeaORM's generator style
     * mYYYYMMDD_HHMMSS_description, description in [a-z0-9_]; SQL
     * migrations may also carry other tools' names (pm_migration_name_check). */
    const char *name;
    pm_migration_fn up;
    pm_migration_fn down;
    unsigned int options;
    /* Recorded in the history table's checksum column when not NULL. */
    const char *checksum;
    /* Passed to up() and down(); may be NULL. */
    const void *data;
} pm_migration;

/* A file of migrations/ defines its migration with this, e.g.
 *   PM_MIGRATION(m2024_01_01_000001_create_tenants, up, down, PM_MIGRATION_DEFAULT);
 * which defines the const object the registry refers to, with the checksum
 * of the file's text that the build computed (pm_checksum_<ident>, generated
 * by pm_checksums, which poblysh_add_migrations() runs). */
#define PM_MIGRATION(ident, up_fn, down_fn, opts)                                                  \
    extern const char pm_checksum_##ident[];                                                       \
    const pm_migration ident = {#ident, up_fn, down_fn, opts, pm_checksum_##ident, NULL}

/* "sha256:" + 64 hex digits + NUL. */
#define PM_CHECKSUM_SIZE 72

/* The checksum of a migration's text: "sha256:<hex>" of the text with a
 * leading UTF-8 byte-order mark removed and CRLF turned into LF, so line
 * endings and a BOM do not change it and any other edit does. */
int pm_checksum(char out[PM_CHECKSUM_SIZE], const void *text, size_t length, pm_error *err);

/* Checks one name. Its version comes first:
 *   mYYYY_MM_DD_HHMMSS_desc or mYYYYMMDD_HHMMSS_desc: a plausible date and
 *     time, a non-empty description of [a-z0-9_] (SeaORM's two styles);
 *   <digits>[<any separator><any description>]: a number of at most 20
 *     digits (dbmate, golang-migrate, goose, sqlx), diesel's
 *     YYYY-MM-DD-HHMMSS_desc read as one number;
 *   V<digits>[.<digits>...]__<description>: Flyway's dotted versions.
 * At most 255 bytes, no control characters, '/' or '\'. Returns 0 or
 * PM_ESET with the rule the name breaks. */
int pm_migration_name_check(const char *name, pm_error *err);

/* Orders names by their versions, never as text: timestamps of either
 * style as times, numbers as numbers (9_a before 10_b), dotted versions part
 * by part (V1.9 before V1.10); numbers before dotted before timestamps.
 * Equal versions fall back to strcmp, so only equal names compare equal. */
int pm_migration_name_cmp(const char *a, const char *b);

/* Checks a whole set: every name valid, strictly increasing (so unique),
 * every migration with an up and a down. The error names the migration at
 * fault (err->migration). Returns 0 or PM_ESET. */
int pm_migration_set_check(const pm_migration *const *set, size_t count, pm_error *err);

#ifdef __cplusplus
}
#endif
#endif
