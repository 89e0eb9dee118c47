"""keepftpd who and keepftpd kick, against the real daemon.

`who` lists every session over the admin socket: session id, pid, user
(- before login), client address, connected since, idle seconds, state
(idle, login, or the running command), and a running transfer's path,
bytes and rate. `kick` ends sessions by id, user or address with 421.
A worker's status report names no session, so a hostile worker can only
describe its own row; client-chosen bytes (a path) are shown escaped.
"""
import ftplib
import json
import os
import re
import signal
import struct
import subprocess
import threading
import time

import pytest

from conftest import (BIN, IS_ROOT, SETPRIV, TIMEOUT, USER, RawClient,
                      descendants_named, wait_for)

MiB = 1 << 20
MON_STATUS = 30


def who(srv, *extra):
    r = subprocess.run([BIN, "who", "-s", str(srv.admin_socket)] + list(extra),
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    return r.stdout


def who_json(srv):
    return [json.loads(line) for line in who(srv, "--json").splitlines()]


def row_of(rows, port):
    got = [r for r in rows if r["port"] == port]
    assert len(got) == 1, rows
    return got[0]


def kick(srv, *args):
    return subprocess.run([BIN, "kick", "-s", str(srv.admin_socket)] + list(args),
                          capture_output=True, text=True, timeout=TIMEOUT)


def local_port(ftp):
    return ftp.sock.getsockname()[1]


def big_file(root, name, size):
    path = root / name
    with open(path, "wb") as f:
        f.truncate(size)
    os.chmod(path, 0o644)


class Download(threading.Thread):
    """RETR name in the background; .error holds what it raised."""

    def __init__(self, ftp, name):
        super().__init__(daemon=True)
        self.ftp, self.name, self.got, self.error = ftp, name, 0, None

    def run(self):
        def sink(block):
            self.got += len(block)
        try:
            self.ftp.retrbinary(f"RETR {self.name}", sink, blocksize=64 * 1024)
        except Exception as e:  # noqa: BLE001 (the test looks at it)
            self.error = e


def test_who_shows_logged_in_and_not_yet(rsrv):
    anon = rsrv.anon_login()
    raw = rsrv.raw()
    assert raw.reply().startswith("220")
    raw_port = raw.sock.getsockname()[1]
    rows = who_json(rsrv)
    assert len(rows) == 2, rows
    a, p = row_of(rows, local_port(anon)), row_of(rows, raw_port)
    assert a["user"] == "anonymous" and a["state"] == "idle"
    assert p["user"] is None and p["state"] == "login"
    for r in (a, p):
        assert r["addr"] == "127.0.0.1"
        assert abs(r["connected"] - time.time()) < 30
        assert r["idle"] < 30 and r["path"] is None
        assert r["pid"] > 0 and r["session"] > 0
    assert a["session"] != p["session"]
    # the text table: a header, one aligned row each, "-" for no user
    text = who(rsrv).splitlines()
    print("\n".join(text))
    assert text[0].split()[:4] == ["SESSION", "PID", "USER", "ADDRESS"]
    assert len(text) == 3
    arow = [l for l in text if f"127.0.0.1:{local_port(anon)}" in l][0]
    prow = [l for l in text if f"127.0.0.1:{raw_port}" in l][0]
    assert arow.split()[2] == "anonymous" and arow.split()[6] == "idle"
    assert prow.split()[2] == "-" and prow.split()[6] == "login"
    assert text[0].index("ADDRESS") == arow.index("127.0.0.1") == prow.index("127.0.0.1")
    # the session id is the one of the log lines
    assert re.search(rf"\[s{p['session']} 127\.0\.0\.1\] connect", rsrv.log())
    anon.quit()
    raw.close()


@pytest.mark.skipif(not IS_ROOT, reason="needs another account to try")
def test_who_and_kick_only_for_root_or_the_server(rsrv):
    """The admin socket's own check: another account gets nothing."""
    f = rsrv.anon_login()
    sock = ["-s", str(rsrv.admin_socket)]
    for args in (["who"] + sock, ["kick"] + sock + ["--user", "anonymous"]):
        r = subprocess.run(SETPRIV + [BIN] + args,
                           capture_output=True, text=True, timeout=TIMEOUT)
        assert r.returncode == 1 and "SESSION" not in r.stdout, r
        assert "Permission denied" in r.stderr or "no valid answer" in r.stderr, r
    f.voidcmd("NOOP")   # not kicked
    assert len(who_json(rsrv)) == 1
    f.quit()


def test_who_idle_seconds_count(rsrv):
    f = rsrv.anon_login()
    time.sleep(2.2)
    r = row_of(who_json(rsrv), local_port(f))
    assert r["idle"] >= 2
    f.voidcmd("NOOP")
    f.voidcmd("TYPE I")   # a command after 2 s: reported at once
    time.sleep(0.3)
    r = row_of(who_json(rsrv), local_port(f))
    assert r["idle"] <= 1, r
    f.quit()


def test_who_paced_download_progress(start_server):
    """8 MiB at 2 MiB/s: path, growing bytes, a plausible rate."""
    srv = start_server(conf_extra={"download_rate": str(2 * MiB)},
                       rootless=not IS_ROOT)
    big_file(srv.anon, "big.bin", 8 * MiB)
    f = srv.anon_login()
    d = Download(f, "big.bin")
    d.start()
    time.sleep(1.6)
    r1 = row_of(who_json(srv), local_port(f))
    time.sleep(1.2)
    r2 = row_of(who_json(srv), local_port(f))
    print(who(srv))
    for r in (r1, r2):
        assert r["state"] == "RETR" and r["path"] == "/big.bin", r
        assert 1 * MiB <= r["rate"] <= 3 * MiB, r
        assert r["idle"] <= 1, r
    assert 0 < r1["bytes"] < r2["bytes"] < 8 * MiB
    assert r2["bytes"] - r1["bytes"] >= MiB
    d.join(TIMEOUT)
    assert d.error is None and d.got == 8 * MiB
    time.sleep(0.2)
    r = row_of(who_json(srv), local_port(f))
    assert r["state"] == "idle" and r["path"] is None and r["bytes"] == 0
    f.quit()


def test_who_paced_upload(start_server):
    """A STOR shows its target path and growing bytes too."""
    import io
    srv = start_server(conf_extra={"upload_rate": str(1 * MiB)},
                       rootless=not IS_ROOT)
    f = srv.login()
    err = []

    def up():
        try:
            f.storbinary("STOR up.bin", io.BytesIO(b"u" * (4 * MiB)),
                         blocksize=64 * 1024)
        except Exception as e:  # noqa: BLE001
            err.append(e)
    t = threading.Thread(target=up, daemon=True)
    t.start()
    time.sleep(1.6)
    r1 = row_of(who_json(srv), local_port(f))
    time.sleep(1.1)
    r2 = row_of(who_json(srv), local_port(f))
    for r in (r1, r2):
        assert r["state"] == "STOR" and r["path"] == "/up.bin" and r["user"] == USER, r
    assert 0 < r1["bytes"] < r2["bytes"] <= 4 * MiB
    t.join(TIMEOUT)
    assert not err
    f.quit()


def expect_421(ftp):
    """The next reply is the kick's 421, then the connection ends."""
    with pytest.raises(ftplib.error_temp) as e:
        ftp.voidcmd("NOOP")
    assert str(e.value).startswith("421 Session ended by the administrator")


def test_kick_by_session_user_and_addr(rsrv):
    anon = rsrv.anon_login()
    alice = rsrv.login()
    pre = rsrv.raw()
    assert pre.reply().startswith("220")
    other = RawClient(rsrv.port, TIMEOUT, src="127.0.0.2")   # the only one from 127.0.0.2
    assert other.reply().startswith("220")
    rows = who_json(rsrv)
    assert len(rows) == 4
    pre_row = row_of(rows, pre.sock.getsockname()[1])

    # by session id (as who shows it, or as the log writes it: s12)
    r = kick(rsrv, f"s{pre_row['session']}")
    assert r.returncode == 0 and r.stdout.strip() == "1 session(s) ended", r
    assert pre.reply() == "421 Session ended by the administrator."
    assert pre.closed()
    assert len(who_json(rsrv)) == 3 or wait_for(lambda: len(who_json(rsrv)) == 3)

    # by user: alice only
    r = kick(rsrv, "--user", USER)
    assert r.returncode == 0 and r.stdout.strip() == "1 session(s) ended", r
    expect_421(alice)
    anon.voidcmd("NOOP")

    # by address: 127.0.0.2 only
    r = kick(rsrv, "--addr", "127.0.0.2")
    assert r.returncode == 0 and r.stdout.strip() == "1 session(s) ended", r
    assert other.reply() == "421 Session ended by the administrator."
    assert other.closed()
    anon.voidcmd("NOOP")
    assert wait_for(lambda: [x["user"] for x in who_json(rsrv)] == ["anonymous"])

    # nobody matches: said, exit 1, nothing ended
    r = kick(rsrv, "--user", "nobody-here")
    assert r.returncode == 1 and "0 session(s) ended" in r.stderr
    r = kick(rsrv, "--addr", "not-an-address")
    assert r.returncode == 1 and "numeric" in r.stderr
    anon.voidcmd("NOOP")
    assert rsrv.wait_log(r"kick: session s\d+ \(pid \d+, 127\.0\.0\.2\) ended by admin")
    anon.quit()


def test_kick_during_a_transfer(start_server):
    """A running transfer ends with 426, then 421; the other session stays."""
    srv = start_server(conf_extra={"download_rate": str(1 * MiB)},
                       rootless=not IS_ROOT)
    big_file(srv.anon, "big.bin", 8 * MiB)
    f = srv.anon_login()
    keep = srv.login()
    d = Download(f, "big.bin")
    d.start()
    assert wait_for(lambda: row_of(who_json(srv), local_port(f))["state"] == "RETR")
    r = kick(srv, "--user", "anonymous")
    assert r.returncode == 0, r
    d.join(TIMEOUT)
    assert isinstance(d.error, ftplib.error_temp), d.error
    assert str(d.error).startswith("426 Transfer aborted. Session ended by the "
                                   "administrator"), d.error
    assert d.got < 8 * MiB
    with pytest.raises((ftplib.error_temp, EOFError, OSError)) as e:
        f.voidcmd("NOOP")
    assert "421" in str(e.value) or isinstance(e.value, (EOFError, OSError))
    keep.voidcmd("NOOP")
    assert [x["user"] for x in who_json(srv)] == [USER] or wait_for(
        lambda: [x["user"] for x in who_json(srv)] == [USER])
    keep.quit()


def test_kick_during_an_upload_keeps_no_file(start_server):
    """A kicked STOR: 426, and neither the file nor its temporary is left."""
    import io
    srv = start_server(conf_extra={"upload_rate": str(1 * MiB)},
                       rootless=not IS_ROOT)
    f = srv.login()
    before = set(os.listdir(srv.home))
    err = []

    def up():
        try:
            f.storbinary("STOR kicked.bin", io.BytesIO(b"k" * (8 * MiB)),
                         blocksize=64 * 1024)
        except Exception as e:  # noqa: BLE001
            err.append(e)
    t = threading.Thread(target=up, daemon=True)
    t.start()
    assert wait_for(lambda: row_of(who_json(srv), local_port(f))["bytes"] > 0)
    r = kick(srv, "--user", USER)
    assert r.returncode == 0, r
    t.join(TIMEOUT)
    assert err, "the upload went through"
    if not isinstance(err[0], ftplib.error_temp):
        # the data socket was reset under the client's write: the
        # reply is still on the control connection
        with pytest.raises(ftplib.error_temp) as e:
            f.getresp()
        err[0] = e.value
    assert str(err[0]).startswith("426 Transfer aborted. Session ended by the "
                                  "administrator"), err
    assert wait_for(lambda: who_json(srv) == [])
    assert set(os.listdir(srv.home)) == before


def test_who_escapes_client_bytes(start_server):
    """A path with an escape sequence, a bell and a quote: escaped in the
    table and in JSON, never raw on the terminal."""
    srv = start_server(conf_extra={"download_rate": str(1 * MiB)},
                       rootless=not IS_ROOT)
    name = 'e\x1b[2Jv"il\x07 x.bin'
    big_file(srv.anon, name, 4 * MiB)
    f = srv.anon_login()
    d = Download(f, name)
    d.start()
    assert wait_for(lambda: row_of(who_json(srv), local_port(f))["state"] == "RETR")
    out = who(srv)
    js = who(srv, "--json")
    print(out, js)
    for text in (out, js):
        assert "\x1b" not in text and "\x07" not in text
    assert r'"/e\x1b[2Jv\"il\x07 x.bin"' in out
    r = row_of([json.loads(l) for l in js.splitlines()], local_port(f))
    assert r["path"] == r'/e\x1b[2Jv\"il\x07 x.bin'
    # ABOR without f.abort(): the Download thread reads the control
    # connection, and two readers race for the replies
    f.sock.sendall(b"ABOR\r\n")
    d.join(TIMEOUT)
    assert not d.is_alive()
    f.close()


# ---- a hostile worker: its report can only describe its own session ----

@pytest.mark.skipif(not IS_ROOT, reason="pidfd_getfd needs root")
def test_hostile_worker_cannot_forge_another_row(rsrv):
    from test_hostile_worker import sockets_of, steal

    def put_str(s):
        b = s.encode()
        return struct.pack(">I", len(b)) + b

    def status(verb, path, nbytes, extra=b""):
        p = put_str(verb) + put_str(path) + struct.pack(">II", nbytes >> 32,
                                                         nbytes & 0xffffffff) + extra
        return struct.pack(">II", MON_STATUS, len(p)) + p

    victim = rsrv.login()
    before = set(descendants_named(rsrv.pid, "kf-session"))
    evil = rsrv.anon_login()
    pids = wait_for(lambda: set(descendants_named(rsrv.pid, "kf-session")) - before)
    assert len(pids) == 1
    pid = pids.pop()
    seq = sockets_of(pid, 5)
    assert len(seq) == 2, seq
    ipc = steal(pid, seq[0][1])
    os.kill(pid, signal.SIGSTOP)
    rows = who_json(rsrv)
    v = row_of(rows, local_port(victim))
    # the report carries no session: the only row it can change is its own
    ipc.send(status("STOR", "/forged", 123456789))
    assert wait_for(lambda: row_of(who_json(rsrv), local_port(evil))["path"] == "/forged")
    rows = who_json(rsrv)
    e, v2 = row_of(rows, local_port(evil)), row_of(rows, local_port(victim))
    assert e["state"] == "STOR" and e["bytes"] == 123456789 and e["user"] == "anonymous"
    assert v2["state"] == "idle" and v2["path"] is None and v2["user"] == USER
    assert v2["session"] == v["session"]
    # naming the victim's session id (or anything else) after the payload
    # is not a field: the monitor ends the hostile session instead
    ipc.send(status("RETR", "/x", 1, struct.pack(">II", 0, v["session"])))
    assert rsrv.wait_log(r"session ended: MON_STATUS with trailing bytes")
    # a verb that is not a command name (client bytes) is refused too
    assert wait_for(lambda: len(who_json(rsrv)) == 1)
    v3 = who_json(rsrv)[0]
    assert v3["user"] == USER and v3["state"] == "idle" and v3["path"] is None
    victim.voidcmd("NOOP")
    ipc.close()
    victim.quit()
