"""Connection policy in the listener and login abuse, end to end.

Per-IP and global session limits with 200 concurrent connections from
127.0.0.1 and 127.0.0.2; new connections per address per window
(max_conn_rate); cross-session bans after failed logins and their
expiry; `keepftpd ban list|add|clear` over the admin socket, and who
may use it; the report channel and the admin socket out of the
workers' reach; per-user allow_from / deny_from; empty passwords; the
fail2ban filter of docs/SECURITY.md against real log lines.

Every socket has a timeout and every wait a deadline: the tests stop by
themselves.
"""
import ftplib
import os
import re
import socket
import stat
import subprocess
import time

import pytest

from conftest import (BIN, IS_ROOT, PASSWORD, REPO, TIMEOUT, USER, RawClient,
                      descendants_named, user_add, wait_for)

OTHER = "127.0.0.2"
HOLD = 200  # concurrent connections in the limits test


def greet(port, src=None, timeout=TIMEOUT):
    """Connects (from src) and returns (socket, first reply line)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if src:
        s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    data = b""
    while b"\r\n" not in data:
        chunk = s.recv(512)
        if not chunk:
            break
        data += chunk
    return s, data.decode("latin-1").split("\r\n")[0]


def first_line(port, src=None):
    s, line = greet(port, src)
    s.close()
    return line


def fail_login(srv, src=None, user="nobody-here", password="wrong"):
    f = ftplib.FTP(timeout=TIMEOUT, source_address=(src, 0) if src else None)
    f.connect("127.0.0.1", srv.port)
    with pytest.raises(ftplib.error_perm, match="^530"):
        f.login(user, password)
    f.close()


def login_from(srv, src, user, password):
    f = ftplib.FTP(timeout=TIMEOUT, source_address=(src, 0))
    f.connect("127.0.0.1", srv.port)
    return f, f.login(user, password)


# ---------------------------------------------------------------------------
# session limits: 200 concurrent connections from two addresses

def test_per_ip_and_max_clients_200_connections(start_server):
    # max_prelogin above max_clients: this test is about max_clients only
    srv = start_server(conf_extra={"max_clients": "150", "max_per_ip": "80",
                                   "login_timeout": "120", "max_prelogin": "1000"})
    held, refused = [], {"127.0.0.1": [], OTHER: []}
    deadline = time.monotonic() + 120
    try:
        for src in ("127.0.0.1", OTHER):
            for _ in range(HOLD // 2):
                assert time.monotonic() < deadline, "connections too slow"
                s, line = greet(srv.port, src)
                if line.startswith("220"):
                    held.append(s)
                else:
                    refused[src].append(line)
                    s.close()
        # 80 from 127.0.0.1 (per-IP limit), then 70 from 127.0.0.2 (150 in all)
        assert len(held) == 150
        assert len(refused["127.0.0.1"]) == 20
        assert all(l == "421 Too many connections from your address."
                   for l in refused["127.0.0.1"])
        assert len(refused[OTHER]) == 30
        assert all(l == "421 Too many connections; try again later."
                   for l in refused[OTHER])
        # every held session still answers
        for s in held[::15]:
            s.sendall(b"NOOP\r\n")
            assert s.recv(512).startswith(b"200")
    finally:
        for s in held:
            s.close()
    log = srv.log()
    assert log.count("refused 127.0.0.1: Too many connections from your address.") == 20
    assert log.count(f"refused {OTHER}: Too many connections; try again later.") == 30
    # all the slots come back
    assert wait_for(lambda: first_line(srv.port).startswith("220") and
                    first_line(srv.port, OTHER).startswith("220") and
                    len(descendants_named(srv.pid, "kf-monitor")) == 0, timeout=30)


# ---------------------------------------------------------------------------
# max_conn_rate

def test_connection_rate_per_address(start_server):
    srv = start_server(conf_extra={"max_conn_rate": "5", "conn_rate_window": "2"})
    t0 = time.monotonic()
    lines = [first_line(srv.port) for _ in range(7)]
    assert time.monotonic() - t0 < 2, "too slow to test a 2 s window"
    assert all(l.startswith("220") for l in lines[:5])
    assert lines[5:] == ["421 Too many connections from your address; slow down."] * 2
    # another address has its own count
    assert first_line(srv.port, OTHER).startswith("220")
    assert srv.wait_log(r"warning: refused 127\.0\.0\.1: Too many connections "
                        r"from your address; slow down\.")
    # the next window lets it in again
    time.sleep(max(0, t0 + 2.2 - time.monotonic()))
    assert first_line(srv.port).startswith("220")


def test_rate_off_by_default(start_server):
    srv = start_server()
    assert all(first_line(srv.port).startswith("220") for _ in range(30))


# ---------------------------------------------------------------------------
# bans after failed logins, across sessions

def test_ban_after_failures_across_sessions_and_expiry(start_server):
    srv = start_server(conf_extra={"ban_failures": "3", "ban_window": "60",
                                   "ban_seconds": "3", "max_login_failures": "2"})
    # two failures in one session (which then ends), one in another
    c = srv.raw()
    assert c.reply().startswith("220")
    for _ in range(2):
        assert c.cmd("USER mallory").startswith("331")
        assert c.cmd("PASS guess").startswith("530")
    assert c.closed()
    c.close()
    assert first_line(srv.port).startswith("220")
    fail_login(srv)
    assert srv.wait_log(r"warning: ban: 127\.0\.0\.1 banned for 3 s "
                        r"\(3 failed logins within 60 s\)")
    banned_at = time.monotonic()
    assert first_line(srv.port) == "421 Your address is banned; try again later."
    assert srv.wait_log(r"refused 127\.0\.0\.1: Your address is banned")
    # no process was started for the refused connection: no fourth
    # session, and the third one's monitor (which reported the failure
    # that made the ban) ends without a successor
    assert "[s4 " not in srv.log()
    assert wait_for(lambda: descendants_named(srv.pid, "kf-monitor") == [])
    assert "[s4 " not in srv.log()
    # another address is not banned, and can log in
    f, resp = login_from(srv, OTHER, USER, PASSWORD)
    assert resp.startswith("230")
    f.quit()
    assert srv.ban("list").stdout.split()[0] == "127.0.0.1"
    # the ban ends by itself, and says so
    assert srv.wait_log(r"info: ban: 127\.0\.0\.1 expired", timeout=8)
    assert time.monotonic() - banned_at > 2
    f = srv.login()
    f.quit()


def test_failures_outside_the_window_do_not_ban(start_server):
    srv = start_server(conf_extra={"ban_failures": "2", "ban_window": "1",
                                   "ban_seconds": "60"})
    fail_login(srv)
    time.sleep(1.2)
    fail_login(srv)
    assert first_line(srv.port).startswith("220")
    fail_login(srv)
    assert srv.wait_log(r"ban: 127\.0\.0\.1 banned for 60 s")
    assert first_line(srv.port).startswith("421")


def test_bans_off_by_default(start_server):
    srv = start_server(conf_extra={"max_login_failures": "1"})
    for _ in range(6):
        fail_login(srv)
    assert first_line(srv.port).startswith("220")
    assert "ban:" not in srv.log()


# ---------------------------------------------------------------------------
# keepftpd ban

def test_ban_command_list_add_clear(srv):
    st = os.stat(srv.admin_socket)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    r = srv.ban("list")
    assert r.returncode == 0 and r.stdout == ""
    r = srv.ban("add", OTHER, "30")
    assert r.returncode == 0 and r.stdout.strip() == f"{OTHER} banned for 30 s"
    r = srv.ban("add", "2001:DB8::1")
    assert r.returncode == 0 and "2001:db8::1 banned for 3600 s" in r.stdout
    assert first_line(srv.port, OTHER) == "421 Your address is banned; try again later."
    assert first_line(srv.port).startswith("220")
    rows = dict(line.split() for line in srv.ban("list").stdout.splitlines())
    assert set(rows) == {OTHER, "2001:db8::1"}
    assert 28 <= int(rows[OTHER]) <= 30 and 3590 <= int(rows["2001:db8::1"]) <= 3600
    r = srv.ban("clear", OTHER)
    assert r.returncode == 0 and "ban lifted" in r.stdout
    assert first_line(srv.port, OTHER).startswith("220")
    r = srv.ban("clear", OTHER)
    assert r.returncode == 1 and "is not banned" in r.stderr
    # the socket's path can also come from the configuration file
    r = subprocess.run([BIN, "ban", "-c", str(srv.conf), "list"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0 and r.stdout.split()[0] == "2001:db8::1"
    assert len(r.stdout.split()) == 2
    r = srv.ban("clear", "all")
    assert r.returncode == 0 and r.stdout.strip() == "1 ban(s) lifted"
    assert srv.ban("list").stdout == ""
    log = srv.log()
    for line in (f"ban: {OTHER} banned for 30 s by admin",
                 "ban: 2001:db8::1 banned for 3600 s by admin",
                 f"ban: {OTHER} lifted by admin", "ban: all 1 ban(s) lifted by admin"):
        assert line in log


@pytest.mark.parametrize("args, rc", [
    (("add", "10.0.0.0/8"), 1),          # a prefix is not an address
    (("add", "host.example"), 1),
    (("add", "1.2.3.4", "0"), 2),
    (("add", "1.2.3.4", "31536001"), 2),
    (("add", "1.2.3.4", "9x"), 2),
    (("clear", ""), 2),
    (("clear", "1.2.3"), 1),
    (("drop", "1.2.3.4"), 2),
    (("list", "extra"), 2),
    ((), 2),
])
def test_ban_command_refuses_bad_requests(rsrv, args, rc):
    r = rsrv.ban(*args)
    assert r.returncode == rc, r.stderr
    assert rsrv.ban("list").stdout == ""
    assert first_line(rsrv.port).startswith("220")


def test_admin_socket_raw_requests_are_checked(rsrv):
    """Hand-made frames: trailing bytes, unknown types, long strings."""
    def ask(frame):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(TIMEOUT)
        s.connect(str(rsrv.admin_socket))
        s.send(frame)
        out = s.recv(8192)
        s.close()
        return out

    def frame(t, payload=b""):
        return t.to_bytes(4, "big") + len(payload).to_bytes(4, "big") + payload

    def s32(b):
        return len(b).to_bytes(4, "big") + b

    done = 84
    for bad in (frame(80, b"\0"), frame(99), frame(81, s32(b"1.2.3.4")),
                frame(81, s32(b"1" * 65) + bytes(4)),
                frame(81, s32(b"1.2.3.4\0") + bytes(4)),
                frame(82, s32(b"1.2.3.4") + b"x"), b"\0\0\0\x50\0\0\0\x09"):
        out = ask(bad)
        assert int.from_bytes(out[:4], "big") == done
        assert int.from_bytes(out[8:12], "big") == 1, out
    out = ask(frame(81, s32(b"192.0.2.7") + (5).to_bytes(4, "big")))
    assert int.from_bytes(out[8:12], "big") == 0
    assert rsrv.ban("list").stdout.split()[0] == "192.0.2.7"


@pytest.mark.skipif(not IS_ROOT, reason="needs root to act as another user")
def test_admin_socket_not_for_other_users(start_server):
    srv = start_server(mode="config", rootless=False)
    r = srv.ban("add", OTHER, as_nobody=True)
    assert r.returncode == 1 and "Permission denied" in r.stderr
    assert first_line(srv.port, OTHER).startswith("220")


@pytest.mark.skipif(not IS_ROOT, reason="needs root to act as another user")
def test_admin_peer_uid_checked_even_when_the_mode_is_opened(start_server):
    """The file mode is the first gate; SO_PEERCRED is the second."""
    srv = start_server(mode="config", rootless=False)
    os.chmod(srv.admin_socket.parent, 0o755)
    os.chmod(srv.admin_socket, 0o666)
    r = srv.ban("add", OTHER, as_nobody=True)
    # closed unanswered: no answer, or a reset while sending
    assert r.returncode == 1 and "keepftpd ban: " in r.stderr
    assert srv.wait_log(r"admin: refused uid 65534 \(pid \d+\)")
    assert first_line(srv.port, OTHER).startswith("220")
    assert srv.ban("list").stdout == ""


def test_admin_socket_gone_after_stop(start_server):
    srv = start_server()
    assert os.path.exists(srv.admin_socket)
    assert srv.stop() == 0
    assert not os.path.exists(srv.admin_socket)


def _socket_inodes(pid):
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]", target)
        if m:
            out.add(int(m.group(1)))
    return out


def _admin_inode(path):
    for line in open("/proc/net/unix").read().splitlines()[1:]:
        f = line.split()
        if len(f) >= 8 and f[7] == str(path):
            return int(f[6])
    return None


def test_workers_hold_neither_report_channel_nor_admin_socket(srv):
    """Monitors share the report channel's sending end and the spawners'
    request channels; no worker has any of them, and no session process
    has the admin socket."""
    a = srv.raw()
    assert a.reply().startswith("220")
    b = srv.login()
    try:
        mons = wait_for(lambda: (lambda m: m if len(m) == 2 else None)(
            descendants_named(srv.pid, "kf-monitor")))
        assert mons
        shared = _socket_inodes(mons[0]) & _socket_inodes(mons[1])
        spawners = (descendants_named(srv.pid, "kf-spawn-pre") +
                    descendants_named(srv.pid, "kf-spawn-post"))
        assert len(spawners) == 2
        assert len(shared) == 1 + len(spawners), \
            "the report channel and one request channel per spawner, only they"
        admin = _admin_inode(srv.admin_socket)
        assert admin is not None and admin in _socket_inodes(srv.pid)
        workers = (descendants_named(srv.pid, "kf-prelogin") +
                   descendants_named(srv.pid, "kf-session"))
        assert len(workers) == 2
        for w in workers:
            inodes = _socket_inodes(w)
            assert not inodes & shared
            assert admin not in inodes
        for m in mons:
            assert admin not in _socket_inodes(m)
    finally:
        a.close()
        b.close()


# ---------------------------------------------------------------------------
# per-user allow_from / deny_from

def test_user_allow_and_deny_from(start_server):
    srv = start_server(conf_extra={"ban_failures": "0"})
    for name, extra in (("carol", ["--allow-from", f"{OTHER},10.0.0.0/8"]),
                        ("dave", ["--deny-from", "127.0.0.1/32;::1"])):
        r = user_add(srv.users, name, PASSWORD, srv.home, extra=extra)
        assert r.returncode == 0, r.stderr
    text = srv.users.read_text()
    assert f"carol:" in text and f"allow_from={OTHER};10.0.0.0/8" in text
    assert "deny_from=127.0.0.1/32;::1" in text
    # refused from the wrong address with the right password: a plain 530
    for user in ("carol", "dave"):
        f = ftplib.FTP(timeout=TIMEOUT)
        f.connect("127.0.0.1", srv.port)
        with pytest.raises(ftplib.error_perm, match="^530 Login incorrect"):
            f.login(user, PASSWORD)
        f.close()
        f, resp = login_from(srv, OTHER, user, PASSWORD)
        assert resp.startswith("230")
        f.quit()
    log = srv.log()
    assert re.search(r"login failed: from=127\.0\.0\.1 failures=1 "
                     r"reason=user-allow-from user=\"carol\"$", log, re.M)
    assert re.search(r"login failed: from=127\.0\.0\.1 failures=1 "
                     r"reason=user-deny-from user=\"dave\"$", log, re.M)
    assert 'login ok: user="carol"' in log and 'login ok: user="dave"' in log


def test_user_address_refusal_counts_toward_a_ban(start_server):
    srv = start_server(conf_extra={"ban_failures": "2", "ban_seconds": "60"})
    r = user_add(srv.users, "erin", PASSWORD, srv.home,
                 extra=["--allow-from", "10.0.0.1"])
    assert r.returncode == 0, r.stderr
    for _ in range(2):
        fail_login(srv, user="erin", password=PASSWORD)
    assert srv.wait_log(r"ban: 127\.0\.0\.1 banned for 60 s")
    assert first_line(srv.port).startswith("421")


# ---------------------------------------------------------------------------
# empty passwords

def test_empty_password_refused(srv):
    r = user_add(srv.users, "frank", "", srv.home)
    # the CLI itself refuses an empty password, or the login does
    if r.returncode == 0:
        fail_login(srv, user="frank", password="")
    for cmd in ("PASS", "PASS "):
        c = srv.raw()
        assert c.reply().startswith("220")
        assert c.cmd(f"USER {USER}").startswith("331")
        assert c.cmd(cmd)[:1] == "5"
        assert c.cmd("PWD")[:3] == "530"
        c.close()
    assert "login ok" not in srv.log()


# ---------------------------------------------------------------------------
# the failed-login line and the fail2ban filter in docs/SECURITY.md

def fail2ban_filter():
    """failregex of the filter in docs/SECURITY.md, as a Python regex, with
    fail2ban's prefix (%(__prefix_line)s) reduced to what keepftpd
    writes once the date is taken off."""
    doc = (REPO / "docs" / "SECURITY.md").read_text()
    m = re.search(r"^failregex = (.+)$", doc, re.M)
    assert m, "no failregex in docs/SECURITY.md"
    rx = m.group(1)
    rx = rx.replace("%(__prefix_line)s", r"\s*(?:\S+ )?keepftpd\[\d+\]:\s+")
    rx = rx.replace("<HOST>", r"(?P<host>\S+)").replace("<ADDR>", r"(?P<host>\S+)")
    return re.compile(rx)


def test_failed_login_line_matches_fail2ban_filter(start_server):
    srv = start_server(conf_extra={"max_login_failures": "5"})
    rx = fail2ban_filter()
    # a user name that tries to plant another address in the line
    c = srv.raw()
    assert c.reply().startswith("220")
    forged = "x] login failed: from=192.0.2.66 failures=1 reason=bad-credentials user=y"
    assert c.cmd(f"USER {forged}")[:1] in "35"
    c.cmd("PASS nope")
    assert c.cmd("USER alice").startswith("331")
    assert c.cmd("PASS wrong").startswith("530")
    c.close()
    fail_login(srv, src=OTHER)
    f = srv.login()
    f.quit()
    assert srv.wait_log(r"login failed: from=127\.0\.0\.2")
    real = re.compile(r"^\S+ keepftpd\[\d+\]: warning: \[s\d+ [^\]]+\] "
                      r"login failed: from=(\S+) ")
    hosts, want = [], []
    for line in srv.log().splitlines():
        r = real.match(line)
        if r:
            want.append(r.group(1))
        # fail2ban takes the date off before it applies failregex
        m = rx.search(line.split(" ", 1)[1] if " " in line else line)
        if m:
            assert r, f"the filter matched another line: {line}"
            hosts.append(m.group("host"))
    assert hosts == want
    assert want.count("127.0.0.1") >= 1 and want.count(OTHER) == 1
    assert sorted(hosts) == ["127.0.0.1", "127.0.0.1", OTHER]
    assert "192.0.2.66" not in hosts
