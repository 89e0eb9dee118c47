"""Signals to the listener (issue 12, item 21): each has a defined, logged
effect. The ones that do not stop the server leave it serving, with its
sessions; SIGTERM, SIGINT and SIGQUIT stop it cleanly, sessions first."""

import os
import re
import signal
import time

import pytest

from conftest import descendants_named, wait_for

KEPT = [
    (signal.SIGUSR1, r"SIGUSR1: the log goes to stderr or syslog; nothing to reopen"),
    (signal.SIGUSR2, r"SIGUSR2: 1 session\(s\), 1 logged in, 0 address\(es\) banned"),
    (signal.SIGPIPE, r"SIGPIPE: ignored"),
    (signal.SIGALRM, r"SIGALRM: ignored"),
    (signal.SIGVTALRM, r"SIGVTALRM: ignored"),
    (signal.SIGPROF, r"SIGPROF: ignored"),
    (signal.SIGXCPU, r"SIGXCPU: ignored"),
    (signal.SIGXFSZ, r"SIGXFSZ: ignored"),
    (signal.SIGPWR, r"SIGPWR: ignored"),
    (signal.SIGIO, r"SIG(IO|POLL): ignored"),
    (signal.SIGSTKFLT, r"SIGSTKFLT: ignored"),
    (signal.SIGTSTP, r"SIGTSTP: ignored"),
    (signal.SIGTTIN, r"SIGTTIN: ignored"),
    (signal.SIGTTOU, r"SIGTTOU: ignored"),
    (signal.SIGWINCH, r"SIGWINCH: ignored"),
    (signal.SIGURG, r"SIGURG: ignored"),
    (signal.SIGRTMIN + 3, r"SIG\(real-time\): ignored"),
]


def test_signals_that_keep_the_server(start_server):
    srv = start_server(mode="config")
    f = srv.login()
    # the monitor's login report reaches the listener (asked until it has)
    assert wait_for(lambda: _usr2_says_logged_in(srv), timeout=10)
    for sig, line in KEPT:
        n = len(srv.log())
        os.kill(srv.pid, sig)
        assert wait_for(lambda: re.search(line, srv.log()[n:])), \
            (sig, srv.log()[-1000:])
        assert srv.proc.poll() is None, sig
    # still serving: the old session and a new one
    assert f.voidcmd("NOOP").startswith("200")
    srv.login().quit()
    f.quit()


def _usr2_says_logged_in(srv):
    n = len(srv.log())
    os.kill(srv.pid, signal.SIGUSR2)
    srv.wait_log(r"SIGUSR2: ", timeout=2)
    time.sleep(0.05)
    return "1 session(s), 1 logged in" in srv.log()[n:]


@pytest.mark.parametrize("sig", [signal.SIGQUIT, signal.SIGTERM, signal.SIGINT],
                         ids=["QUIT", "TERM", "INT"])
def test_signals_that_stop_the_server(start_server, sig):
    srv = start_server(mode="config")
    f = srv.login()
    monitors = wait_for(lambda: descendants_named(srv.pid, "kf-monitor"))
    assert monitors
    os.kill(srv.pid, sig)
    assert srv.proc.wait(15) == 0
    name = signal.Signals(sig).name
    assert srv.wait_log(rf"{name}: stopping")
    assert srv.wait_log(r"stopping: 1 session\(s\) to end")
    assert srv.wait_log(r"keepftpd\[\d+\]: info: stopped")
    for pid in monitors:        # no session outlives the listener
        assert not os.path.exists(f"/proc/{pid}"), pid
    f.close()
