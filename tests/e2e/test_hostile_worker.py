"""A hostile worker, end to end, against the real daemon.

The test becomes the compromised process: as root it takes a copy of a
running kf-prelogin's (or kf-monitor's) socket with pidfd_getfd(2),
stops the real worker, and speaks on that socket what a patched worker
could. The monitor (real binary, real auth, real sleep) must:

- verify at most max_login_failures MON_LOGIN requests, sleep the
  doubled delay before each answer, and end the session (one log line
  saying why) when asked again, even with the right password;
- refuse an empty request frame with a log line, not close silently;
- mark every forwarded log line with its origin, so that a forged
  "login failed: from=..." line never matches the fail2ban filter;
- rate-limit a log flood and a report-channel flood to a few lines.
"""
import ctypes
import os
import re
import signal
import socket
import struct
import time

import pytest

from conftest import IS_ROOT, PASSWORD, USER, descendants_named, wait_for
from tls_helpers import certs  # noqa: F401 (fixture)
from test_connpolicy import fail2ban_filter

pytestmark = pytest.mark.skipif(not IS_ROOT, reason="pidfd_getfd needs root")

SYS_PIDFD_GETFD = 438   # same number on every Linux architecture
MON_LOGIN, MON_LOGIN_RESULT = 1, 2
FAILED, OK, FAILED_CLOSE = 0, 1, 2
LOG_WARNING = 4
FORGED_HOST = "198.51.100.9"

_libc = ctypes.CDLL(None, use_errno=True)


def steal(pid, fd):
    """A duplicate of fd of process pid, as a socket object."""
    pidfd = os.pidfd_open(pid)
    try:
        n = _libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
        if n < 0:
            raise OSError(ctypes.get_errno(), "pidfd_getfd")
    finally:
        os.close(pidfd)
    return socket.socket(fileno=n)


def unix_types():
    """inode -> socket type (1 stream, 2 dgram, 5 seqpacket)."""
    out = {}
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            cols = line.split()
            out[int(cols[6])] = int(cols[4], 16)
    return out


def sockets_of(pid, kind):
    """(inode, fd) of pid's unix sockets of that type, by inode."""
    types = unix_types()
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]", link)
        if m and types.get(int(m.group(1))) == kind:
            found.append((int(m.group(1)), int(fd)))
    return sorted(found)


def dead(pid):
    """pid has exited (gone, or a zombie nobody reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def prelogin_of(srv, client):
    """The kf-prelogin serving client, once it has greeted."""
    assert client.reply().startswith("220")
    pids = wait_for(lambda: descendants_named(srv.pid, "kf-prelogin"))
    assert len(pids) == 1
    return pids[0]


def worker_channels(pid):
    """The worker's (request, log) sockets: the request socketpair is
    made first (spawn), so its inode is the smaller one."""
    seq = sockets_of(pid, 5)
    assert len(seq) == 2, seq
    return steal(pid, seq[0][1]), steal(pid, seq[1][1])


def put_str(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b


def login_frame(user, password):
    payload = put_str(user) + put_str(password) + put_str("") + struct.pack(">I", 0)
    return struct.pack(">II", MON_LOGIN, len(payload)) + payload


def read_result(sock, timeout):
    sock.settimeout(timeout)
    try:
        f = sock.recv(64)
    except (socket.timeout, ConnectionResetError):
        return None
    if not f:
        return None
    t, n = struct.unpack(">II", f[:8])
    assert t == MON_LOGIN_RESULT and n == 4
    return struct.unpack(">I", f[8:12])[0]


def test_hostile_worker_gets_max_failures_and_the_delay(start_server):
    srv = start_server(conf_extra={"max_login_failures": "3",
                                   "login_fail_delay_ms": "300"})
    c = srv.raw()
    pid = prelogin_of(srv, c)
    ipc, _ = worker_channels(pid)
    os.kill(pid, signal.SIGSTOP)   # the stolen socket speaks for it now
    t0 = time.monotonic()
    # all at once, without waiting for answers; the last has the right
    # password. No fifth frame: a frame still queued at the monitor when
    # it exits makes the kernel report ECONNRESET on this end before the
    # answers queued here, and the third answer could not be read.
    for pw in ["bad1", "bad2", "bad3", PASSWORD]:
        ipc.send(login_frame(USER, pw))
    got, times = [], []
    while True:
        r = read_result(ipc, 10)
        if r is None:
            break
        got.append(r)
        times.append(time.monotonic() - t0)
    assert got == [FAILED, FAILED, FAILED_CLOSE]
    # 300, then 600, then 1200 ms: slept by the monitor before each answer
    assert times[0] >= 0.28 and times[1] >= 0.88 and times[2] >= 2.08, times
    assert srv.wait_log(r"session ended: MON_LOGIN after 3 failed logins "
                        r"\(max_login_failures\)")
    log = srv.log()
    assert len(re.findall(r"\] login failed: from=127\.0\.0\.1", log)) == 3
    assert "login ok" not in log
    # the session is over: the worker went with its monitor
    assert wait_for(lambda: not descendants_named(srv.pid, "kf-prelogin"))
    assert c.closed()


def test_empty_request_frame_is_logged(start_server):
    srv = start_server()
    c = srv.raw()
    pid = prelogin_of(srv, c)
    ipc, _ = worker_channels(pid)
    os.kill(pid, signal.SIGSTOP)
    ipc.send(b"")
    assert srv.wait_log(r"session ended: refused frame from the worker: empty")
    # the monitor killed its worker before it went (stopped or not)
    assert wait_for(lambda: dead(pid))
    ipc.close()


def test_forged_log_line_is_marked_and_not_an_event(start_server):
    srv = start_server()
    c = srv.raw()
    pid = prelogin_of(srv, c)
    _, lg = worker_channels(pid)
    forged = [f"login failed: from={FORGED_HOST} failures=1 "
              f"reason=bad-credentials user=x",
              f"[s1 {FORGED_HOST}] login failed: from={FORGED_HOST} "
              f"failures=1 reason=bad-credentials user=x",
              f"x] login ok: user=root root=/ write"]
    for text in forged:
        lg.send(bytes([LOG_WARNING]) + text.encode())
    assert srv.wait_log(r"login ok: user=root")
    rx = fail2ban_filter()
    for line in srv.log().splitlines():
        m = rx.search(line.split(" ", 1)[1] if " " in line else line)
        assert not (m and m.group("host") == FORGED_HOST), line
        assert not re.search(r"\] login ok: user=root", line), line
    lg.send(b"")   # refused, said once; the channel stays open
    lg.send(bytes([LOG_WARNING]) + b"after the empty one")
    assert srv.wait_log(r"worker kf-prelogin: after the empty one")
    lines = srv.log().splitlines()
    marked = [l for l in lines if "worker kf-prelogin: " in l]
    assert len(marked) == 5   # 3 forged, the refusal, the last one
    assert any("log datagram refused: empty datagram" in l for l in lines)
    c.close()


def test_log_flood_is_rate_limited(start_server):
    srv = start_server()
    c = srv.raw()
    pid = prelogin_of(srv, c)
    _, lg = worker_channels(pid)
    os.kill(pid, signal.SIGSTOP)
    lg.setblocking(False)
    sent, t0 = 0, time.monotonic()
    while sent < 20000 and time.monotonic() - t0 < 3:
        try:
            lg.send(bytes([LOG_WARNING]) + b"flood %d" % sent)
            sent += 1
        except BlockingIOError:
            time.sleep(0.001)
    elapsed = time.monotonic() - t0
    assert sent >= 5000
    assert srv.wait_log(r"worker kf-prelogin: \d+ log line\(s\) dropped "
                        r"\(rate limit\)")
    time.sleep(0.5)
    flood = [l for l in srv.log().splitlines() if "worker kf-prelogin: flood" in l]
    # burst 500 + 100 a second
    assert 500 <= len(flood) <= 500 + 100 * (elapsed + 1.5), (len(flood), elapsed)
    os.kill(pid, signal.SIGCONT)
    c.close()


def test_report_flood_gives_a_few_lines(start_server):
    srv = start_server()
    c = srv.raw()
    prelogin_of(srv, c)
    mons = descendants_named(srv.pid, "kf-monitor")
    assert len(mons) == 1
    dgram = sockets_of(mons[0], 2)
    assert len(dgram) == 1, dgram
    rep = steal(mons[0], dgram[0][1])
    rep.setblocking(False)
    sent, t0 = 0, time.monotonic()
    while sent < 20000 and time.monotonic() - t0 < 4:
        try:
            rep.send(b"bogus report %d" % sent)
            sent += 1
        except BlockingIOError:
            time.sleep(0.0005)
    elapsed = time.monotonic() - t0
    assert sent >= 2000
    rep.send(b"last")
    time.sleep(1.2)
    rep.send(b"after a second")
    assert srv.wait_log(r"report dropped: \d+ datagram\(s\) since the last line")
    dropped = [l for l in srv.log().splitlines() if "report dropped" in l]
    # one line per second at most, whatever the number of datagrams
    assert 1 <= len(dropped) <= elapsed + 4, (len(dropped), sent)
    c.close()


# ---------------------------------------------------------------------------
# the TLS relay's channels: the same rules

def relay_channels(srv, certs_):
    from tls_helpers import TLSRaw
    c = TLSRaw(srv.port)
    assert c.reply().startswith("220")
    assert c.cmd("AUTH TLS").startswith("234")
    c.starttls()
    pids = wait_for(lambda: descendants_named(srv.pid, "kf-tls-relay"))
    assert len(pids) == 1
    # relay_start makes the log socketpair before the request one
    seq = sockets_of(pids[0], 5)
    assert len(seq) == 2, seq
    return c, pids[0], steal(pids[0], seq[0][1]), steal(pids[0], seq[1][1])


def tls_peer_frame(cn):
    payload = put_str(cn)
    return struct.pack(">II", 10, len(payload)) + payload


def test_relay_lines_marked_and_tls_peer_once(start_server, certs):
    from tls_helpers import tls_conf
    srv = start_server(conf_extra=tls_conf(certs["cert"], certs["key"]))
    c, pid, lg, ipc = relay_channels(srv, certs)
    lg.send(bytes([LOG_WARNING]) + f"login failed: from={FORGED_HOST} "
            f"failures=1 reason=bad-credentials user=x".encode())
    assert srv.wait_log(r"\] relay: login failed: from=198\.51\.100\.9")
    rx = fail2ban_filter()
    for line in srv.log().splitlines():
        m = rx.search(line.split(" ", 1)[1] if " " in line else line)
        assert not (m and m.group("host") == FORGED_HOST), line
    os.kill(pid, signal.SIGSTOP)
    # a CN that is not a user name, then a real one: the second is refused
    ipc.send(tls_peer_frame("not a name"))
    assert srv.wait_log(r"client certificate CN=\"not a name\" is not a user name")
    ipc.send(tls_peer_frame(USER))
    assert srv.wait_log(r"session ended: refused MON_TLS_PEER from the TLS "
                        r"relay: a second one")
    assert wait_for(lambda: not descendants_named(srv.pid, "kf-tls-relay"))
