"""Hostile input: traversal, symlinks, bounce, data-port theft, malformed lines."""

import ftplib
import os
import re
import socket

import pytest

from conftest import HELLO, RawClient, epsv_port, pasv_port, recv_all, retr_bytes

REAL_PASSWD = open("/etc/passwd", "rb").read()
MARKER = b"fake passwd inside the root\n"


def listing(f, path=None):
    lines = []
    f.retrlines("NLST" + (f" {path}" if path else ""), lines.append)
    return sorted(ln.rsplit("/", 1)[-1] for ln in lines)


ROOT_NAMES = ["digits.bin", "hello.txt", "sub"]


@pytest.mark.parametrize("path", [
    "../../../../../../etc/passwd",
    "/../../../etc/passwd",
    "/etc/passwd",
    "sub/../../../etc/passwd",
    "..\\..\\..\\..\\etc\\passwd",
    "\\etc\\passwd",
])
def test_traversal_retr(srv, path):
    f = srv.login()
    with pytest.raises(ftplib.error_perm, match=r"^550 "):
        retr_bytes(f, path)
    f.quit()


def test_traversal_cwd_and_list(srv):
    f = srv.login()
    for path in ("../../..", "/../..", "..\\..\\.."):
        try:
            f.cwd(path)
        except ftplib.error_perm as e:
            assert str(e).startswith("550 ")
        assert f.pwd() == "/"
        assert listing(f) == ROOT_NAMES
    f.cwd("sub")
    f.cwd("../../../..")
    assert f.pwd() == "/"
    assert listing(f, "../../..") == ROOT_NAMES
    f.quit()


def test_traversal_write(srv):
    f = srv.login()
    outside = srv.base / "escaped.txt"
    for path in ("../escaped.txt", "../../escaped.txt", "..\\escaped.txt",
                 "/../escaped.txt"):
        try:
            f.storbinary(f"STOR {path}", __import__("io").BytesIO(b"x"))
        except ftplib.error_perm:
            pass
        assert not outside.exists()
    f.quit()


@pytest.fixture
def planted(srv):
    """Symlinks planted inside the user's root pointing out of it."""
    os.symlink("/", srv.home / "rootlink")
    os.symlink("/etc/passwd", srv.home / "pwlink")
    os.symlink("../../../../../../etc", srv.home / "etclink")
    (srv.home / "etc").mkdir()
    (srv.home / "etc" / "passwd").write_bytes(MARKER)
    if os.geteuid() == 0:
        for p in ("rootlink", "pwlink", "etclink", "etc", "etc/passwd"):
            os.lchown(srv.home / p, 65534, 65534)
    return srv


@pytest.mark.parametrize("path", ["rootlink/etc/passwd", "pwlink", "etclink/passwd"])
def test_symlink_cannot_escape(planted, path):
    f = planted.login()
    try:
        got = retr_bytes(f, path)
    except ftplib.error_perm as e:
        assert str(e).startswith("550 ")
    else:
        # resolved inside the root: the fake file, never the real one
        assert got != REAL_PASSWD
        assert got == MARKER
    f.quit()


def test_symlink_dir_listing_stays_inside(planted):
    f = planted.login()
    try:
        f.cwd("rootlink")
    except ftplib.error_perm as e:
        assert str(e).startswith("550 ")
    else:
        names = listing(f)
        # the root of the session, not the machine's /
        assert "proc" not in names and "usr" not in names
        assert "hello.txt" in names
    f.quit()


def test_port_bounce_refused(srv):
    f = srv.login()
    for cmd in ("PORT 127,0,0,2,%d,%d" % (40000 >> 8, 40000 & 255),  # other host
                "PORT 127,0,0,1,0,80",                                # port < 1024
                "PORT 10,1,2,3,156,64",
                "EPRT |1|127.0.0.2|40000|",
                "EPRT |1|127.0.0.1|80|",
                "PORT 127,0,0,1,3,255"):                              # 1023
        with pytest.raises(ftplib.error_perm, match=r"^501 "):
            f.sendcmd(cmd)
    assert f.sendcmd("NOOP").startswith("200 ")
    f.quit()


@pytest.mark.parametrize("cmd,connect_first", [("PASV", True), ("EPSV", False)])
def test_passive_port_theft(srv, cmd, connect_first):
    """A data connection from 127.0.0.2 (the control peer is 127.0.0.1) gets
    nothing, whether it comes before the client's own connection or alone
    while the transfer waits."""
    f = srv.login()
    f.voidcmd("TYPE I")
    resp = f.sendcmd(cmd)
    port = pasv_port(resp) if cmd == "PASV" else epsv_port(resp)
    thief = socket.socket()
    thief.settimeout(3)
    thief.bind(("127.0.0.2", 0))
    thief.connect(("127.0.0.1", port))
    real = None
    if connect_first:
        real = socket.create_connection(("127.0.0.1", port), timeout=10)
    assert f.sendcmd("RETR hello.txt").startswith("150 ")
    if real is None:
        real = socket.create_connection(("127.0.0.1", port), timeout=10)
    got = recv_all(real)
    real.close()
    assert f.voidresp().startswith("226 ")
    assert got == HELLO
    assert recv_all(thief, until_timeout=True) == b""
    thief.close()
    assert srv.wait_log(r"data connection from foreign address 127\.0\.0\.2 refused"), srv.log()
    f.quit()


def raw_login(srv):
    c = RawClient(srv.port)
    assert c.reply().startswith("220")
    assert c.cmd(f"USER {srv.user}").startswith("331")
    assert c.cmd(f"PASS {srv.password}").startswith("230")
    return c


def still_serving(srv):
    f = srv.login()
    assert f.sendcmd("NOOP").startswith("200 ")
    f.quit()


def test_long_line(srv):
    c = raw_login(srv)
    c.send(b"NOOP " + b"A" * 65536 + b"\r\n")
    assert c.reply().startswith("500")
    assert c.cmd("NOOP").startswith("200")
    c.send(b"RETR " + b"B" * 5000 + b"\r\n")
    assert c.reply().startswith("500")
    assert c.cmd("PWD").startswith("257")
    c.close()
    still_serving(srv)


def test_long_line_before_login(srv):
    c = RawClient(srv.port)
    assert c.reply().startswith("220")
    c.send(b"USER " + b"u" * 65536 + b"\r\n")
    assert c.reply().startswith("500")
    assert c.cmd(f"USER {srv.user}").startswith("331")
    assert c.cmd(f"PASS {srv.password}").startswith("230")
    c.close()
    still_serving(srv)


def test_nul_byte(srv):
    c = raw_login(srv)
    c.send(b"NOOP\x00\r\n")
    assert c.reply().startswith("500")
    c.send(b"RETR hello\x00.txt\r\n")
    assert c.reply().startswith("500")
    assert c.cmd("NOOP").startswith("200")
    c.close()
    still_serving(srv)


def test_lone_cr(srv):
    c = raw_login(srv)
    c.send(b"NO\rOP\r\n")
    assert c.reply().startswith("500")
    assert c.cmd("NOOP").startswith("200")
    c.close()
    still_serving(srv)


def test_telnet_iac_stripped(srv):
    c = raw_login(srv)
    c.send(b"\xff\xf4\xff\xf2NOOP\r\n")  # IAC IP, IAC DM, then NOOP
    assert c.reply().startswith("200")
    c.send(b"NO\xff\xfb\x01OP\r\n")  # IAC WILL ECHO in the middle
    assert c.reply().startswith("200")
    assert c.cmd("SYST") == "215 UNIX Type: L8"
    c.close()
    still_serving(srv)


def test_garbage_flood(srv):
    c = RawClient(srv.port)
    assert c.reply().startswith("220")
    c.send(os.urandom(200000).replace(b"\n", b"") + b"\r\n")
    try:
        c.reply()
    except (EOFError, ConnectionResetError):
        pass
    c.close()
    still_serving(srv)


@pytest.mark.parametrize("cmd", ["RNFR hello.txt", "DELE hello.txt", "STOR x.txt",
                                 "SITE CHMOD 777 hello.txt", "RETR hello.txt",
                                 "LIST", "CWD sub", "PASV", "MKD d"])
def test_prelogin_refused(srv, cmd):
    c = RawClient(srv.port)
    assert c.reply().startswith("220")
    assert c.cmd(cmd).startswith("530")
    assert c.cmd("NOOP").startswith("200")
    assert c.cmd("SYST") == "215 UNIX Type: L8"
    assert c.cmd("QUIT").startswith("221")
    c.close()
    assert (srv.home / "hello.txt").read_bytes() == HELLO


def test_prelogin_after_user_refused(srv):
    c = RawClient(srv.port)
    assert c.reply().startswith("220")
    assert c.cmd(f"USER {srv.user}").startswith("331")
    assert c.cmd("DELE hello.txt").startswith("530")
    assert c.cmd(f"USER {srv.user}").startswith("331")
    assert c.cmd(f"PASS {srv.password}").startswith("230")
    c.close()
    assert (srv.home / "hello.txt").read_bytes() == HELLO


def test_too_many_login_failures_close(srv):
    c = RawClient(srv.port)
    assert c.reply().startswith("220")
    for _ in range(3):
        assert c.cmd(f"USER {srv.user}").startswith("331")
        assert c.cmd("PASS wrong").startswith("530")
    assert c.closed(timeout=5)
    c.close()
    still_serving(srv)


def refused_from(srv, src):
    """The first reply to a connection from src, or 'closed'."""
    c = RawClient(srv.port, src=src)
    try:
        return c.reply()
    except (EOFError, ConnectionResetError):
        return "closed"
    finally:
        c.close()


@pytest.mark.parametrize("conf,ok_from,refused", [
    ({"deny_from": "127.0.0.2"}, "127.0.0.1", "127.0.0.2"),
    ({"deny_from": "10.0.0.0/8, 127.0.0.0/31"}, "127.0.0.3", "127.0.0.1"),
    ({"allow_from": "127.0.0.1/32, ::1"}, "127.0.0.1", "127.0.0.2"),
    ({"allow_from": "127.0.0.0/8", "deny_from": "127.0.0.2/32"}, "127.0.0.3", "127.0.0.2"),
])
def test_allow_and_deny_lists(start_server, conf, ok_from, refused):
    srv = start_server(mode="config", conf_extra=conf)
    assert refused_from(srv, refused) == "421 Access denied."
    assert srv.wait_log(rf"refused {re.escape(refused)}: Access denied\.")
    # refused by the listener: no session (monitor) was started for it
    assert f" {refused}] connect" not in srv.log()
    assert refused_from(srv, ok_from).startswith("220")


def test_address_list_errors(tmp_path):
    from conftest import BIN
    import subprocess
    conf = tmp_path / "k.conf"
    conf.write_text("allow_from = 127.0.0.1/33\ndeny_from = 1.2.3.4, nonsense\n")
    r = subprocess.run([BIN, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert r.returncode == 1
    assert f"{conf}:1: allow_from:" in r.stderr
    assert f"{conf}:2: deny_from:" in r.stderr
