"""Big transfers, aborted transfers, temporary upload files."""

import ftplib
import hashlib
import io
import os
import socket
import time

import pytest

from conftest import stor_bytes, code

MiB = 1024 * 1024


class Sha:
    def __init__(self):
        self.h = hashlib.sha256()
        self.n = 0

    def __call__(self, chunk):
        self.h.update(chunk)
        self.n += len(chunk)


def test_64mib_upload_download(rsrv):
    src = rsrv.base / "big.bin"
    block = os.urandom(MiB)
    with open(src, "wb") as fh:
        for i in range(64):
            fh.write(bytes([i]) + block[1:])
    want = hashlib.sha256(src.read_bytes()).hexdigest()
    f = rsrv.login(timeout=60)
    with open(src, "rb") as fh:
        assert f.storbinary("STOR big.bin", fh, blocksize=256 * 1024).startswith("226 ")
    assert f.sendcmd("SIZE big.bin") == f"213 {64 * MiB}"
    on_disk = hashlib.sha256((rsrv.home / "big.bin").read_bytes()).hexdigest()
    assert on_disk == want
    sha = Sha()
    assert f.retrbinary("RETR big.bin", sha, blocksize=256 * 1024).startswith("226 ")
    assert sha.n == 64 * MiB
    assert sha.h.hexdigest() == want
    f.quit()


def temp_files(root):
    return [n for n in os.listdir(root) if n.startswith(".kf-upload-")]


def test_aborted_upload_keeps_old_file(srv):
    old = b"the good old content\n"
    (srv.home / "keep.txt").write_bytes(old)
    if os.geteuid() == 0:
        os.chown(srv.home / "keep.txt", 65534, 65534)
    f = srv.login()
    f.voidcmd("TYPE I")
    conn = f.transfercmd("STOR keep.txt")
    conn.sendall(b"x" * MiB)
    # while the data connection is still open, a temp file is being written
    assert (srv.home / "keep.txt").read_bytes() == old
    # ABOR with Telnet IP + Synch as clients do (ftplib.abort), then the replies
    resp = f.abort()
    assert resp.startswith(("426", "225", "226")), resp
    if resp.startswith("426"):
        assert f.getresp().startswith("226")
    conn.close()
    assert f.sendcmd("NOOP").startswith("200 ")
    assert (srv.home / "keep.txt").read_bytes() == old
    assert temp_files(srv.home) == []
    f.quit()


def abor(f, conn):
    """ABOR mid-transfer: 426 for the transfer, then 226 for the ABOR itself."""
    f.sock.sendall(b"ABOR\r\n")
    first = f.getline()
    assert first.startswith("426"), first
    second = f.getline()
    assert second.startswith("226"), second
    conn.close()


def test_aborted_upload_manual_abor(srv):
    old = b"old\n"
    (srv.home / "keep2.txt").write_bytes(old)
    f = srv.login()
    f.voidcmd("TYPE I")
    conn = f.transfercmd("STOR keep2.txt")
    conn.sendall(b"y" * MiB)
    abor(f, conn)
    assert (srv.home / "keep2.txt").read_bytes() == old
    assert temp_files(srv.home) == []
    assert f.sendcmd("NOOP").startswith("200 ")
    f.quit()


def test_abor_during_download(rsrv):
    big = rsrv.home / "dl.bin"
    with open(big, "wb") as fh:
        fh.write(os.urandom(MiB) * 32)
    f = rsrv.login()
    f.voidcmd("TYPE I")
    conn = f.transfercmd("RETR dl.bin")
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    conn.recv(1024)  # the transfer is running; the server blocks on a full socket
    abor(f, conn)
    assert f.sendcmd("NOOP").startswith("200 ")
    f.quit()


def test_closed_upload_connection_is_complete_upload(srv):
    """A normal STOR replaces the file atomically and leaves no temp file."""
    f = srv.login()
    stor_bytes(f, "atomic.bin", b"1" * 1000)
    stor_bytes(f, "atomic.bin", b"2" * 500)
    assert (srv.home / "atomic.bin").read_bytes() == b"2" * 500
    assert temp_files(srv.home) == []
    f.quit()


def test_many_sequential_sessions_login_promptly(rsrv):
    """Logins are answered at once, every time (no lost wake-ups)."""
    slow = []
    for i in range(40):
        t0 = time.monotonic()
        f = rsrv.connect(timeout=3)
        try:
            f.login("anonymous", "x")
        except Exception as e:  # noqa: BLE001 - recorded below
            slow.append((i, repr(e)))
            f.close()
            break
        dt = time.monotonic() - t0
        if dt > 2:
            slow.append((i, f"{dt:.1f}s"))
        f.quit()
    assert slow == []


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
