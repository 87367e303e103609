/* poblysh.h: the one header a service includes to use poblysh migrate.
 *
 * Driver authors include poblysh/sys/driver.h instead (or as well). */
#ifndef POBLYSH_H
#define POBLYSH_H

#include "db.h"
#include "engine.h"
#include "errors.h"
#include "fleet.h"
#include "migration.h"
#include "migrations.h"
#include "poblysh/version.h"
#include "profile.h"
#include "schema.h"
#include "source.h"
#include "testdb.h"
#include "url.h"

#endif
