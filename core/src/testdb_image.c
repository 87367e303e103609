/* testdb_image.c: test databases of backends whose databases live in the
 * process (SQLite, PM_CAP_CLONE_IMAGE). The migrated template is kept as
 * bytes and each copy is a private in-memory database opened from them;
 * KEEP writes a copy's bytes to a file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testdb_internal.h"

static unsigned long kept_serial;

int pm_testdb__image_prepare(pm_template *t, pm_db *db, const pm_migration *const *set,
                             size_t count, pm_error *err)
{
    int rc = pm_testdb__migrate(db, set, count, err);
    if (rc < 0) {
        pm__error_prefix(err, "cannot migrate the test template %s", pm_db_url(db));
        return rc;
    }
    t->image.driver = db->driver;
    return pm__db_image_save(db, &t->image.bytes, &t->image.size, err);
}

int pm_testdb__image_copy(pm_template *t, pm_db **db, char **url, pm_error *err)
{
    *url = NULL;
    int rc = pm__db_open_image(db, t->image.driver, t->image.bytes, t->image.size, err);
    if (rc < 0)
        return rc;
    if (!(*url = pm__strdup(pm_db_url(*db)))) {
        pm_db_close(*db);
        *db = NULL;
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    }
    return 0;
}

/* Writes size bytes of image to a new file, never through a link planted
 * at path. */
static bool write_new_file(const char *path, const void *image, size_t size)
{
    FILE *f = fopen(path, "wbx");
    bool written = f && fwrite(image, 1, size, f) == size;
    if (f && fclose(f) != 0)
        written = false;
    return written;
}

/* "sqlite" of "sqlite::memory:", the URL of an in-memory copy. */
static char *url_for_file(const pm_db *db, const char *path)
{
    const char *url = pm_db_url(db);
    return pm__format("%.*s://%s", (int)strcspn(url, ":"), url, path);
}

int pm_testdb__image_keep(pm_db *db, char **where, pm_error *err)
{
    void *image = NULL;
    size_t size = 0;
    *where = NULL;
    int rc = pm__db_image_save(db, &image, &size, err);
    if (rc < 0)
        return rc;
    const char *dir = getenv("TMPDIR");
    char *path = pm__format("%s/poblysh-test-%ld-%lu.db", dir && *dir ? dir : "/tmp",
                            (long)getpid(), ++kept_serial);
    bool written = path && write_new_file(path, image, size);
    free(image);
    if (!written) {
        rc = pm_error_set(err, PM_ERROR, "cannot keep the test database: cannot write %s",
                          path ? path : "a file in $TMPDIR");
        free(path);
        return rc;
    }
    *where = url_for_file(db, path);
    free(path);
    return *where ? 0 : pm_error_set(err, PM_ENOMEM, "out of memory");
}

void pm_testdb__image_free(pm_template *t)
{
    free(t->image.bytes);
    t->image.bytes = NULL;
    t->image.size = 0;
}
