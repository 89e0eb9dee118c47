"""max_prelogin (issue 12, item 9): connections that never log in cannot
take every max_clients slot; near the bound they get login_timeout_busy;
logged-in sessions are not counted, and REIN counts a session again."""

import os
import re
import signal
import time

from conftest import PASSWORD, USER, wait_for


def idle(srv):
    c = srv.raw()
    assert c.reply().startswith("220")
    return c


def logged_in(srv):
    c = idle(srv)
    assert c.cmd(f"USER {USER}").startswith("331")
    assert c.cmd(f"PASS {PASSWORD}").startswith("230")
    return c


def listener_counts(srv, logged):
    """Waits until the listener counts `logged` sessions as logged in (its
    SIGUSR2 line), so the monitor's report has arrived."""
    def asked():
        n = len(srv.log())
        os.kill(srv.pid, signal.SIGUSR2)
        m = srv.wait_log(r"SIGUSR2: \d+ session\(s\), (\d+) logged in", timeout=2)
        return m and re.findall(r"SIGUSR2: \d+ session\(s\), (\d+) logged in",
                                srv.log()[n:])[-1:] == [str(logged)]
    assert wait_for(asked, timeout=10)


def test_prelogin_bound_and_busy_timeout(start_server):
    srv = start_server(mode="config", conf_extra={
        "max_clients": "20", "max_per_ip": "0", "max_prelogin": "4",
        "login_timeout_busy": "2", "login_timeout": "60"})
    user = logged_in(srv)
    listener_counts(srv, 1)
    idlers = [idle(srv) for _ in range(4)]
    c = srv.raw()
    assert c.reply().startswith("421 Too many connections not logged in")
    c.close()
    # near the bound: not logged in after 2 s (not 60) ends the session
    t0 = time.monotonic()
    for c in idlers:
        assert c.closed(timeout=10)
    assert time.monotonic() - t0 <= 8
    assert srv.wait_log(r"not logged in after 2 s while 4 of max_prelogin 4")
    # the logged-in session was neither counted nor closed; new logins get in
    assert user.cmd("NOOP").startswith("200")
    logged_in(srv).cmd("QUIT")
    user.cmd("QUIT")


def test_rein_counts_as_prelogin_again(start_server):
    srv = start_server(mode="config", conf_extra={
        "max_per_ip": "0", "max_prelogin": "1", "login_timeout_busy": "60"})
    user = logged_in(srv)
    listener_counts(srv, 1)
    other = idle(srv)           # the one pre-login place
    c = srv.raw()
    assert c.reply().startswith("421 Too many connections not logged in")
    c.close()
    other.close()
    assert wait_for(lambda: _free(srv))
    assert user.cmd("REIN").startswith("220")
    listener_counts(srv, 0)
    c = srv.raw()
    assert c.reply().startswith("421 Too many connections not logged in")
    c.close()


def _free(srv):
    """A new connection is accepted (and closed again)."""
    c = srv.raw()
    ok = c.reply().startswith("220")
    c.cmd("QUIT") if ok else None
    c.close()
    time.sleep(0.1)
    return ok
