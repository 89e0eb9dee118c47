/*
 * hours.h - login_hours: the days and hours in which a user may log
 * in ("Mon-Fri 08:00-18:00;Sat 09:00-12:00"), parsed into a week of
 * minutes and matched against a local day and time. Pure: no clock,
 * no time zone; the caller gives the weekday and minute.
 * Runs in: monitor (login), keepftpd user command (checks), unit tests.
 */
#ifndef KF_HOURS_H
#define KF_HOURS_H

#include <stddef.h>
#include <stdint.h>

#include "../common/limits.h"

#define HOURS_DAY_MINUTES  (24 * 60)
#define HOURS_WEEK_MINUTES (7 * HOURS_DAY_MINUTES)

/* One bit per minute of the week, Sunday 00:00 first (struct tm's wday). */
struct hours {
	uint8_t bits[HOURS_WEEK_MINUTES / 8];
};

/*
 * spec: windows separated by ',' or ';' (at most KF_LOGIN_HOURS_WINDOWS,
 * KF_LOGIN_HOURS_MAX bytes), each "DAYS HH:MM-HH:MM", "DAYS" (the whole
 * day) or "HH:MM-HH:MM" (every day). DAYS: Mon..Sun (any case) or a
 * range "Fri-Mon" (wraps past Sunday). The end may be 24:00; an end
 * before the start runs past midnight into the next day ("Fri
 * 22:00-02:00" is Friday 22:00 to Saturday 02:00). Start == end is an
 * error. 0 and *h filled, or -1 with *err saying why.
 */
int hours_parse(const char *spec, size_t len, struct hours *h,
    const char **err);
/* 1 when minute (0..1439) of weekday wday (0 Sunday..6) is inside. */
int hours_allowed(const struct hours *h, int wday, int minute);

#endif
