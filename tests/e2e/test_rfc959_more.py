"""The rest of RFC 959 and the common extensions, with exact reply codes:
STOU, ALLO, ACCT, SMNT, STAT with a path and during a transfer, REST with
STOR and APPE, MFMT, SITE CHMOD/UMASK/IDLE/HELP, .message, HOST after
login."""

import ftplib
import io
import os
import socket
import stat

import pytest

from conftest import HELLO, pasv_port, recv_all, retr_bytes, stor_bytes


def code(f, cmd):
    """The reply code of cmd, error or not."""
    try:
        return f.sendcmd(cmd)[:3]
    except ftplib.Error as e:
        return str(e)[:3]


def test_stou_unique_names(srv):
    f = srv.login()
    (srv.home / "report").write_bytes(b"old")
    conn = f.transfercmd("STOU report")
    assert f.lastresp == "150"
    conn.sendall(b"first")
    conn.close()
    last = f.voidresp()
    assert last.startswith("226 ")
    assert "report.1" in last
    conn = f.transfercmd("STOU report")
    conn.sendall(b"second")
    conn.close()
    assert "report.2" in f.voidresp()
    assert (srv.home / "report").read_bytes() == b"old"
    assert (srv.home / "report.1").read_bytes() == b"first"
    assert (srv.home / "report.2").read_bytes() == b"second"
    # without a name the server picks one
    conn = f.transfercmd("STOU")
    conn.sendall(b"third")
    conn.close()
    assert f.voidresp().startswith("226 ")
    f.quit()


def test_stou_read_only(srv):
    f = srv.anon_login()
    assert code(f, "STOU x") == "550"
    f.quit()


def test_allo_acct_smnt(srv):
    f = srv.login()
    assert code(f, "ALLO 1000") == "202"
    assert code(f, "ACCT billing") == "202"
    assert code(f, "SMNT /other") == "502"
    assert code(f, "HOST ftp.example.com") == "503"
    f.quit()


def test_stat_with_path(srv):
    f = srv.login()
    r = f.sendcmd("STAT /")
    lines = r.splitlines()
    assert lines[0] == "213-Status of /:"
    assert lines[-1] == "213 End of status."
    names = [ln.split()[-1] for ln in lines[1:-1]]
    assert "hello.txt" in names and "sub" in names
    assert all(ln.startswith(" ") for ln in lines[1:-1])
    r = f.sendcmd("STAT hello.txt")
    assert " hello.txt" in r and r.startswith("213-")
    with pytest.raises(ftplib.error_perm, match=r"^550 "):
        f.sendcmd("STAT /nonexistent")
    # a plain STAT is the session's status
    assert f.sendcmd("STAT").startswith("211-")
    f.quit()


def test_stat_during_transfer(rsrv):
    big = rsrv.home / "big.bin"
    big.write_bytes(os.urandom(1 << 20) * 16)
    f = rsrv.login()
    f.voidcmd("TYPE I")
    conn = f.transfercmd("RETR big.bin")
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    got = len(conn.recv(4096))
    f.sock.sendall(b"STAT\r\n")
    line = f.getline()
    assert line.startswith("213 "), line
    sent = int(line.split()[2])
    assert got <= sent < 16 << 20, line
    # the transfer goes on after STAT; ABOR ends it the usual way
    got += len(conn.recv(65536))
    f.sock.sendall(b"ABOR\r\n")
    assert f.getline().startswith("426")
    assert f.getline().startswith("226")
    conn.close()
    assert f.sendcmd("NOOP").startswith("200 ")
    f.quit()


def test_rest_then_appe_and_stor_continue(srv):
    f = srv.login()
    f.voidcmd("TYPE I")
    stor_bytes(f, "r.bin", b"0123456789")
    # REST 4 + STOR (ftplib sends PASV, REST, STOR): continue at 4,
    # the tail is replaced
    f.storbinary("STOR r.bin", io.BytesIO(b"abc"), rest=4)
    assert (srv.home / "r.bin").read_bytes() == b"0123abc"
    # REST 7 + APPE: the same explicit continuation
    f.storbinary("APPE r.bin", io.BytesIO(b"XYZ"), rest=7)
    assert (srv.home / "r.bin").read_bytes() == b"0123abcXYZ"
    f.storbinary("STOR r.bin", io.BytesIO(b"!!"), rest=10)
    assert (srv.home / "r.bin").read_bytes() == b"0123abcXYZ!!"
    # REST is kept across a NOOP (and PASV), used up by the transfer;
    # RNFR cancels it
    assert code(f, "REST 3") == "350"
    assert code(f, "NOOP") == "200"
    assert code(f, "RNFR r.bin") == "350"
    f.storbinary("APPE r.bin", io.BytesIO(b"."))
    assert (srv.home / "r.bin").read_bytes() == b"0123abcXYZ!!."
    # beyond the end: refused, file unchanged
    with pytest.raises(ftplib.error_perm, match=r"^553 "):
        f.storbinary("STOR r.bin", io.BytesIO(b"x"), rest=100)
    assert (srv.home / "r.bin").read_bytes() == b"0123abcXYZ!!."
    f.quit()


def test_mfmt(srv):
    f = srv.login()
    r = f.sendcmd("MFMT 20200102030405 hello.txt")
    assert r == "213 Modify=20200102030405; /hello.txt"
    assert f.sendcmd("MDTM hello.txt") == "213 20200102030405"
    assert os.stat(srv.home / "hello.txt").st_mtime == 1577934245
    assert code(f, "MFMT 20201302030405 hello.txt") == "501"
    assert code(f, "MFMT 2020 hello.txt") == "501"
    assert code(f, "MFMT 20200102030405") == "501"
    assert code(f, "MFMT 20200102030405 missing.txt") == "550"
    f.quit()
    a = srv.anon_login()
    assert code(a, "MFMT 20200102030405 hello.txt") == "550"
    a.quit()


def test_site_chmod_umask_idle_help(srv):
    f = srv.login()
    assert code(f, "SITE CHMOD 600 hello.txt") == "200"
    assert stat.S_IMODE(os.stat(srv.home / "hello.txt").st_mode) == 0o600
    # set-id bits are never granted: parsed, then refused by the
    # post-login seccomp filter (EPERM)
    assert code(f, "SITE CHMOD 4755 hello.txt") == "550"
    assert code(f, "SITE CHMOD 999 hello.txt") == "501"
    assert code(f, "SITE CHMOD 644 missing") == "550"
    os.symlink("hello.txt", srv.home / "link")
    assert code(f, "SITE CHMOD 644 link") == "550"
    assert f.sendcmd("SITE UMASK").startswith("200 ")
    assert code(f, "SITE UMASK 077") == "200"
    stor_bytes(f, "private.txt", b"p")
    assert stat.S_IMODE(os.stat(srv.home / "private.txt").st_mode) == 0o600
    assert code(f, "SITE UMASK 8") == "501"
    assert code(f, "SITE IDLE 60") == "200"
    assert code(f, "SITE IDLE 5") == "501"
    assert code(f, "SITE IDLE 999999") == "501"
    h = f.sendcmd("SITE HELP")
    assert h.startswith("214-") and "CHMOD" in h and "UMASK" in h and "IDLE" in h
    assert code(f, "SITE EXEC ls") == "502"
    f.quit()
    a = srv.anon_login()
    assert code(a, "SITE CHMOD 777 hello.txt") == "550"
    a.quit()


def test_site_idle_applies(start_server):
    srv = start_server(mode="config", conf_extra={"idle_timeout": "300"})
    f = srv.login()
    assert code(f, "SITE IDLE 30") == "200"
    assert "30 seconds" in f.sendcmd("SITE IDLE")
    f.quit()


def test_message_file(start_server):
    srv = start_server(mode="config", conf_extra={"message_enable": "yes"})
    (srv.home / "sub" / ".message").write_bytes(b"Welcome to sub\nsecond line\x1b[31m\n")
    f = srv.login()
    r = f.sendcmd("CWD sub")
    lines = r.splitlines()
    assert lines[0].startswith("250-")
    assert " Welcome to sub" in lines
    assert " second line?[31m" in lines
    assert lines[-1].startswith("250 ")
    # no .message: the plain reply
    assert f.sendcmd("CWD /") == "250 Directory successfully changed."
    # only a regular file is shown: not a FIFO (no hang), not a directory
    os.mkfifo(srv.home / "sub" / "fifo")
    (srv.home / "d").mkdir()
    (srv.home / "d" / ".message").mkdir()
    os.rename(srv.home / "sub" / "fifo", srv.home / ".message")
    assert f.sendcmd("CWD /") == "250 Directory successfully changed."
    assert f.sendcmd("CWD /d") == "250 Directory successfully changed."
    f.quit()


def test_message_off_by_default(srv):
    (srv.home / "sub" / ".message").write_bytes(b"hidden\n")
    f = srv.login()
    assert f.sendcmd("CWD sub") == "250 Directory successfully changed."
    f.quit()


def test_epsv_all(srv):
    """RFC 2428 4: after EPSV ALL only EPSV may set up data connections."""
    f = srv.login()
    assert f.sendcmd("EPSV ALL").startswith("200 ")
    assert code(f, "PASV") == "503"
    assert code(f, "PORT 127,0,0,1,156,64") == "503"
    assert code(f, "EPRT |1|127.0.0.1|40000|") == "503"
    f.af = socket.AF_INET6   # makes ftplib use EPSV for the transfer
    assert retr_bytes(f, "hello.txt") == HELLO
    f.quit()


def test_help_omits_unimplemented(srv):
    f = srv.login()
    assert "SMNT" not in f.sendcmd("HELP").split()
    assert code(f, "SMNT /x") == "502"
    f.quit()
