"""Timeouts: login, idle, slowloris on the control connection, data
connection accept/connect, stalled transfers, and session_max_seconds.
Each test sets a timeout of a few seconds and checks both the reply and
that it came neither too early nor much too late."""
import socket
import time

import pytest

from conftest import pasv_port

SLACK = 4.0  # seconds a reply may come after its deadline (ASan, busy CI)


def timed_reply(c):
    t0 = time.monotonic()
    r = c.reply()
    return r, time.monotonic() - t0


def assert_closed(c):
    assert c.closed(), "the server kept the connection open"


def login_raw(srv, user=None, password=None):
    c = srv.raw()
    assert c.reply().startswith("220")
    assert c.cmd(f"USER {user or srv.user}").startswith("331")
    assert c.cmd(f"PASS {password or srv.password}").startswith("230")
    return c


def test_login_timeout(start_server):
    srv = start_server(conf_extra={"login_timeout": "2"})
    c = srv.raw()
    t0 = time.monotonic()
    assert c.reply().startswith("220")
    r = c.reply()
    took = time.monotonic() - t0
    assert r == "421 Login timeout."
    assert 1.5 <= took <= 2 + SLACK
    assert_closed(c)
    assert srv.wait_log(r"disconnect: user=-")


def test_login_timeout_counts_from_connect_not_per_command(start_server):
    """Commands before login do not restart the login clock."""
    srv = start_server(conf_extra={"login_timeout": "3"})
    c = srv.raw()
    t0 = time.monotonic()
    c.reply()
    while True:
        r = c.cmd("NOOP")
        if not r.startswith("200"):
            break
        time.sleep(0.5)
        assert time.monotonic() - t0 < 3 + SLACK
    assert r == "421 Login timeout."
    assert 2.5 <= time.monotonic() - t0 <= 3 + SLACK


def test_idle_timeout(start_server):
    srv = start_server(conf_extra={"idle_timeout": "2"})
    c = login_raw(srv)
    r, took = timed_reply(c)
    assert r == "421 Timeout."
    assert 1.5 <= took <= 2 + SLACK
    assert_closed(c)


def test_idle_timeout_restarts_after_each_command(start_server):
    srv = start_server(conf_extra={"idle_timeout": "2"})
    c = login_raw(srv)
    t0 = time.monotonic()
    for _ in range(6):  # 3 s of activity, longer than the idle timeout
        time.sleep(0.5)
        assert c.cmd("NOOP").startswith("200")
    assert time.monotonic() - t0 > 2.5
    r, took = timed_reply(c)
    assert r == "421 Timeout." and took >= 1.5


@pytest.mark.parametrize("phase", ["prelogin", "postlogin"])
def test_slowloris_line_cannot_hold_the_session(start_server, phase):
    """One byte every 0.2 s of a line that never ends: the whole line is
    bounded by the timeout, not the gap between bytes."""
    srv = start_server(conf_extra={"login_timeout": "3", "idle_timeout": "2"})
    if phase == "prelogin":
        c = srv.raw()
        c.reply()
        want, limit = "421 Login timeout.", 3
    else:
        c = login_raw(srv)
        want, limit = "421 Timeout.", 2
    c.sock.settimeout(0.05)
    t0 = time.monotonic()
    got = b""
    while time.monotonic() - t0 < limit + SLACK:
        try:
            c.sock.send(b"N")
        except OSError:
            break
        try:
            chunk = c.sock.recv(4096)
            if not chunk:
                break
            got += chunk
        except socket.timeout:
            pass
        if b"\n" in got:
            break
        time.sleep(0.2)
    took = time.monotonic() - t0
    assert got.decode().startswith(want), got
    assert limit - 0.5 <= took <= limit + SLACK


def test_data_accept_timeout_pasv(start_server):
    """PASV, then RETR, and no data connection: 425 after data_timeout."""
    srv = start_server(conf_extra={"data_timeout": "2"})
    c = login_raw(srv)
    c.cmd("TYPE I")
    pasv_port(c.cmd("PASV"))
    c.send("RETR hello.txt\r\n")
    assert c.reply().startswith("150")
    r, took = timed_reply(c)
    assert r.startswith("425")
    assert 1.5 <= took <= 2 + SLACK
    assert c.cmd("NOOP").startswith("200")  # the session goes on


def test_data_connect_timeout_port(start_server):
    """PORT to a client port whose accept queue is full, so the SYN is
    never answered: 425 after data_timeout, the session goes on."""
    srv = start_server(conf_extra={"data_timeout": "2"})
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(0)
    port = lst.getsockname()[1]
    fillers = []
    for _ in range(3):  # fill the backlog (never accepted)
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
    time.sleep(0.2)
    try:
        c = login_raw(srv)
        c.cmd("TYPE I")
        hi, lo = divmod(port, 256)
        assert c.cmd(f"PORT 127,0,0,1,{hi},{lo}").startswith("200")
        c.send("LIST\r\n")
        assert c.reply().startswith("150")
        r, took = timed_reply(c)
        assert r.startswith("425")
        assert 1.5 <= took <= 2 + SLACK
        assert c.cmd("NOOP").startswith("200")
    finally:
        for s in fillers:
            s.close()
        lst.close()


def unread_retr(c, name):
    """RETR name over PASV into a data socket with a 4 KiB receive buffer
    that the test then reads slowly or not at all; returns that socket
    once the 150 is in."""
    c.cmd("TYPE I")
    port = pasv_port(c.cmd("PASV"))
    d = socket.socket()
    d.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    d.connect(("127.0.0.1", port))
    c.send(f"RETR {name}\r\n")
    assert c.reply().startswith("150")
    return d


def started_stor(c, name):
    """STOR name over PASV; returns the data socket once the 150 is in."""
    c.cmd("TYPE I")
    port = pasv_port(c.cmd("PASV"))
    d = socket.create_connection(("127.0.0.1", port))
    c.send(f"STOR {name}\r\n")
    assert c.reply().startswith("150")
    return d


def test_stalled_download(start_server):
    """The client opens the data connection and never reads: the sender
    makes no progress and gives up with 426 after data_timeout."""
    srv = start_server(conf_extra={"data_timeout": "2"})
    (srv.home / "big.bin").write_bytes(b"\0" * (64 << 20))
    c = login_raw(srv)
    d = unread_retr(c, "big.bin")
    r, took = timed_reply(c)
    assert r == "426 Data connection timed out."
    assert took <= 2 + SLACK
    assert c.cmd("NOOP").startswith("200")
    d.close()
    assert srv.wait_log(r"RETR .*timeout")


def test_stalled_upload_is_not_committed(start_server):
    srv = start_server(conf_extra={"data_timeout": "2"})
    (srv.home / "keep.txt").write_bytes(b"old content\n")
    c = login_raw(srv)
    d = started_stor(c, "keep.txt")
    d.sendall(b"x" * 10000)  # then nothing, the connection stays open
    r, took = timed_reply(c)
    assert r == "426 Data connection timed out."
    assert took <= 2 + SLACK
    d.close()
    assert (srv.home / "keep.txt").read_bytes() == b"old content\n"
    assert not [p for p in srv.home.iterdir() if p.name.startswith(".kf-upload")]


def test_session_max_seconds_between_commands(start_server):
    srv = start_server(conf_extra={"session_max_seconds": "3", "idle_timeout": "60"})
    t0 = time.monotonic()
    c = login_raw(srv)
    while True:
        r = c.cmd("NOOP")
        if not r.startswith("200"):
            break
        assert time.monotonic() - t0 < 3 + SLACK
        time.sleep(0.3)
    assert r == "421 Session time limit reached."
    assert 2.5 <= time.monotonic() - t0 <= 3 + SLACK
    assert_closed(c)


def test_session_max_seconds_ends_a_transfer(start_server):
    """A transfer in progress at the limit ends with 426, then 421."""
    srv = start_server(conf_extra={"session_max_seconds": "3", "data_timeout": "60"})
    (srv.home / "big.bin").write_bytes(b"\0" * (64 << 20))
    t0 = time.monotonic()
    c = login_raw(srv)
    d = unread_retr(c, "big.bin")
    assert c.reply() == "426 Transfer aborted. Session time limit reached."
    assert c.reply() == "421 Session time limit reached."
    assert 2.5 <= time.monotonic() - t0 <= 3 + SLACK
    assert_closed(c)
    d.close()


def test_session_max_seconds_before_login(start_server):
    srv = start_server(conf_extra={"session_max_seconds": "2", "login_timeout": "60"})
    c = srv.raw()
    t0 = time.monotonic()
    c.reply()
    r = c.reply()
    assert r == "421 Session time limit reached."
    assert 1.5 <= time.monotonic() - t0 <= 2 + SLACK


def test_trickle_upload_is_too_slow(start_server):
    """One byte a second into STOR: under data_min_rate (1024 bytes/s by
    default) over the data_timeout window, so 426 at the window's end;
    the upload is not kept and the old file stays."""
    srv = start_server(conf_extra={"data_timeout": "3"})
    (srv.home / "keep.txt").write_bytes(b"old content\n")
    c = login_raw(srv)
    d = started_stor(c, "keep.txt")
    c.sock.settimeout(0.05)
    t0 = time.monotonic()
    got = b""
    while b"\n" not in got and time.monotonic() - t0 < 3 + SLACK:
        try:
            d.send(b"x")
        except OSError:
            break
        try:
            got += c.sock.recv(4096)
        except socket.timeout:
            pass
        time.sleep(1)
    took = time.monotonic() - t0
    assert got.decode().startswith("426 Transfer too slow (under 1024 bytes/s)"), got
    assert 2.5 <= took <= 3 + SLACK
    d.close()
    c.sock.settimeout(5)
    assert c.cmd("NOOP").startswith("200")
    assert (srv.home / "keep.txt").read_bytes() == b"old content\n"
    assert not [p for p in srv.home.iterdir() if p.name.startswith(".kf-upload")]
    assert srv.wait_log(r'STOR path="/keep.txt" bytes=\d+ ms=\d+ status=too-slow')
    assert srv.wait_log(r"aborted: under data_min_rate 1024 bytes/s over 3 s")


def test_trickle_download_cannot_hold_the_slot(start_server):
    """A client that reads one byte a second: after the kernel's buffers
    fill, the transfer ends with 426 (too slow, or no progress) within
    two windows of data_timeout."""
    srv = start_server(conf_extra={"data_timeout": "3", "data_min_rate": "4096"})
    (srv.home / "big.bin").write_bytes(b"\0" * (64 << 20))
    c = login_raw(srv)
    d = unread_retr(c, "big.bin")
    c.sock.settimeout(0.05)
    t0 = time.monotonic()
    got = b""
    while b"\n" not in got and time.monotonic() - t0 < 6 + SLACK:
        d.recv(1)
        try:
            got += c.sock.recv(4096)
        except socket.timeout:
            pass
        time.sleep(1)
    took = time.monotonic() - t0
    assert got.startswith(b"426 "), got
    assert took <= 6 + SLACK
    d.close()
    c.sock.settimeout(5)
    assert c.cmd("NOOP").startswith("200")
    assert srv.wait_log(r'RETR path="/big.bin" bytes=\d+ ms=\d+ status=(too-slow|timeout)')


def test_min_rate_off(start_server):
    """data_min_rate = 0: a slow but moving upload is not ended (the
    stall timeout still applies to one that stops)."""
    srv = start_server(conf_extra={"data_timeout": "2", "data_min_rate": "0"})
    c = login_raw(srv)
    c.cmd("TYPE I")
    port = pasv_port(c.cmd("PASV"))
    d = socket.create_connection(("127.0.0.1", port))
    c.send("STOR slow.txt\r\n")
    assert c.reply().startswith("150")
    for _ in range(5):  # 4 s at one byte a second: longer than a window
        d.send(b"y")
        time.sleep(0.8)
    d.close()
    assert c.reply().startswith("226")
    assert (srv.home / "slow.txt").read_bytes() == b"yyyyy"
