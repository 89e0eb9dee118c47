"""The cap on password verifications (auth_concurrency, src/auth/auth.c):
a System V semaphore that the kernel serves in the order the logins came.
Started as root, the server keeps it in an IPC namespace of its own, so
nothing outside sees it and nothing stays behind; rootless, it lies in
the host's namespace, mode 0600, and the listener removes it at the
stop. Logins beyond the cap wait for a token; none fails for it."""

import ftplib
import os
import signal
import threading

from conftest import (IS_ROOT, NOBODY, descendants_named, requires_root,
                      wait_for)
from test_config import set_conf


def sem_sets():
    """The System V semaphore sets this process's namespace holds:
    {semid: (mode, owner uid)} (the file prints the mode in octal)."""
    rows = {}
    with open("/proc/sysvipc/sem") as f:
        next(f)  # key semid perms nsems uid gid cuid cgid otime ctime
        for line in f:
            v = line.split()
            rows[int(v[1])] = (int(v[2], 8), int(v[4]))
    return rows


def ipc_ns(pid):
    return os.readlink(f"/proc/{pid}/ns/ipc")


@requires_root
def test_root_server_keeps_the_cap_in_its_own_namespace(start_server):
    before = sem_sets()
    srv = start_server(mode="config", rootless=False)
    f = srv.login()
    f.pwd()
    ns = ipc_ns(srv.pid)
    assert ns != ipc_ns(os.getpid())
    monitors = wait_for(lambda: descendants_named(srv.pid, "kf-monitor"))
    assert monitors
    for pid in monitors:
        assert ipc_ns(pid) == ns
    assert sem_sets() == before  # nothing new in the host's namespace
    f.quit()


def test_rootless_cap_is_private_and_removed_at_the_stop(start_server):
    before = sem_sets()
    srv = start_server(mode="config", rootless=True)
    made = {k: v for k, v in sem_sets().items() if k not in before}
    assert len(made) == 1, made
    (mode, uid), = made.values()
    assert mode & 0o777 == 0o600
    assert uid == (NOBODY if IS_ROOT else os.getuid())
    f = srv.login()
    f.pwd()
    f.quit()
    assert srv.stop() == 0
    assert set(sem_sets()) - set(before) == set()


def test_logins_beyond_the_cap_wait_and_all_succeed(start_server):
    """auth_concurrency = 1 and eight logins at once: they are checked
    one after the other, and every one of them gets its 230."""
    srv = start_server(mode="config", conf_extra={"auth_concurrency": "1"})
    replies, errors = [], []

    def one():
        try:
            f = ftplib.FTP()
            f.connect("127.0.0.1", srv.port, timeout=20)
            replies.append(f.login(srv.user, srv.password))
            f.quit()
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(repr(e))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(replies) == 8
    assert all(r.startswith("230") for r in replies)


def test_reload_keeps_the_running_cap_and_says_so(start_server):
    """The semaphore is made at start: SIGHUP with another
    auth_concurrency keeps the running one, logs it, and the rest of
    the configuration still applies."""
    srv = start_server(mode="config", conf_extra={"auth_concurrency": "2",
                                                  "banner": "before"})
    sets = sem_sets()
    set_conf(srv, "auth_concurrency", "5")
    set_conf(srv, "banner", "after")
    os.kill(srv.pid, signal.SIGHUP)
    assert srv.wait_log(r"configuration reloaded")
    assert srv.wait_log(r"auth_concurrency stays 2 until restart "
                        r"\(the configuration says 5\)")
    f = ftplib.FTP()
    f.connect("127.0.0.1", srv.port, timeout=10)
    assert f.getwelcome() == "220 after"
    assert f.login(srv.user, srv.password).startswith("230")
    f.quit()
    assert sem_sets() == sets  # no second set
