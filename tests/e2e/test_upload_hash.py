"""Digests stored on upload (issue 18 item 5, hash_store = xattr): an
upload's SHA-256 (and the other hash_store_algos) computed on the fly
and kept in the user.keepftpd.hash extended attribute with the file's
size and mtime; HASH and XSHA* answer from it while size and mtime
match, and read the file when they do not; a malformed record is never
trusted; APPE and REST+STOR drop the record; hash_store = off stores
and reads nothing. As root and rootless."""

import errno
import ftplib
import hashlib
import io
import os
import shutil
import struct
import subprocess
import zlib

import pytest

from conftest import BIN, MODES, build_server, code, stor_bytes

XATTR = "user.keepftpd.hash"
IDS = {"SHA-1": 1, "SHA-256": 2, "SHA-512": 3, "MD5": 4, "CRC32": 5}
LENS = {1: 20, 2: 32, 3: 64, 4: 16, 5: 4}
DATA = os.urandom(300_000) + b"end"


def digest(name, data):
    if name == "CRC32":
        return struct.pack(">I", zlib.crc32(data))
    return hashlib.new(name.replace("-", "").lower(), data).digest()


def record(size, mtime_ns, digests, count=None):
    """A version 1 record (src/fs/hash_rec.h); digests: {id: bytes}."""
    out = b"KFH\x01" + struct.pack(">QQI", size, mtime_ns // 10**9, mtime_ns % 10**9)
    out += bytes([len(digests) if count is None else count])
    for i in sorted(digests):
        out += bytes([i]) + digests[i]
    return out


def parse(rec):
    assert rec[:4] == b"KFH\x01"
    size, sec, nsec = struct.unpack(">QQI", rec[4:24])
    n, at, got = rec[24], 25, {}
    for _ in range(n):
        i = rec[at]
        got[i] = rec[at + 1:at + 1 + LENS[i]]
        at += 1 + LENS[i]
    assert at == len(rec)
    return size, sec * 10**9 + nsec, got


def xattrs_work(path):
    probe = path / ".xattr-probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, "user.probe", b"1")
        return True
    except OSError as e:
        if e.errno in (errno.EOPNOTSUPP, errno.ENOTSUP):
            return False
        raise
    finally:
        probe.unlink()


def start(start_server, mode, **conf):
    settings = {"hash_store": "xattr", "hash_store_algos": "sha256,sha1,md5"}
    settings.update(conf)
    srv = start_server(mode="config", rootless=mode == "rootless", conf_extra=settings)
    if not xattrs_work(srv.home):
        pytest.skip(f"{srv.home}: the file system keeps no user.* extended attributes")
    return srv


@pytest.fixture(params=MODES)
def hsrv(request, start_server):
    return start(start_server, request.param)


def hash_reply(f, name, path):
    f.sendcmd(f"OPTS HASH {name}")
    return f.sendcmd(f"HASH {path}")


def want_hash(name, data, path):
    return f"213 {name} 0-{len(data)} {digest(name, data).hex()} /{path}"


def forge(path, hexdigest_of=b"forged"):
    """A well-formed record with the file's size and mtime but wrong digests."""
    st = os.stat(path)
    fake = {i: digest(n, hexdigest_of) for n, i in IDS.items() if i in (1, 2, 4)}
    os.setxattr(path, XATTR, record(st.st_size, st.st_mtime_ns, fake))
    return fake


def test_stor_stores_the_digests_and_hash_answers(hsrv):
    with hsrv.login() as f:
        stor_bytes(f, "up.bin", DATA)
        p = hsrv.home / "up.bin"
        st = os.stat(p)
        size, mtime_ns, got = parse(os.getxattr(p, XATTR))
        assert (size, mtime_ns) == (len(DATA), st.st_mtime_ns)
        assert got == {1: digest("SHA-1", DATA), 2: digest("SHA-256", DATA),
                       4: digest("MD5", DATA)}
        for name in ("SHA-256", "SHA-1", "MD5", "SHA-512", "CRC32"):
            assert hash_reply(f, name, "up.bin") == want_hash(name, DATA, "up.bin")
        assert f.sendcmd("XSHA256 up.bin") == "250 " + digest("SHA-256", DATA).hex()


def test_a_matching_record_is_what_hash_answers(hsrv):
    """A record forged with the file's size and mtime is believed: the
    answer comes from the attribute, not from reading the file."""
    with hsrv.login() as f:
        stor_bytes(f, "up.bin", DATA)
        p = hsrv.home / "up.bin"
        fake = forge(p)
        assert hash_reply(f, "SHA-256", "up.bin") == \
            f"213 SHA-256 0-{len(DATA)} {fake[2].hex()} /up.bin"
        assert f.sendcmd("XMD5 up.bin") == "250 " + fake[4].hex()
        # not stored: read from the file
        assert f.sendcmd("XCRC up.bin") == "250 " + digest("CRC32", DATA).hex()


def test_a_changed_file_is_read_again(hsrv):
    with hsrv.login() as f:
        stor_bytes(f, "up.bin", DATA)
        p = hsrv.home / "up.bin"
        forge(p)
        st = os.stat(p)
        # another mtime, same size
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
        assert hash_reply(f, "SHA-256", "up.bin") == want_hash("SHA-256", DATA, "up.bin")
        # another size, the recorded mtime put back
        forge(p)
        st = os.stat(p)
        with open(p, "ab") as w:
            w.write(b"more")
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert os.stat(p).st_mtime_ns == st.st_mtime_ns
        assert hash_reply(f, "SHA-256", "up.bin") == \
            want_hash("SHA-256", DATA + b"more", "up.bin")


def malformed(size, mtime_ns, fake):
    good = record(size, mtime_ns, fake)
    sec, nsec = mtime_ns // 10**9, mtime_ns % 10**9
    yield "version 2", b"KFH\x02" + good[4:]
    yield "bad magic", b"KFX\x01" + good[4:]
    yield "trailing byte", good + b"\x00"
    yield "truncated digest", good[:-1]
    yield "head only", good[:25]
    yield "count 0", good[:24] + b"\x00" + good[25:]
    yield "count too high", good[:24] + b"\x06" + good[25:]
    yield "unknown id", record(size, mtime_ns, fake).replace(b"\x02" + fake[2], b"\x09" + fake[2])
    yield "ids repeat", record(size, mtime_ns, {2: fake[2]}, count=2) + b"\x02" + fake[2]
    yield "ids descending", (b"KFH\x01" + struct.pack(">QQI", size, sec, nsec) + b"\x02"
                             + b"\x04" + fake[4] + b"\x02" + fake[2])
    yield "nsec over 1e9", b"KFH\x01" + struct.pack(">QQI", size, sec - 1, nsec + 10**9) + good[24:]
    yield "longer than the bound", good + b"\x00" * 300
    yield "empty", b""


def test_a_malformed_record_is_never_trusted(hsrv):
    with hsrv.login() as f:
        stor_bytes(f, "up.bin", DATA)
        p = hsrv.home / "up.bin"
        st = os.stat(p)
        fake = {2: digest("SHA-256", b"forged"), 4: digest("MD5", b"forged")}
        for why, rec in malformed(st.st_size, st.st_mtime_ns, fake):
            os.setxattr(p, XATTR, rec)
            assert os.stat(p).st_mtime_ns == st.st_mtime_ns
            assert hash_reply(f, "SHA-256", "up.bin") == \
                want_hash("SHA-256", DATA, "up.bin"), why
        # the same bytes well-formed are believed (the cases above differ
        # from a trusted record only in what makes them malformed)
        os.setxattr(p, XATTR, record(st.st_size, st.st_mtime_ns, fake))
        assert hash_reply(f, "SHA-256", "up.bin").split()[3] == fake[2].hex()


def test_appe_and_rest_stor_drop_the_record(hsrv):
    with hsrv.login() as f:
        p = hsrv.home / "up.bin"
        stor_bytes(f, "up.bin", DATA)
        assert os.getxattr(p, XATTR)
        stor_bytes(f, "up.bin", b"tail", cmd="APPE")
        with pytest.raises(OSError) as e:
            os.getxattr(p, XATTR)
        assert e.value.errno == errno.ENODATA
        assert hash_reply(f, "SHA-256", "up.bin") == \
            want_hash("SHA-256", DATA + b"tail", "up.bin")
        # a forged record, then REST + STOR over it
        forge(p)
        f.sendcmd("TYPE I")
        f.storbinary("STOR up.bin", io.BytesIO(b"NEW"), rest=100)
        with pytest.raises(OSError) as e:
            os.getxattr(p, XATTR)
        assert e.value.errno == errno.ENODATA
        assert hash_reply(f, "SHA-256", "up.bin") == \
            want_hash("SHA-256", DATA[:100] + b"NEW", "up.bin")
        # APPE that makes a new file stores nothing either
        stor_bytes(f, "new.bin", b"fresh", cmd="APPE")
        with pytest.raises(OSError):
            os.getxattr(hsrv.home / "new.bin", XATTR)


def test_stou_and_type_a_store_what_is_on_disk(hsrv):
    with hsrv.login() as f:
        r = f.storbinary("STOU u.bin", io.BytesIO(DATA))
        name = r.split("unique file name: ")[1].rstrip(").")
        p = hsrv.home / name
        assert parse(os.getxattr(p, XATTR))[2][2] == digest("SHA-256", DATA)
        assert f.sendcmd(f"XSHA256 {name}") == "250 " + digest("SHA-256", DATA).hex()
        # TYPE A: CRLF on the wire, LF on disk; the digest is the disk's
        f.storlines("STOR a.txt", io.BytesIO(b"one\r\ntwo\r\n" * 1000))
        disk = (hsrv.home / "a.txt").read_bytes()
        assert disk == b"one\ntwo\n" * 1000
        assert parse(os.getxattr(hsrv.home / "a.txt", XATTR))[2][2] == \
            digest("SHA-256", disk)


def test_a_stored_digest_answers_above_the_size_limit(start_server):
    srv = start(start_server, MODES[0], hash_max_mib="1")
    big = os.urandom(3 * 1024 * 1024)
    with srv.login() as f:
        stor_bytes(f, "big.bin", big)
        assert f.sendcmd("XSHA256 big.bin") == "250 " + digest("SHA-256", big).hex()
        p = srv.home / "big.bin"
        st = os.stat(p)
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
        assert code(f, "XSHA256 big.bin") == "550"


@pytest.mark.parametrize("mode", MODES)
def test_hash_store_off_stores_and_trusts_nothing(start_server, mode):
    srv = start(start_server, mode, hash_store="off")
    with srv.login() as f:
        stor_bytes(f, "up.bin", DATA)
        p = srv.home / "up.bin"
        with pytest.raises(OSError) as e:
            os.getxattr(p, XATTR)
        assert e.value.errno == errno.ENODATA
        forge(p)
        assert hash_reply(f, "SHA-256", "up.bin") == want_hash("SHA-256", DATA, "up.bin")


def test_hash_store_algos_is_checked():
    srv = build_server(mode="config", conf_extra={"hash_store_algos": "sha256,sha3"})
    try:
        r = subprocess.run([BIN, "-t", "-c", str(srv.conf)], capture_output=True,
                           text=True, timeout=30)
    finally:
        shutil.rmtree(srv.base, ignore_errors=True)
    assert r.returncode != 0
    assert "hash_store_algos: 'sha256,sha3' is not a list" in r.stderr


def test_named_temporary_file_gets_the_record_too(start_server):
    """upload_tmpfile = no: the .kf-upload-* file is renamed, record and all."""
    srv = start(start_server, MODES[0], upload_tmpfile="no")
    with srv.login() as f:
        stor_bytes(f, "up.bin", DATA)
        assert parse(os.getxattr(srv.home / "up.bin", XATTR))[2][2] == \
            digest("SHA-256", DATA)
        assert not [n for n in os.listdir(srv.home) if n.startswith(".kf-upload-")]
