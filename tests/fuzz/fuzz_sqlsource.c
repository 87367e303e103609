/* fuzz_sqlsource.c: every migration-file format pm_source reads. The first
 * input byte picks the path: pm_source_add_sql (dbmate and poblysh sections)
 * with a file name taken from the input's first line, or a real folder
 * (pm_source_add_dir) holding a dbmate file or a golang-migrate .up.sql /
 * .down.sql pair split at the first NUL byte, or pm_source_add_embedded.
 * Oracles besides the sanitizers: a failure is PM_ESET or PM_ENOMEM with a
 * message naming the file; a success adds exactly one migration of that name,
 * and the same text always gets the same checksum. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "poblysh/poblysh.h"
#include "poblysh/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char folder[64]; /* a scratch folder for the folder paths, made once */

/* Names the migration from the input's first line (at most 80 bytes, no '/'
 * or NUL, so it stays one file in the folder) and leaves the rest as text. */
static void take_name(const uint8_t **data, size_t *size, char *name, size_t cap)
{
    size_t n = 0;
    while (n < *size && n + 1 < cap && n < 80 && (*data)[n] != '\n' && (*data)[n] != '/' &&
           (*data)[n] != '\0')
        n++;
    memcpy(name, *data, n);
    name[n] = '\0';
    if (n < *size && ((*data)[n] == '\n' || (*data)[n] == '/' || (*data)[n] == '\0'))
        n++;
    *data += n;
    *size -= n;
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        snprintf(name, cap, "1_fuzz");
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    if (fclose(f) != 0)
        abort();
}

/* Empties the scratch folder. */
static void clear_folder(const char *name)
{
    static const char *const suffixes[] = {".sql", ".up.sql", ".down.sql"};
    for (size_t i = 0; i < 3; i++) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%s%s", folder, name, suffixes[i]);
        unlink(path);
    }
}

static void remove_folder(void)
{
    rmdir(folder);
}

static void check_outcome(pm_source *src, int rc, const pm_error *err, const char *name)
{
    if (rc < 0) {
        if (rc != PM_ESET && rc != PM_ENOMEM)
            abort();
        if (!err->message ||
            (rc == PM_ESET && !strstr(err->message, name) && !strstr(err->message, folder)))
            abort(); /* an error that does not name the file or its folder */
        return;
    }
    size_t count = 0;
    const pm_migration *const *set = pm_source_migrations(src, &count);
    if (count != 1 || !set[0]->name || !set[0]->checksum || strcmp(name, set[0]->name) != 0)
        abort();
}

static void fuzz_text(const uint8_t *data, size_t size, const char *name)
{
    char file[128];
    snprintf(file, sizeof(file), "db/%s.sql", name);
    pm_source *a = NULL, *b = NULL;
    pm_error err = PM_ERROR_INIT, err2 = PM_ERROR_INIT;
    if (pm_source_new(&a, &err) < 0 || pm_source_new(&b, &err) < 0)
        abort();
    int rc = pm_source_add_sql(a, name, (const char *)data, size, file, &err);
    check_outcome(a, rc, &err, name);
    int rc2 = pm_source_add_sql(b, name, (const char *)data, size, file, &err2);
    if (rc2 != rc)
        abort();
    if (rc == 0) {
        size_t n;
        const char *ca = pm_source_migrations(a, &n)[0]->checksum;
        const char *cb = pm_source_migrations(b, &n)[0]->checksum;
        if (strcmp(ca, cb) != 0)
            abort();
    }
    pm_error_clear(&err);
    pm_error_clear(&err2);
    pm_source_free(a);
    pm_source_free(b);
}

static void fuzz_folder(const uint8_t *data, size_t size, const char *name, bool golang)
{
    if (!*folder) {
        snprintf(folder, sizeof(folder), "/tmp/fuzz_sqlsource.XXXXXX");
        if (!mkdtemp(folder))
            abort();
        atexit(remove_folder);
    }
    char path[256];
    if (golang) {
        const uint8_t *nul = memchr(data, '\0', size);
        size_t up = nul ? (size_t)(nul - data) : size;
        snprintf(path, sizeof(path), "%s/%s.up.sql", folder, name);
        write_file(path, data, up);
        if (nul) {
            snprintf(path, sizeof(path), "%s/%s.down.sql", folder, name);
            write_file(path, nul + 1, size - up - 1);
        }
    } else {
        snprintf(path, sizeof(path), "%s/%s.sql", folder, name);
        write_file(path, data, size);
    }
    pm_source *src = NULL;
    pm_error err = PM_ERROR_INIT;
    if (pm_source_new(&src, &err) < 0)
        abort();
    int rc = pm_source_add_dir(src, folder, &err);
    check_outcome(src, rc, &err, name);
    pm_error_clear(&err);
    pm_source_free(src);
    clear_folder(name);
}

static void fuzz_embedded(const uint8_t *data, size_t size, const char *name)
{
    pm_embedded_sql file = {name, (const char *)data, size};
    pm_source *src = NULL;
    pm_error err = PM_ERROR_INIT;
    if (pm_source_new(&src, &err) < 0)
        abort();
    int rc = pm_source_add_embedded(src, &file, 1, &err);
    check_outcome(src, rc, &err, name);
    pm_error_clear(&err);
    pm_source_free(src);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned int mode = data[0] % 4;
    data++;
    size--;
    char name[96];
    take_name(&data, &size, name, sizeof(name));
    size_t n = strlen(name);
    if (mode == 1 && ((n > 3 && strcmp(name + n - 3, ".up") == 0) ||
                      (n > 5 && strcmp(name + n - 5, ".down") == 0)))
        snprintf(name, sizeof(name), "1_fuzz"); /* NAME.up.sql is a pair named NAME */
    switch (mode) {
    case 0: fuzz_text(data, size, name); break;
    case 1: fuzz_folder(data, size, name, false); break;
    case 2: fuzz_folder(data, size, name, true); break;
    default: fuzz_embedded(data, size, name); break;
    }
    return 0;
}
