"""Every FTP command, through Python's ftplib (and a raw socket where ftplib
hides the reply)."""

import ftplib
import io
import os
import re
import socket

import pytest

from conftest import HELLO, epsv_port, pasv_port, recv_all, retr_bytes, stor_bytes, code


def test_greeting_and_login(srv):
    f = srv.connect()
    assert f.getwelcome().startswith("220 ")
    assert f.sendcmd(f"USER {srv.user}").startswith("331 ")
    assert f.sendcmd(f"PASS {srv.password}").startswith("230 ")
    assert f.quit().startswith("221 ")


def test_bad_login_530_same_text(srv):
    f = srv.connect()
    with pytest.raises(ftplib.error_perm) as wrong:
        f.login(srv.user, "wrong-password")
    f.close()
    f = srv.connect()
    with pytest.raises(ftplib.error_perm) as unknown:
        f.login("nosuchuser", "wrong-password")
    f.close()
    assert str(wrong.value).startswith("530 ")
    assert str(wrong.value) == str(unknown.value)


def test_noop_syst_feat_help(srv):
    f = srv.login()
    assert f.sendcmd("NOOP").startswith("200 ")
    assert f.sendcmd("SYST") == "215 UNIX Type: L8"
    feat = f.sendcmd("FEAT")
    lines = feat.splitlines()
    assert lines[0].startswith("211-")
    assert lines[-1].startswith("211 ")
    feats = {ln.strip() for ln in lines[1:-1]}
    for want in ("EPRT", "EPSV", "MDTM", "PASV", "REST STREAM", "SIZE"):
        assert want in feats
    help_ = f.sendcmd("HELP")
    hl = help_.splitlines()
    assert len(hl) > 1
    assert hl[0].startswith("214-")
    assert hl[-1].startswith("214 ")
    assert "RETR" in help_ and "STOR" in help_
    f.quit()


def test_type_mode_stru(srv):
    f = srv.login()
    assert f.sendcmd("TYPE A").startswith("200 ")
    assert f.sendcmd("TYPE I").startswith("200 ")
    with pytest.raises(ftplib.error_perm, match=r"^504 "):
        f.sendcmd("TYPE E")
    assert f.sendcmd("MODE S").startswith("200 ")
    with pytest.raises(ftplib.error_perm, match=r"^504 "):
        f.sendcmd("MODE B")
    assert f.sendcmd("STRU F").startswith("200 ")
    with pytest.raises(ftplib.error_perm, match=r"^504 "):
        f.sendcmd("STRU R")
    f.quit()


def test_pwd_cwd_cdup(srv):
    f = srv.login()
    assert f.sendcmd("PWD") == '257 "/" is the current directory'
    assert f.sendcmd("CWD sub").startswith("250 ")
    assert f.sendcmd("PWD") == '257 "/sub" is the current directory'
    assert f.sendcmd("CDUP").startswith("250 ")
    assert f.sendcmd("PWD") == '257 "/" is the current directory'
    with pytest.raises(ftplib.error_perm, match=r"^550 "):
        f.sendcmd("CWD nonexistent")
    with pytest.raises(ftplib.error_perm, match=r"^550 "):
        f.sendcmd("CWD hello.txt")
    assert f.sendcmd("PWD") == '257 "/" is the current directory'
    f.quit()


def test_list_and_nlst(srv):
    f = srv.login()
    lines = []
    resp = f.retrlines("LIST", lines.append)
    assert resp.startswith("226 ")
    names = [ln.split()[-1] for ln in lines]
    assert sorted(names) == ["digits.bin", "hello.txt", "sub"]
    for ln in lines:
        assert re.match(r"^[-dl][-rwxsStT]{9} +\d+ +\S+ +\S+ +\d+ +\w{3} +\d+ +[\d:]+ +\S", ln), ln
    hello = [ln for ln in lines if ln.endswith(" hello.txt")][0]
    assert hello.startswith("-")
    assert hello.split()[4] == str(len(HELLO))
    sub = [ln for ln in lines if ln.endswith(" sub")][0]
    assert sub.startswith("d")

    all_lines = []
    f.retrlines("LIST -a", all_lines.append)
    assert ".hidden" in [ln.split()[-1] for ln in all_lines]

    assert sorted(f.nlst()) == ["digits.bin", "hello.txt", "sub"]
    sub_lines = []
    f.retrlines("NLST sub", sub_lines.append)
    assert [ln.rsplit("/", 1)[-1] for ln in sub_lines] == ["inner.txt"]
    f.quit()


def test_list_reply_codes(srv):
    f = srv.login()
    f.sendcmd("TYPE A")
    conn = f.transfercmd("LIST")
    data = recv_all(conn)
    conn.close()
    assert f.lastresp == "150"
    assert f.voidresp().startswith("226 ")
    assert data.endswith(b"\r\n")
    f.quit()


def test_retr(srv):
    f = srv.login()
    assert retr_bytes(f, "hello.txt") == HELLO
    assert retr_bytes(f, "sub/inner.txt") == b"inner\n"
    assert retr_bytes(f, "/digits.bin") == bytes(range(256)) * 40
    with pytest.raises(ftplib.error_perm, match=r"^550 "):
        retr_bytes(f, "missing.txt")
    f.quit()


def test_stor_dele(srv):
    f = srv.login()
    assert stor_bytes(f, "new.txt", b"new content\n").startswith("226 ")
    assert (srv.home / "new.txt").read_bytes() == b"new content\n"
    assert retr_bytes(f, "new.txt") == b"new content\n"
    assert stor_bytes(f, "new.txt", b"replaced\n").startswith("226 ")
    assert (srv.home / "new.txt").read_bytes() == b"replaced\n"
    assert f.delete("new.txt").startswith("250 ")
    assert not (srv.home / "new.txt").exists()
    with pytest.raises(ftplib.error_perm, match=r"^550 "):
        f.delete("new.txt")
    with pytest.raises(ftplib.error_perm, match=r"^553 "):
        stor_bytes(f, "nodir/x.txt", b"x")
    f.quit()


def test_appe(srv):
    f = srv.login()
    stor_bytes(f, "log.txt", b"one\n")
    assert stor_bytes(f, "log.txt", b"two\n", cmd="APPE").startswith("226 ")
    assert (srv.home / "log.txt").read_bytes() == b"one\ntwo\n"
    assert stor_bytes(f, "fresh.txt", b"x\n", cmd="APPE").startswith("226 ")
    assert (srv.home / "fresh.txt").read_bytes() == b"x\n"
    f.quit()


def test_rename(srv):
    f = srv.login()
    stor_bytes(f, "a.txt", b"A\n")
    assert f.sendcmd("RNFR a.txt").startswith("350 ")
    assert f.sendcmd("RNTO b.txt").startswith("250 ")
    assert not (srv.home / "a.txt").exists()
    assert (srv.home / "b.txt").read_bytes() == b"A\n"
    with pytest.raises(ftplib.error_perm, match=r"^503 "):
        f.sendcmd("RNTO c.txt")
    with pytest.raises(ftplib.error_perm, match=r"^550 "):
        f.sendcmd("RNFR missing.txt")
    # rename into a subdirectory
    f.rename("b.txt", "sub/b.txt")
    assert (srv.home / "sub" / "b.txt").read_bytes() == b"A\n"
    f.quit()


def test_mkd_rmd(srv):
    f = srv.login()
    resp = f.sendcmd("MKD newdir")
    assert resp.startswith("257 ")
    assert '"/newdir"' in resp
    assert (srv.home / "newdir").is_dir()
    with pytest.raises(ftplib.error_perm, match=r"^550 "):
        f.sendcmd("MKD newdir")
    assert f.sendcmd("CWD newdir").startswith("250 ")
    stor_bytes(f, "f.txt", b"f")
    f.sendcmd("CDUP")
    with pytest.raises(ftplib.error_perm, match=r"^550 "):
        f.sendcmd("RMD newdir")  # not empty
    f.delete("newdir/f.txt")
    assert f.sendcmd("RMD newdir").startswith("250 ")
    assert not (srv.home / "newdir").exists()
    with pytest.raises(ftplib.error_perm, match=r"^550 "):
        f.sendcmd("RMD newdir")
    f.quit()


def test_size_mdtm(srv):
    f = srv.login()
    assert f.sendcmd("SIZE hello.txt") == f"213 {len(HELLO)}"
    assert f.sendcmd("SIZE digits.bin") == "213 10240"
    assert f.sendcmd("MDTM hello.txt") == "213 20231114221320"
    with pytest.raises(ftplib.error_perm, match=r"^550 "):
        f.sendcmd("SIZE missing")
    with pytest.raises(ftplib.error_perm, match=r"^550 "):
        f.sendcmd("MDTM missing")
    f.quit()


def test_rest_retr(srv):
    f = srv.login()
    data = bytes(range(256)) * 40
    f.voidcmd("TYPE I")
    # REST applies to the transfer command that immediately follows it
    s = socket.create_connection(("127.0.0.1", pasv_port(f.sendcmd("PASV"))), timeout=10)
    assert f.sendcmd("REST 1000").startswith("350 ")
    assert f.sendcmd("RETR digits.bin").startswith("150 ")
    got = recv_all(s)
    s.close()
    assert f.voidresp().startswith("226 ")
    assert got == data[1000:]
    # ftplib's rest argument does the same
    out = io.BytesIO()
    f.retrbinary("RETR digits.bin", out.write, rest=10239)
    assert out.getvalue() == data[10239:]
    # the marker is used once
    assert retr_bytes(f, "digits.bin") == data
    f.quit()


def test_stat(srv):
    f = srv.login()
    resp = f.sendcmd("STAT")
    lines = resp.splitlines()
    assert len(lines) > 2
    assert lines[0].startswith("211-")
    assert lines[-1].startswith("211 ")
    f.quit()


def test_abor_idle(srv):
    f = srv.login()
    assert f.sendcmd("ABOR").startswith("225 ")
    f.quit()


def test_unknown_and_bad_arguments(srv):
    f = srv.login()
    for cmd, want in (("SITE NOSUCH x", "502"), ("XYZ", "502"),
                      ("RETR", "501"), ("NOOP extra", "501"), ("CWD", "501")):
        with pytest.raises(ftplib.error_perm, match=rf"^{want} "):
            f.sendcmd(cmd)
    assert f.sendcmd("NOOP").startswith("200 ")
    f.quit()


def test_pasv_transfer(srv):
    f = srv.login()
    f.set_pasv(True)
    resp = f.sendcmd("PASV")
    m = re.match(r"^227 .*\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)", resp)
    assert m, resp
    assert ".".join(m.groups()[:4]) == "127.0.0.1"
    port = int(m.group(5)) * 256 + int(m.group(6))
    assert srv.pasv[0] <= port <= srv.pasv[1]
    # ftplib uses PASV for IPv4
    assert retr_bytes(f, "hello.txt") == HELLO
    stor_bytes(f, "pasv.txt", b"pasv\n")
    assert (srv.home / "pasv.txt").read_bytes() == b"pasv\n"
    f.quit()


def test_epsv_transfer(srv):
    f = srv.login()
    resp = f.sendcmd("EPSV")
    m = re.match(r"^229 .*\(\|\|\|(\d+)\|\)", resp)
    assert m, resp
    port = int(m.group(1))
    assert srv.pasv[0] <= port <= srv.pasv[1]
    # drive EPSV by hand: connect, then RETR
    f.sendcmd("TYPE I")
    s = socket.create_connection(("127.0.0.1", epsv_port(f.sendcmd("EPSV"))), timeout=10)
    assert f.sendcmd("RETR hello.txt").startswith("150 ")
    data = recv_all(s)
    s.close()
    assert f.voidresp().startswith("226 ")
    assert data == HELLO
    f.quit()


def _active(f, use_eprt):
    with socket.socket() as ls:
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        port = ls.getsockname()[1]
        if use_eprt:
            resp = f.sendcmd(f"EPRT |1|127.0.0.1|{port}|")
        else:
            resp = f.sendcmd("PORT 127,0,0,1,%d,%d" % (port >> 8, port & 255))
        assert resp.startswith("200 "), resp
        assert f.sendcmd("RETR hello.txt").startswith("150 ")
        ls.settimeout(10)
        conn, peer = ls.accept()
        assert peer[0] == "127.0.0.1"
        data = recv_all(conn)
        conn.close()
    assert f.voidresp().startswith("226 ")
    return data


def test_port_transfer(srv):
    f = srv.login()
    f.sendcmd("TYPE I")
    assert _active(f, use_eprt=False) == HELLO
    f.quit()


def test_eprt_transfer(srv):
    f = srv.login()
    f.sendcmd("TYPE I")
    assert _active(f, use_eprt=True) == HELLO
    f.quit()


def test_ftplib_active_mode(srv):
    f = srv.login()
    f.set_pasv(False)
    assert retr_bytes(f, "hello.txt") == HELLO
    stor_bytes(f, "active.txt", b"active\n")
    assert (srv.home / "active.txt").read_bytes() == b"active\n"
    f.quit()


def test_anonymous_read_only(srv):
    f = srv.anon_login()
    assert retr_bytes(f, "hello.txt") == HELLO
    before = sorted(p.name for p in srv.anon.iterdir())
    with pytest.raises(ftplib.error_perm, match=r"^550 "):
        stor_bytes(f, "up.txt", b"x")
    with pytest.raises(ftplib.error_perm, match=r"^550 "):
        stor_bytes(f, "hello.txt", b"x", cmd="APPE")
    with pytest.raises(ftplib.error_perm, match=r"^550 "):
        f.delete("hello.txt")
    with pytest.raises(ftplib.error_perm, match=r"^550 "):
        f.sendcmd("MKD d")
    with pytest.raises(ftplib.error_perm, match=r"^550 "):
        f.sendcmd("RMD sub")
    with pytest.raises(ftplib.error_perm, match=r"^550 "):
        f.sendcmd("RNFR hello.txt")
    assert sorted(p.name for p in srv.anon.iterdir()) == before
    assert (srv.anon / "hello.txt").read_bytes() == HELLO
    f.quit()


def test_ftp_user_is_anonymous(srv):
    f = srv.login("ftp", "whatever")
    assert retr_bytes(f, "hello.txt") == HELLO
    f.quit()


def test_anonymous_disabled(start_server):
    s = start_server(mode="config", conf_extra={"anonymous_enable": "no"})
    f = s.connect()
    with pytest.raises(ftplib.error_perm, match=r"^530 "):
        f.login("anonymous", "x")
    f.close()


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
