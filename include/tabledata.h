/*
 * tabledata.h - the umbrella header of the tabledata library.
 *
 * tabledata turns any data source into lazily loaded, partitioned, live
 * tables.  A backend (tabledata/backend.h) serves schemas, locations, sizes
 * and column values; a service (tabledata/service.h) assembles them into
 * tables (tabledata/table.h) whose column data is fetched in pages, cached,
 * and exported through the Arrow C Data and Stream interfaces
 * (tabledata/arrow_abi.h).
 */
#ifndef TABLEDATA_H
#define TABLEDATA_H

#include "tabledata/api.h"
#include "tabledata/arrow_abi.h"
#include "tabledata/error.h"
#include "tabledata/types.h"
#include "tabledata/keys.h"
#include "tabledata/backend.h"
#include "tabledata/service.h"
#include "tabledata/table.h"
#include "tabledata/memory_backend.h"
#include "tabledata/arrow_build.h"
#include "tabledata/query.h"
#include "tabledata/join.h"
#include "tabledata/update_by.h"
#include "tabledata/file_backend.h"

#define TD_VERSION_MAJOR 0
#define TD_VERSION_MINOR 1
#define TD_VERSION_PATCH 0
#define TD_VERSION_STRING "0.1.0"

#endif
