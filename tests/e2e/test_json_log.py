"""log_file, log_format = json, xferlog_file, SIGUSR1 rotation and the
audit events (issue 16, items 1 and 2).

- A hostile session (control bytes, invalid UTF-8, quotes, backslashes,
  a 64 KiB line) and every line of
  log_file is one JSON object (json.loads), each client string back as
  the value of its own field, and every line of one session carries
  the same session id: monitor, worker and (FTPS) relay lines.
- SIGUSR1: the listener reopens the files; a long-lived session's later
  lines and a new session's land in the new file, created 0640; SIGUSR1
  sent to every process of the server (what `systemctl kill -s USR1`
  does) cuts nothing.
- xferlog: completed STOR and RETR (c, size, user, r; anonymous a), an
  ABOR'd RETR (i, the bytes moved), a name with a space and a byte that
  is not UTF-8 written as \\ooo.
- Audit: DELE, RMD, MKD, RNFR/RNTO (both names), SITE CHMOD and MFMT,
  each with user, session and result, ok and failed.
"""

import codecs
import ftplib
import io
import json
import os
import shutil
import signal
import stat
import time

import pytest

from conftest import (IS_ROOT, MODES, NOBODY, RawClient, build_server,
                      children, make_base, wait_for)
from tls_helpers import certs, tls_conf, tls_login  # noqa: F401

codecs.register_error(
    "kfbyte", lambda e: ("".join(chr(b) for b in e.object[e.start:e.end]), e.end))


def as_logged(b):
    """A client's bytes as the JSON log gives them back: valid UTF-8 as
    itself, each other byte as the character U+00XX."""
    return b.decode("utf-8", errors="kfbyte")


@pytest.fixture
def logsrv():
    """Factory: a config-mode server with log_file (and xferlog_file)."""
    started = []

    def start(fmt="json", rootless=False, extra=None):
        d = make_base()
        d.chmod(0o755)
        if rootless and IS_ROOT:
            os.chown(d, NOBODY, NOBODY)
        conf = {"log_file": str(d / "keepftpd.log"), "log_format": fmt,
                "xferlog_file": str(d / "xferlog")}
        conf.update(extra or {})
        srv = build_server(mode="config", rootless=rootless, conf_extra=conf)
        srv.logdir = d
        srv.log_path = d / "keepftpd.log"
        srv.xfer_path = d / "xferlog"
        srv.log = lambda: (srv.log_path.read_text(errors="replace")
                           if srv.log_path.exists() else "")
        started.append(srv)
        return srv.start()

    yield start
    for srv in started:
        rc = srv.stop()
        print(f"--- server exit {rc}; stderr:\n{srv.stderr_path.read_text()[-3000:]}"
              f"\nlog_file:\n{srv.log()[-6000:]}")
        shutil.rmtree(srv.base, ignore_errors=True)
        shutil.rmtree(srv.logdir, ignore_errors=True)


def objects(path):
    """Every line of path, each parsed as JSON (strict UTF-8 first)."""
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    out = []
    for line in raw.split(b"\n")[:-1]:
        line.decode("utf-8")            # no raw invalid UTF-8 in the file
        assert b"\r" not in line and len(line) <= 64 * 1024
        obj = json.loads(line)
        assert isinstance(obj, dict), line
        assert set(obj) >= {"time", "level", "event", "msg"}, line
        assert obj["time"][10] == "T" and obj["time"].endswith("Z")
        assert len(obj["time"]) == len("2026-01-01T00:00:00.000Z"), line
        out.append(obj)
    return out


def wait_objects(srv, pred, timeout=5):
    got = []

    def check():
        got[:] = [o for o in objects(srv.log_path) if pred(o)]
        return got
    wait_for(check, timeout=timeout)
    return got


NAMES = [
    b'q"uote\\back\\slash" user="root',
    b"ctl\x1b[31m\x07\x7f\x01\ttab",
    b"bad\xfe\xc3(\xed\xa0\x80\xc0\xaf\xe2\x82",
    "\u00fc-\u65e5\u672c-\u2028-\u202e.txt".encode(),
]
USERS = [b'u" from="1.2.3.4" failures=0', b"bad\xfe\x80\x1b]0;t\x07\\"]


def hostile(srv):
    c = RawClient(srv.port)
    assert c.reply().startswith("220")
    c.send(b"NOOP " + b"A" * (64 * 1024) + b"\r\n")   # 64 KiB line
    assert c.reply()[:1] == "5"
    c.send(b"\x00\x01\xff\xfe\"\\\r\n")
    assert c.reply()[:1] == "5"
    c.close()
    for u in USERS:
        c = RawClient(srv.port)
        assert c.reply().startswith("220")
        c.send(b"USER " + u + b"\r\n")
        assert c.reply()[:1] in "35"
        c.send(b"PASS nope\r\n")
        assert c.reply().startswith("530")
        c.close()
    f = ftplib.FTP(timeout=10, encoding="latin-1")
    f.connect("127.0.0.1", srv.port)
    f.login(srv.user, srv.password)
    stored = []
    for i, name in enumerate(NAMES):
        try:
            f.storbinary("STOR " + name.decode("latin-1"), io.BytesIO(b"x" * (i + 1)))
            stored.append(name)
        except ftplib.error_perm:
            pass
    f.quit()
    return stored


@pytest.mark.parametrize("mode", MODES)
def test_hostile_session_every_line_is_json(logsrv, mode):
    srv = logsrv(rootless=mode == "rootless")
    stored = hostile(srv)
    assert len(stored) >= 4
    done = wait_objects(srv, lambda o: o["event"] == "disconnect" and
                        o.get("user") == srv.user)
    assert done
    objs = objects(srv.log_path)
    sid = done[0]["session"]
    mine = [o for o in objs if o.get("session") == sid]
    origins = {o.get("origin") for o in mine}
    assert None in origins and "worker kf-session" in origins, mine
    assert "worker kf-prelogin" in origins or any(
        o["event"] == "connect" for o in mine)
    # the session's lines: one client address and port, one monitor pid
    assert len({(o["client"], o["client_port"]) for o in mine}) == 1
    assert len({o["pid"] for o in mine}) == 1
    # each stored name comes back whole in its transfer's path field
    paths = {o["path"] for o in mine if o["event"] == "transfer"}
    for name in stored:
        assert "/" + as_logged(name) in paths, (name, paths)
    xfers = [o for o in mine if o["event"] == "transfer"]
    assert all(o["user"] == srv.user and o["access"] == "r" and
               o["status"] == "ok" for o in xfers)
    # the failed logins: each hostile user name back in its own field
    failed = [o for o in objs if o["event"] == "login_failed"]
    assert {o["user"] for o in failed} >= {as_logged(u) for u in USERS}
    assert all(o["session"] != sid for o in failed)
    assert not any(o.get("user") == "root" for o in objs)


def test_tls_relay_lines_share_the_session(logsrv, certs):  # noqa: F811
    srv = logsrv(rootless=not IS_ROOT,
                 extra=tls_conf(certs["cert"], certs["key"]))
    f = tls_login(srv)
    f.storbinary("STOR t\"ls\\.bin", io.BytesIO(b"y" * 100))
    f.quit()
    done = wait_objects(srv, lambda o: o["event"] == "disconnect" and
                        o.get("user") == srv.user)
    sid = done[0]["session"]
    mine = [o for o in objects(srv.log_path) if o.get("session") == sid]
    relay = [o for o in mine if o.get("origin") == "relay"]
    assert relay and relay[0]["tls_version"].startswith("TLSv1."), mine
    assert any(o.get("origin") == "worker kf-session" and
               o["event"] == "transfer" and o["path"] == '/t"ls\\.bin'
               for o in mine)


def test_sigusr1_reopens_and_cuts_nothing(logsrv):
    srv = logsrv(fmt="text", rootless=not IS_ROOT)
    f = srv.login()
    f.storbinary("STOR before.bin", io.BytesIO(b"b" * 10))
    assert srv.wait_log(r"STOR path=\"/before\.bin\"")
    os.rename(srv.log_path, str(srv.log_path) + ".1")
    os.rename(srv.xfer_path, str(srv.xfer_path) + ".1")
    # what `systemctl kill -s USR1 keepftpd` does: every process of the unit
    for pid in [srv.pid] + children(srv.pid):
        try:
            os.kill(pid, signal.SIGUSR1)
        except ProcessLookupError:
            pass
    assert wait_for(lambda: srv.log_path.exists() and srv.xfer_path.exists())
    for p in (srv.log_path, srv.xfer_path):
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o640
    # the long-lived session goes on, its later lines in the new file
    f.storbinary("STOR after.bin", io.BytesIO(b"a" * 20))
    f.quit()
    g = srv.login()
    g.quit()
    assert srv.wait_log(r"STOR path=\"/after\.bin\" bytes=20 ")
    assert srv.wait_log(r"\[s2 127\.0\.0\.1\] connect")
    old = (srv.logdir / "keepftpd.log.1").read_text()
    assert "before.bin" in old and "after.bin" not in old
    assert "[s2 " not in old
    assert "/after.bin" in srv.xfer_path.read_text()
    assert "/after.bin" not in (srv.logdir / "xferlog.1").read_text()


def xferlog(srv, n):
    def lines():
        if not srv.xfer_path.exists():
            return []
        got = [ln.split() for ln in srv.xfer_path.read_text().splitlines()]
        return got if len(got) >= n else []
    got = wait_for(lines)
    assert got, srv.xfer_path.read_text() if srv.xfer_path.exists() else "none"
    for f in got:
        assert len(f) == 18, f       # 14 fields, the date in 5 words
        assert f[14:17] == ["ftp", "0", "*"] and f[10] == "_"
    return got


def test_xferlog_lines(logsrv):
    srv = logsrv(rootless=not IS_ROOT)
    big = srv.home / "big.bin"
    big.write_bytes(os.urandom(1024 * 1024) * 32)
    os.chown(big, NOBODY, NOBODY)
    f = ftplib.FTP(timeout=10, encoding="latin-1")
    f.connect("127.0.0.1", srv.port)
    f.login(srv.user, srv.password)
    name = b"sp ace\xfe.bin".decode("latin-1")
    f.storbinary("STOR " + name, io.BytesIO(b"s" * 1234))
    out = io.BytesIO()
    f.retrbinary("RETR " + name, out.write)
    # ABOR mid-RETR: status i, the bytes actually moved
    conn = f.transfercmd("RETR big.bin")
    assert len(conn.recv(65536)) > 0
    f.abort()
    conn.close()
    f.quit()
    a = srv.anon_login()
    a.retrbinary("RETR hello.txt", io.BytesIO().write)
    a.quit()
    got = xferlog(srv, 4)
    stor, retr, abor, anon = got[:4]
    assert stor[6] == "127.0.0.1" and stor[7] == "1234"
    assert stor[8] == "/sp\\040ace\\376.bin"
    assert stor[9:14] == ["b", "_", "i", "r", srv.user] and stor[17] == "c"
    assert retr[8] == stor[8] and retr[11] == "o" and retr[17] == "c"
    assert abor[8] == "/big.bin" and abor[17] == "i"
    assert 0 < int(abor[7]) < 32 * 1024 * 1024
    assert anon[12] == "a" and anon[13] == "anonymous" and anon[17] == "c"
    assert int(anon[7]) == (srv.anon / "hello.txt").stat().st_size
    # the same transfers in the JSON log, with the bytes and the user
    t = [o for o in objects(srv.log_path) if o["event"] == "transfer"]
    assert [o["bytes"] for o in t[:2]] == [1234, 1234]
    assert t[2]["status"] == "aborted" and t[2]["bytes"] == int(abor[7])


def test_audit_events(logsrv):
    srv = logsrv(rootless=not IS_ROOT)
    f = srv.login()
    f.mkd("dir")
    f.storbinary("STOR f.txt", io.BytesIO(b"f"))
    f.rename("f.txt", "g.txt")
    f.sendcmd("SITE CHMOD 600 g.txt")
    f.sendcmd("MFMT 20200102030405 g.txt")
    f.delete("g.txt")
    f.rmd("dir")
    for cmd in ("DELE nope", "RMD nope", "MKD nope/deeper", "RNFR nope",
                "SITE CHMOD 600 nope", "MFMT 20200102030405 nope"):
        with pytest.raises(ftplib.error_perm):
            f.sendcmd(cmd)
    f.quit()
    done = wait_objects(srv, lambda o: o["event"] == "disconnect" and
                        o.get("user") == srv.user)
    sid = done[0]["session"]
    audit = [o for o in objects(srv.log_path) if o["event"] == "audit"]
    assert all(o["user"] == srv.user and o["session"] == sid and
               o["origin"] == "worker kf-session" for o in audit)
    ok = [(o["command"], o["path"]) for o in audit if o["result"] == "ok"]
    assert ok == [("MKD", "/dir"), ("RNTO", "/g.txt"), ("SITE CHMOD", "/g.txt"),
                  ("MFMT", "/g.txt"), ("DELE", "/g.txt"), ("RMD", "/dir")], ok
    rnto = next(o for o in audit if o["command"] == "RNTO")
    assert rnto["from"] == "/f.txt"
    chmod = next(o for o in audit if o["command"] == "SITE CHMOD")
    assert chmod["mode"] == "0600"
    bad = {o["command"] for o in audit if o["result"] == "failed"}
    assert bad >= {"DELE", "RMD", "RNFR", "SITE CHMOD", "MFMT"}, audit
    assert all(o.get("reason") for o in audit if o["result"] == "failed")


def test_listener_ban_line_names_the_session(logsrv):
    srv = logsrv(rootless=not IS_ROOT, extra={"ban_failures": "2"})
    c = RawClient(srv.port)
    assert c.reply().startswith("220")
    for _ in range(2):
        c.send(b"USER nobody-here\r\nPASS x\r\n")
        assert c.reply()[:1] in "35"
        assert c.reply().startswith("530")
    c.close()
    bans = wait_objects(srv, lambda o: o["event"] == "ban")
    assert bans and "pid" in bans[0] and "origin" not in bans[0]
    failed = [o for o in objects(srv.log_path) if o["event"] == "login_failed"]
    assert bans[0]["session"] == failed[-1]["session"]
    assert bans[0]["pid"] == srv.pid != failed[-1]["pid"]


def test_kf_log_killed_is_restarted_and_nothing_is_lost(logsrv):
    from conftest import descendants_named
    srv = logsrv(rootless=not IS_ROOT)
    first = wait_for(lambda: descendants_named(srv.pid, "kf-log"))
    assert len(first) == 1
    os.kill(first[0], signal.SIGKILL)
    # the listener has seen it (its own line goes to stderr meanwhile)
    assert wait_for(lambda: "kf-log (pid %d) ended" % first[0] in
                    srv.stderr_path.read_text())
    # a session forked while kf-log is down: its lines queue on the socket
    f = srv.login()
    f.storbinary("STOR during.bin", io.BytesIO(b"d" * 7))
    f.quit()
    again = wait_for(lambda: [p for p in descendants_named(srv.pid, "kf-log")
                              if p != first[0]], timeout=5)
    assert again, srv.stderr_path.read_text()
    assert wait_objects(srv, lambda o: o["event"] == "transfer" and
                        o["path"] == "/during.bin" and o["bytes"] == 7)
    # the listener said it on stderr meanwhile
    assert "kf-log (pid %d) ended (signal 9)" % first[0] in \
        srv.stderr_path.read_text()
    assert "/during.bin" in srv.xfer_path.read_text()
