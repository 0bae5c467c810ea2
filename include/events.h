/*
 * Only until daemon/ includes eventlog.h and hookq.h itself and calls
 * eventlog_type_str: then this file goes.
 */
#ifndef PK_EVENTS_H
#define PK_EVENTS_H

#include "eventlog.h"
#include "hookq.h"

#define event_type_str	eventlog_type_str

#endif
