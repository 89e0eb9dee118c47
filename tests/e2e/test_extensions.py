"""TYPE A conversion, HASH and its X* aliases, OPTS, FEAT, HELP: exact
replies, and the bytes on the wire and on disk."""

import binascii
import ftplib
import hashlib
import io
import os
import socket
import stat
import zlib

import pytest

from conftest import HELLO, pasv_port, recv_all, retr_bytes, code, stor_bytes


def raw_retr(f, cmd):
    """The bytes of a transfer exactly as they cross the data connection."""
    s = socket.create_connection(("127.0.0.1", pasv_port(f.sendcmd("PASV"))), timeout=10)
    assert f.sendcmd(cmd).startswith("150 ")
    data = recv_all(s)
    s.close()
    assert f.voidresp().startswith("226 ")
    return data


def raw_stor(f, cmd, data):
    s = socket.create_connection(("127.0.0.1", pasv_port(f.sendcmd("PASV"))), timeout=10)
    assert f.sendcmd(cmd).startswith("150 ")
    s.sendall(data)
    s.close()
    assert f.voidresp().startswith("226 ")


TEXT = b"line one\nline two\r\nlone\rcr\n\nlast"


def test_ascii_retr_lf_to_crlf(srv):
    (srv.home / "t.txt").write_bytes(TEXT)
    f = srv.login()
    f.voidcmd("TYPE A")
    assert raw_retr(f, "RETR t.txt") == b"line one\r\nline two\r\nlone\rcr\r\n\r\nlast"
    f.voidcmd("TYPE I")
    assert raw_retr(f, "RETR t.txt") == TEXT
    f.quit()


def test_ascii_stor_crlf_to_lf(srv):
    f = srv.login()
    f.voidcmd("TYPE A")
    raw_stor(f, "STOR up.txt", b"a\r\nb\r\nlone\rcr\r\nend\r")
    assert (srv.home / "up.txt").read_bytes() == b"a\nb\nlone\rcr\nend\r"
    raw_stor(f, "APPE up.txt", b"\r\nmore\r\n")
    assert (srv.home / "up.txt").read_bytes() == b"a\nb\nlone\rcr\nend\r\nmore\n"
    f.quit()


def test_ascii_large_round_trip(rsrv):
    """Conversion state across blocks: CR/LF pairs split at every boundary."""
    body = b"".join(b"x" * (i % 97) + b"\n" for i in range(40000))
    (rsrv.home / "big.txt").write_bytes(body)
    f = rsrv.login()
    f.voidcmd("TYPE A")
    wire = raw_retr(f, "RETR big.txt")
    assert wire == body.replace(b"\n", b"\r\n")
    raw_stor(f, "STOR back.txt", wire)
    assert (rsrv.home / "back.txt").read_bytes() == body
    f.quit()


def test_ascii_ftplib_retrlines(srv):
    (srv.home / "t.txt").write_bytes(b"alpha\nbeta\n")
    f = srv.login()
    lines = []
    f.retrlines("RETR t.txt", lines.append)
    assert lines == ["alpha", "beta"]
    f.storlines("STOR lines.txt", io.BytesIO(b"one\ntwo\n"))
    assert (srv.home / "lines.txt").read_bytes() == b"one\ntwo\n"
    f.quit()


def test_rest_refused_in_ascii(srv):
    f = srv.login()
    f.voidcmd("TYPE A")
    with pytest.raises(ftplib.error_perm, match=r"^504 .*ASCII"):
        f.sendcmd("REST 10")
    f.quit()


DIGESTS = {
    "SHA-256": lambda b: hashlib.sha256(b).hexdigest(),
    "SHA-512": lambda b: hashlib.sha512(b).hexdigest(),
    "SHA-1": lambda b: hashlib.sha1(b).hexdigest(),
    "MD5": lambda b: hashlib.md5(b).hexdigest(),
    "CRC32": lambda b: "%08x" % (zlib.crc32(b) & 0xffffffff),
}


def test_hash_all_algorithms(srv):
    data = (srv.home / "digits.bin").read_bytes()
    f = srv.login()
    assert f.sendcmd("OPTS HASH") == "200 SHA-256"
    for name, fn in DIGESTS.items():
        assert f.sendcmd(f"OPTS HASH {name.lower()}") == f"200 {name}"
        r = f.sendcmd("HASH digits.bin")
        assert r == f"213 {name} 0-{len(data)} {fn(data)} /digits.bin", r
    assert code(f, "OPTS HASH SHA-3") == "501"
    assert code(f, "HASH missing.bin") == "550"
    assert code(f, "HASH sub") == "550"
    f.quit()


def test_hash_aliases(srv):
    data = HELLO
    f = srv.login()
    assert f.sendcmd("XCRC hello.txt") == "250 " + DIGESTS["CRC32"](data)
    assert f.sendcmd("XMD5 hello.txt") == "250 " + DIGESTS["MD5"](data)
    assert f.sendcmd("XSHA1 hello.txt") == "250 " + DIGESTS["SHA-1"](data)
    assert f.sendcmd("XSHA256 hello.txt") == "250 " + DIGESTS["SHA-256"](data)
    f.quit()


def test_hash_size_limit(start_server):
    srv = start_server(mode="config", conf_extra={"hash_max_mib": "1"})
    (srv.home / "two.bin").write_bytes(b"\0" * (2 << 20))
    f = srv.login()
    with pytest.raises(ftplib.error_perm, match=r"^550 .*too large"):
        f.sendcmd("HASH two.bin")
    assert f.sendcmd("HASH hello.txt").startswith("213 SHA-256 ")
    f.quit()


def test_hash_disabled(start_server):
    srv = start_server(mode="config", conf_extra={"hash_max_mib": "0"})
    f = srv.login()
    assert code(f, "HASH hello.txt") == "502"
    assert code(f, "XMD5 hello.txt") == "502"
    assert "HASH" not in f.sendcmd("FEAT")
    f.quit()


def test_opts_utf8_and_names(srv):
    f = srv.login()
    assert f.sendcmd("OPTS UTF8 ON").startswith("200 ")
    assert code(f, "OPTS NOSUCH") == "501"
    name = "café ☕.txt"
    f.encoding = "utf-8"
    f.storbinary(f"STOR {name}", io.BytesIO(b"utf8"))
    assert (srv.home / name).read_bytes() == b"utf8"
    assert name in f.nlst()
    f.quit()


FEAT_MUST = ["EPRT", "EPSV", "HOST", "MDTM", "MFMT", "PASV", "REST STREAM",
             "SIZE", "TVFS", "UTF8"]


def feats(f):
    r = f.sendcmd("FEAT").splitlines()
    assert r[0].startswith("211-") and r[-1].startswith("211 ")
    assert all(ln.startswith(" ") for ln in r[1:-1])
    return [ln[1:] for ln in r[1:-1]]


def test_feat_before_and_after_login(srv):
    f = srv.connect()
    before = feats(f)
    f.login(srv.user, srv.password)
    after = feats(f)
    assert before == after
    for feat in FEAT_MUST:
        assert feat in after, (feat, after)
    assert "HASH SHA-1;SHA-256*;SHA-512;MD5;CRC32" in after
    mlst = [x for x in after if x.startswith("MLST ")]
    assert mlst and all(fact in mlst[0] for fact in (
        "type*", "size*", "modify*", "perm*", "unique*", "UNIX.mode*",
        "UNIX.owner*", "UNIX.group*"))
    f.voidcmd("OPTS HASH MD5")
    assert "HASH SHA-1;SHA-256;SHA-512;MD5*;CRC32" in feats(f)
    f.quit()


def test_help_lists_what_is_implemented(srv):
    f = srv.login()
    r = f.sendcmd("HELP")
    assert r.startswith("214-") and r.splitlines()[-1].startswith("214 ")
    words = r.split()
    for verb in ("MLSD", "MLST", "STOU", "MFMT", "HASH", "SITE", "REIN", "HOST",
                 "OPTS", "RETR", "STOR", "EPSV"):
        assert verb in words, verb
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
