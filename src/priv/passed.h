/*
 * passed.h - the marks (implicit, proxy) of a listening socket the
 * listener did not bind itself: passed by the service manager
 * (LISTEN_FDS), or by the old listener at `keepftpd upgrade` when those
 * came from the service manager. Its address decides, against the
 * configuration's listen lines, so that a `proxy` line is never served
 * by a plain socket.
 * Runs in: listener. Pure.
 */
#ifndef KF_PASSED_H
#define KF_PASSED_H

#include <stddef.h>

#include "../conf/conf.h"

/*
 * l (its addr, and the marks its name or the hand-over gave it) takes
 * the marks of every line in lines[0..n) that names its address: the
 * same port, and the same host or a wildcard (0.0.0.0, ::) on either
 * side. Marks are only added. 0, or -1 when l ends up both implicit
 * and proxy (refused, as the configuration check refuses such a line).
 */
int passed_marks(struct conf_listen *l, const struct conf_listen *lines,
    size_t n);

#endif
