/*
 * Wall-clock time in milliseconds since the Unix epoch, the unit Matrix
 * uses for origin_server_ts.  Durations inside the loop use uv_now().
 */
#ifndef WARROOM_CLOCK_H
#define WARROOM_CLOCK_H

#include <stdint.h>

int64_t clock_now_ms(void);

#endif
