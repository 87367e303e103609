/* poblysh.h: the one header a service includes to use poblysh migrate.
 *
 * Driver authors include poblysh/sys/driver.h instead (or as well). */
#ifndef POBLYSH_H
#define POBLYSH_H

#define PM_VERSION_STRING "0.1.0"

#include "db.h"
#include "engine.h"
#include "errors.h"
#include "migration.h"
#include "profile.h"
#include "schema.h"
#include "source.h"
#include "testdb.h"
#include "url.h"

#endif
