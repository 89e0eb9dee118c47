"""Log lines: client strings escaped, passwords never written."""

import ftplib
import io

from conftest import RawClient


def test_control_bytes_escaped(srv):
    c = RawClient(srv.port)
    assert c.reply().startswith("220")
    evil = b"ev\x1b[31mil\x07\x08\x7fname"
    c.send(b"USER " + evil + b"\r\n")
    assert c.reply().startswith("331")
    c.send(b"PASS whatever-Wr0ng\r\n")
    assert c.reply().startswith("530")
    c.cmd("QUIT")
    c.close()
    m = srv.wait_log(r"ev\\x1b\[31mil", timeout=5)
    log = srv.log()
    assert m, log
    assert "\\x07" in log and "\\x08" in log and "\\x7f" in log
    raw = srv.stderr_path.read_bytes()
    for b in (b"\x1b", b"\x07", b"\x08", b"\x7f"):
        assert b not in raw
    # every log line is one line: no CR or stray control byte survives
    for line in raw.split(b"\n"):
        assert all(ch >= 0x20 or ch == 0x09 for ch in line), line


def test_control_bytes_in_file_names_escaped(srv):
    f = srv.login()
    name = "up\x1b]0;x\x07\x0bname.txt"
    try:
        f.storbinary(f"STOR {name}", io.BytesIO(b"data"))
    except ftplib.Error:
        pass
    try:
        f.sendcmd("DELE missing\x1b\x0b")
    except ftplib.Error:
        pass
    f.quit()
    raw = srv.stderr_path.read_bytes()
    for line in raw.split(b"\n"):
        assert all(ch >= 0x20 or ch == 0x09 for ch in line), line


def test_password_never_logged(srv):
    good = srv.password
    bad = "Bad-Pa55word-xyzzy"
    anon_pw = "anon-secret-pw@example.org"
    f = srv.connect()
    try:
        f.login(srv.user, bad)
    except ftplib.error_perm:
        pass
    f.close()
    f = srv.login()
    f.quit()
    f = srv.login("anonymous", anon_pw)
    f.quit()
    assert srv.wait_log(r'login ok: user="anonymous"', timeout=5)
    log = srv.log()
    assert f'user="{srv.user}"' in log
    for secret in (good, bad, anon_pw):
        assert secret not in log


def test_quick_mode_password_only_on_stdout(start_server):
    srv = start_server(mode="quick")
    f = srv.login()
    f.quit()
    assert srv.password in srv.stdout
    srv.stop()
    assert srv.password not in srv.log()
