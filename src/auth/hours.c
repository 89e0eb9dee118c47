/*
 * hours.c - login_hours parser and matcher (hours.h): a cursor over
 * the spec, each window set into a bitmap of the week's minutes.
 * Runs in: monitor (login), keepftpd user command, unit tests.
 */
#include <string.h>

#include "../common/cursor.h"
#include "hours.h"

static const char *const day_names[7] = { "sun", "mon", "tue", "wed", "thu",
	"fri", "sat" };

static int
parse_day(struct cursor *c, int *day)
{
	int i;

	for (i = 0; i < 7; i++)
		if (cursor_eat_ci(c, day_names[i])) {
			*day = i;
			return 0;
		}
	return -1;
}

/* Two digits exactly. */
static int
two_digits(struct cursor *c, unsigned *v)
{
	if (cursor_left(c) < 2 || c->p[0] < '0' || c->p[0] > '9' ||
	    c->p[1] < '0' || c->p[1] > '9')
		return -1;
	*v = (unsigned)(c->p[0] - '0') * 10 + (unsigned)(c->p[1] - '0');
	c->p += 2;
	return 0;
}

/* HH:MM, 00:00..23:59, or 24:00 when end: minutes since midnight. */
static int
parse_time(struct cursor *c, int end, unsigned *min)
{
	unsigned h, m;

	if (two_digits(c, &h) < 0 || !cursor_eat(c, ':') ||
	    two_digits(c, &m) < 0 || m > 59 || h > 24 ||
	    (h == 24 && (!end || m != 0)))
		return -1;
	*min = h * 60 + m;
	return 0;
}

/* DAYS: one day, or a range (first, count of days). */
static int
parse_days(struct cursor *c, int *first, int *count)
{
	int last;

	if (parse_day(c, first) < 0)
		return -1;
	last = *first;
	if (cursor_eat(c, '-') && parse_day(c, &last) < 0)
		return -1;
	*count = (last - *first + 7) % 7 + 1;
	return 0;
}

static void
set_span(struct hours *h, unsigned from, unsigned n)
{
	unsigned i, m;

	for (i = 0; i < n; i++) {
		m = (from + i) % HOURS_WEEK_MINUTES;
		h->bits[m / 8] |= (uint8_t)(1u << (m % 8));
	}
}

/* One window: [DAYS] [HH:MM-HH:MM], at least one of them. */
static int
parse_window(struct cursor *c, struct hours *h, const char **err)
{
	int first = 0, count = 7, d, have_days = 0;
	unsigned from = 0, to = HOURS_DAY_MINUTES, len;

	cursor_skip_ws(c);
	if (cursor_left(c) > 0 && (*c->p < '0' || *c->p > '9')) {
		*err = "bad day (Mon..Sun, or a range such as Mon-Fri)";
		if (parse_days(c, &first, &count) < 0)
			return -1;
		have_days = 1;
		cursor_skip_ws(c);
	}
	if (!have_days || (!cursor_eof(c) && *c->p != ',' && *c->p != ';')) {
		*err = "bad hours (HH:MM-HH:MM, 00:00 to 24:00)";
		if (parse_time(c, 0, &from) < 0 || !cursor_eat(c, '-') ||
		    parse_time(c, 1, &to) < 0)
			return -1;
		if (from == to) {
			*err = "empty window (start equals end)";
			return -1;
		}
	}
	/* an end before the start runs into the next day */
	len = to > from ? to - from : HOURS_DAY_MINUTES - from + to;
	for (d = 0; d < count; d++)
		set_span(h,
		    (unsigned)((first + d) % 7) * HOURS_DAY_MINUTES + from,
		    len);
	cursor_skip_ws(c);
	return 0;
}

int
hours_parse(const char *spec, size_t len, struct hours *h, const char **err)
{
	struct cursor c;
	unsigned n = 0;

	memset(h, 0, sizeof(*h));
	*err = "empty login_hours";
	if (len == 0)
		return -1;
	if (len > KF_LOGIN_HOURS_MAX) {
		*err = "login_hours too long";
		return -1;
	}
	cursor_init(&c, spec, len);
	for (;;) {
		if (++n > KF_LOGIN_HOURS_WINDOWS) {
			*err = "too many login_hours windows";
			return -1;
		}
		if (parse_window(&c, h, err) < 0)
			return -1;
		if (cursor_eof(&c))
			return 0;
		if (!cursor_eat(&c, ',') && !cursor_eat(&c, ';')) {
			*err = "expected ',' or ';' between windows";
			return -1;
		}
	}
}

int
hours_allowed(const struct hours *h, int wday, int minute)
{
	unsigned m;

	if (wday < 0 || wday > 6 || minute < 0 || minute >= HOURS_DAY_MINUTES)
		return 0;
	m = (unsigned)wday * HOURS_DAY_MINUTES + (unsigned)minute;
	return (h->bits[m / 8] >> (m % 8)) & 1u;
}
