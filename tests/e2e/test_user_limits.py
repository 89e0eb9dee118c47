"""Per-user limits (issue 18 item 4, docs/PERMISSIONS.md "Per-user limits"):
max_sessions (counted by the listener, two logins at once), login_hours
(a narrow window computed from the current time in the server's own time
zone), umask on created files and directories, and FXP opt-in both ways
with distinct loopback addresses. Root and rootless servers."""

import ftplib
import io
import os
import socket
import stat
import subprocess
import threading
from datetime import datetime, timedelta, timezone

import pytest

from conftest import (BIN, IS_ROOT, MODES, NOBODY, TIMEOUT, RawClient, recv_all,
                      user_add, wait_for)

PW = "Lim1ts-e2e-pass"
OTHER = "127.0.0.2"
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def add(srv, name, *extra, write=True):
    r = user_add(srv.users, name, PW, srv.home, write=write, extra=extra)
    assert r.returncode == 0, r.stderr
    if srv.rootless and IS_ROOT:  # the rewritten file, for the server
        os.chown(srv.users, NOBODY, NOBODY)


def login_raw(srv, name, src=None):
    """USER/PASS on a bare connection; the PASS reply."""
    c = RawClient(srv.port, src=src)
    assert c.reply().startswith("220")
    assert c.cmd(f"USER {name}").startswith("331")
    return c, c.cmd(f"PASS {PW}")


@pytest.fixture(params=MODES)
def mode(request):
    return request.param == "rootless"


# ---------------------------------------------------------------- max_sessions

def test_max_sessions_counts_across_the_server(start_server, mode):
    srv = start_server(mode="config", rootless=mode)
    add(srv, "capped", "--max-sessions", "2")
    a = srv.login("capped", PW)
    b = srv.login("capped", PW)
    c, rep = login_raw(srv, "capped")
    # the third: 421 with the reason, and the connection ends
    assert rep.startswith("421 ") and "max_sessions" in rep, rep
    assert c.closed()
    assert srv.wait_log(r"login refused: from=127\.0\.0\.1 reason=max-sessions "
                        r'user="capped"')
    # the others are unharmed, and another user is not counted
    assert a.pwd() == "/" and b.pwd() == "/"
    srv.login().quit()
    # one ends: its place comes free (the listener reaps it)
    a.quit()

    def third():
        c2, r2 = login_raw(srv, "capped")
        c2.close()
        return r2.startswith("230")
    assert wait_for(third, timeout=5)
    b.quit()


def test_max_sessions_two_logins_at_once(start_server, mode):
    """Eight logins of a max_sessions=1 user released at the same moment:
    exactly one gets 230 (the listener reserves before the 230)."""
    srv = start_server(mode="config", rootless=mode)
    add(srv, "once", "--max-sessions", "1")
    for round_ in range(3):
        n = 8
        clients = []
        for _ in range(n):
            c = RawClient(srv.port)
            assert c.reply().startswith("220")
            assert c.cmd("USER once").startswith("331")
            clients.append(c)
        barrier = threading.Barrier(n)
        replies = [None] * n

        def go(i):
            barrier.wait()
            replies[i] = clients[i].cmd(f"PASS {PW}")
        threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT * 2)
        ok = [r for r in replies if r and r.startswith("230")]
        refused = [r for r in replies if r and r.startswith("421")]
        assert len(ok) == 1 and len(refused) == n - 1, (round_, replies)
        for c in clients:
            c.close()
        # all gone before the next round: the place is free again
        assert wait_for(lambda: login_raw(srv, "once")[1].startswith("230"),
                        timeout=5)
        wait_for(lambda: srv.log().count('disconnect: user="once"') >=
                 (round_ + 1) * 2, timeout=5)


def test_max_sessions_rein_gives_the_place_back(start_server):
    srv = start_server(mode="config", rootless=not IS_ROOT)
    add(srv, "solo", "--max-sessions", "1")
    a, rep = login_raw(srv, "solo")
    assert rep.startswith("230")
    assert a.cmd("REIN").startswith("220")
    # a's place is free: b logs in, then a cannot
    b, rep = login_raw(srv, "solo")
    assert rep.startswith("230"), rep
    assert a.cmd("USER solo").startswith("331")
    rep = a.cmd(f"PASS {PW}")
    assert rep.startswith("421 "), rep
    b.close()
    a.close()


def test_anon_max_sessions(start_server, mode):
    srv = start_server(mode="config", rootless=mode,
                       conf_extra={"anon_max_sessions": "1"})
    a = srv.anon_login()
    with pytest.raises(ftplib.error_temp, match=r"^421 .*max_sessions"):
        srv.anon_login()
    # a virtual user is not counted with anonymous
    srv.login().quit()
    a.quit()


# ---------------------------------------------------------------- login_hours

def window(now, start_min, end_min):
    """'Day HH:MM-HH:MM' from now+start_min to now+end_min (may wrap)."""
    s = now + timedelta(minutes=start_min)
    e = now + timedelta(minutes=end_min)
    return f"{DAYS[s.weekday()]} {s:%H:%M}-{e:%H:%M}"


# TZ for the server: a fixed offset far from UTC (POSIX form, no file), and
# a zone file read at start (before any sandbox)
ZONES = [("KFT-11", timezone(timedelta(hours=11)))]
if os.path.exists("/usr/share/zoneinfo/America/Santiago"):
    from zoneinfo import ZoneInfo
    ZONES.append(("America/Santiago", ZoneInfo("America/Santiago")))


@pytest.mark.parametrize("tz", ZONES, ids=[z[0] for z in ZONES])
def test_login_hours_window(start_server, mode, tz, monkeypatch):
    """Windows computed from now in the server's zone: one that holds now
    (+-10 minutes) lets in, one two hours later and one on another day
    refuse with 530 and a reason. A server that ignored its zone (UTC)
    would refuse the first: the offsets are hours away from UTC."""
    monkeypatch.setenv("TZ", tz[0])
    srv = start_server(mode="config", rootless=mode)
    now = datetime.now(tz[1])
    add(srv, "inside", "--login-hours", window(now, -10, 10))
    add(srv, "later", "--login-hours", window(now, 120, 180))
    add(srv, "otherday", "--login-hours",
        f"{DAYS[(now.weekday() + 1) % 7]},{DAYS[(now.weekday() + 3) % 7]}")
    # several windows, now in the second one, with ',' given to the CLI
    add(srv, "second", "--login-hours",
        f"{window(now, 200, 230)},{window(now, -5, 5)}")
    for name in ("inside", "second"):
        srv.login(name, PW).quit()
    for name in ("later", "otherday"):
        c, rep = login_raw(srv, name)
        assert rep.startswith("530 ") and "login_hours" in rep, rep
        assert c.closed()
        assert srv.wait_log(rf"login refused: from=127\.0\.0\.1 "
                            rf'reason=login-hours user="{name}"')
    # a refusal is no failed login: no ban count, no fail2ban line
    assert "login failed" not in srv.log()


def test_login_hours_wrap_past_midnight(start_server):
    """A window from 22 hours ago to 1 hour ahead (crossing midnight,
    unless now is between 22:00 and 23:00) lets in; one from 1 to 23 hours
    ahead does not."""
    srv = start_server(mode="config", rootless=not IS_ROOT)
    now = datetime.now().astimezone()
    # the server has the test's own zone (TZ unset: /etc/localtime)
    s, e = now + timedelta(minutes=-60 * 22), now + timedelta(minutes=60)
    add(srv, "wrap", "--login-hours", f"{s:%H:%M}-{e:%H:%M}")
    s, e = now + timedelta(minutes=62), now + timedelta(minutes=60 * 23 - 2)
    add(srv, "nowrap", "--login-hours", f"{s:%H:%M}-{e:%H:%M}")
    srv.login("wrap", PW).quit()
    c, rep = login_raw(srv, "nowrap")
    assert rep.startswith("530 "), rep


# ---------------------------------------------------------------- umask

def test_umask_on_files_and_directories(start_server, mode):
    srv = start_server(mode="config", rootless=mode)
    add(srv, "masked", "--umask", "027")
    f = srv.login("masked", PW)
    f.storbinary("STOR m.txt", io.BytesIO(b"x"))
    f.mkd("mdir")
    # SITE UMASK cannot take bits away from the user's umask (a floor)
    assert "0027" in f.sendcmd("SITE UMASK 000")
    f.storbinary("STOR m2.txt", io.BytesIO(b"x"))
    assert "0037" in f.sendcmd("SITE UMASK 010")
    f.mkd("mdir2")
    f.quit()
    mode_of = lambda p: stat.S_IMODE(os.stat(srv.home / p).st_mode)
    assert mode_of("m.txt") == 0o640
    assert mode_of("mdir") == 0o750
    assert mode_of("m2.txt") == 0o640
    assert mode_of("mdir2") == 0o740
    # alice has no umask=: the server's (022)
    f = srv.login()
    f.storbinary("STOR a.txt", io.BytesIO(b"x"))
    f.mkd("adir")
    f.quit()
    assert mode_of("a.txt") == 0o644
    assert mode_of("adir") == 0o755
    # `user set --umask none` gives the server's back
    r = subprocess.run([BIN, "user", "-f", str(srv.users), "set", "masked",
                        "--umask", "none"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    if srv.rootless and IS_ROOT:
        os.chown(srv.users, NOBODY, NOBODY)
    f = srv.login("masked", PW)
    f.storbinary("STOR m3.txt", io.BytesIO(b"x"))
    f.quit()
    assert mode_of("m3.txt") == 0o644


# ---------------------------------------------------------------- FXP

def listen_on(addr):
    s = socket.socket()
    s.bind((addr, 0))
    s.listen(1)
    s.settimeout(TIMEOUT)
    return s


def port_arg(addr, port):
    return ",".join(addr.split(".") + [str(port >> 8), str(port & 255)])


def test_fxp_port_to_another_address(start_server, mode):
    srv = start_server(mode="config", rootless=mode)
    add(srv, "nofxp")
    add(srv, "fxper", "--fxp")
    third = listen_on(OTHER)
    p = third.getsockname()[1]
    # without fxp: PORT and EPRT to 127.0.0.2 refused
    f = srv.login("nofxp", PW)
    with pytest.raises(ftplib.error_perm, match=r"^501 .*your own address"):
        f.sendcmd(f"PORT {port_arg(OTHER, p)}")
    with pytest.raises(ftplib.error_perm, match=r"^501 "):
        f.sendcmd(f"EPRT |1|{OTHER}|{p}|")
    f.quit()
    # with fxp: the file goes to the third host
    f = srv.login("fxper", PW)
    assert f.sendcmd(f"PORT {port_arg(OTHER, p)}").startswith("200")
    f.putcmd("RETR hello.txt")
    assert f.getresp().startswith("150")
    conn, peer = third.accept()
    data = recv_all(conn)
    conn.close()
    assert data == (srv.home / "hello.txt").read_bytes()
    assert f.getresp().startswith("226")
    assert f.sendcmd(f"EPRT |1|{OTHER}|{p}|").startswith("200")
    # never a port below 1024, fxp or not
    for cmd in (f"PORT {port_arg(OTHER, 80)}", f"EPRT |1|{OTHER}|21|",
                f"PORT {port_arg('127.0.0.1', 1023)}"):
        with pytest.raises(ftplib.error_perm, match=r"^501 .*1024"):
            f.sendcmd(cmd)
    f.quit()
    third.close()


def pasv_from(srv, name, src):
    """PASV as name, then a data connection from src; (control, data
    socket, whether the server kept it)."""
    f = srv.login(name, PW)
    host, port = ftplib.parse227(f.sendcmd("PASV"))
    f.putcmd("RETR hello.txt")
    d = socket.socket()
    d.settimeout(TIMEOUT)
    d.bind((src, 0))
    d.connect((host, port))
    return f, d


def test_fxp_pasv_from_another_address(start_server, mode):
    srv = start_server(mode="config", rootless=mode,
                       conf_extra={"data_timeout": "3"})
    add(srv, "nofxp")
    add(srv, "fxper", "--fxp")
    # without fxp: the connection from 127.0.0.2 is closed unread
    f, d = pasv_from(srv, "nofxp", OTHER)
    assert d.recv(65536) == b""
    d.close()
    assert srv.wait_log(r"data connection from foreign address 127\.0\.0\.2 "
                        r"refused")
    with pytest.raises(ftplib.error_temp, match=r"^425 "):
        f.getresp()  # 150 first, then 425 after data_timeout
        f.getresp()
    f.close()
    # with fxp: the file goes to 127.0.0.2
    f, d = pasv_from(srv, "fxper", OTHER)
    assert f.getresp().startswith("150")
    data = recv_all(d)
    d.close()
    assert data == (srv.home / "hello.txt").read_bytes()
    assert f.getresp().startswith("226")
    assert srv.wait_log(r"data connection from another address 127\.0\.0\.2 "
                        r"accepted \(fxp\)")
    f.quit()


# ---------------------------------------------------------------- the command

def test_user_set_limits_and_refusals(tmp_path):
    """keepftpd user set: the four limits written, listed, cleared; bad
    values refused with a reason and the file left as it was."""
    uf = tmp_path / "users"
    home = tmp_path / "h"
    home.mkdir()
    r = user_add(uf, "lim", PW, home)
    assert r.returncode == 0, r.stderr

    def user(*args):
        return subprocess.run([BIN, "user", "-f", str(uf)] + list(args),
                              capture_output=True, text=True, timeout=TIMEOUT)
    r = user("set", "lim", "--max-sessions", "3", "--umask", "027", "--fxp",
             "--login-hours", "Mon-Fri 08:00-18:00,Sat 09:00-12:00")
    assert r.returncode == 0, r.stderr
    flags = uf.read_text().strip().split(":", 5)[5]
    assert flags == ("write,fxp,max_sessions=3,umask=027,"
                     "login_hours=Mon-Fri 08:00-18:00;Sat 09:00-12:00")
    assert user("list").stdout.strip().endswith(flags)
    before = uf.read_text()
    for args, why in ((["--umask", "8"], "octal"),
                      (["--umask", "0777x"], "octal"),
                      (["--max-sessions", "10001"], "0..10000"),
                      (["--login-hours", "Mon 25:00-26:00"], "bad hours"),
                      (["--login-hours", "Mon 08:00-08:00"], "empty window"),
                      (["--login-hours", "Someday"], "bad day"),
                      (["--login-hours", "Mon\n08:00-09:00"], "")):
        r = user("set", "lim", *args)
        assert r.returncode != 0, args
        assert why in r.stderr, (args, r.stderr)
        assert uf.read_text() == before
    r = user("set", "lim", "--max-sessions", "0", "--umask", "none",
             "--login-hours", "none", "--no-fxp")
    assert r.returncode == 0, r.stderr
    assert uf.read_text().strip().split(":", 5)[5] == "write,max_sessions=0"


def proxied_session(srv, name, client):
    """A control connection through a 'balancer' (127.0.0.1, proxy_from)
    that says, in a PROXY v1 header, the client is `client`; logged in."""
    c = socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT)
    c.sendall(f"PROXY TCP4 {client} 127.0.0.1 40000 {srv.port}\r\n".encode())
    f = ftplib.FTP(timeout=TIMEOUT)
    f.sock = c
    f.af = socket.AF_INET
    f.file = c.makefile("r", encoding="latin-1")
    f.welcome = f.getresp()
    f.login(name, PW)
    return f


def test_fxp_pasv_through_pasv_proxy(start_server):
    """pasv_proxy: a passive connection from the balancer whose header
    names another client than the session's is refused without fxp,
    taken with it."""
    srv = start_server(mode="config", rootless=not IS_ROOT,
                       listen_flags=" proxy",
                       conf_extra={"proxy_from": "127.0.0.1",
                                   "pasv_proxy": "yes", "data_timeout": "3"})
    add(srv, "nofxp")
    add(srv, "fxper", "--fxp")
    for name, ok in (("nofxp", False), ("fxper", True)):
        f = proxied_session(srv, name, "127.0.0.5")
        _, port = ftplib.parse227(f.sendcmd("PASV"))
        f.putcmd("RETR hello.txt")
        d = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        d.sendall(f"PROXY TCP4 127.0.0.9 127.0.0.1 40001 {port}\r\n".encode())
        data = recv_all(d)
        d.close()
        assert f.getresp().startswith("150")
        if ok:
            assert data == (srv.home / "hello.txt").read_bytes()
            assert f.getresp().startswith("226")
            assert srv.wait_log(r"data connection from another address "
                                r"127\.0\.0\.9 \(via proxy 127\.0\.0\.1\) "
                                r"accepted \(fxp\)")
        else:
            assert data == b""
            assert srv.wait_log(r"data connection from foreign address "
                                r"127\.0\.0\.9 \(via proxy 127\.0\.0\.1\) "
                                r"refused")
            with pytest.raises(ftplib.error_temp, match=r"^425 "):
                f.getresp()
        f.close()
