"""Protocol fixes of issue 12 (items 11, 12, 14, 15): REST kept until the
transfer that uses it, ls-style flags for LIST and NLST, HELP SITE and the
SITE IDLE range, and one reply per command when a TLS data connection is
refused."""

import ftplib
import io
import ssl

import pytest

from conftest import HELLO, IS_ROOT, retr_bytes, code
from tls_helpers import certs, client_ctx, tls_conf, tls_login  # noqa: F401


def nlst(f, arg):
    lines = []
    f.retrlines(f"NLST {arg}".rstrip(), lines.append)
    return lines


def listing(f, arg):
    lines = []
    f.retrlines(f"LIST {arg}".rstrip(), lines.append)
    return lines


# ---------------------------------------------------------------- item 11

def test_rest_survives_commands_that_do_not_transfer(rsrv):
    """REST, then PASV (ftplib's own), TYPE, SIZE, MDTM, EPSV: RETR starts
    at the offset; the transfer uses it up."""
    f = rsrv.login()
    f.sendcmd("REST 5")
    assert retr_bytes(f, "hello.txt") == HELLO[5:]      # PASV, then RETR
    assert retr_bytes(f, "hello.txt") == HELLO           # used up
    f.sendcmd("REST 3")
    f.sendcmd("TYPE I")
    assert f.sendcmd("SIZE hello.txt").startswith("213")
    assert f.sendcmd("MDTM hello.txt").startswith("213")
    f.sendcmd("NOOP")
    assert retr_bytes(f, "hello.txt") == HELLO[3:]
    # another REST replaces it; a refused one leaves none behind
    f.sendcmd("REST 2")
    f.sendcmd("REST 4")
    assert retr_bytes(f, "hello.txt") == HELLO[4:]
    f.sendcmd("REST 4")
    assert code(f, "REST x") == "501"
    assert retr_bytes(f, "hello.txt") == HELLO
    f.quit()


def test_rest_cleared_by_rnfr_and_a_listing(rsrv):
    f = rsrv.login()
    f.sendcmd("REST 5")
    assert f.sendcmd("RNFR hello.txt").startswith("350")
    assert retr_bytes(f, "hello.txt") == HELLO
    f.sendcmd("REST 5")
    nlst(f, "")
    assert retr_bytes(f, "hello.txt") == HELLO
    # REST given in TYPE I does not apply to an ASCII download
    f.sendcmd("REST 5")
    with pytest.raises(ftplib.error_perm, match="^504 "):
        f.retrlines("RETR hello.txt", lambda b: None)    # TYPE A first
    assert retr_bytes(f, "hello.txt") == HELLO
    f.quit()


def test_rest_kept_across_epsv_and_port(rsrv):
    f = rsrv.login()
    f.sendcmd("REST 6")
    f.sendcmd("EPSV")       # a passive port nobody uses: replaced below
    f.set_pasv(False)       # ftplib sends PORT before RETR
    assert retr_bytes(f, "hello.txt") == HELLO[6:]
    f.quit()


# ---------------------------------------------------------------- item 12

def test_nlst_and_list_take_ls_flags(rsrv):
    f = rsrv.login()
    names = nlst(f, "-1")
    assert "hello.txt" in names and ".hidden" not in names
    assert ".hidden" in nlst(f, "-1a")
    assert ".hidden" in nlst(f, "-a -t -r")
    assert sorted(nlst(f, "-1 sub")) == ["inner.txt"]
    long_ = listing(f, "-lth")
    assert any(line.endswith(" hello.txt") for line in long_)
    # -d: the directory itself, not its entries
    d = listing(f, "-d sub")
    assert len(d) == 1 and d[0].startswith("d") and d[0].endswith(" sub")
    d = listing(f, "-ld")
    assert len(d) == 1 and d[0].startswith("d") and d[0].endswith(" .")
    assert nlst(f, "-d sub") == ["sub"]
    # a word with other bytes after '-' is still a name
    (rsrv.home / "-x.txt").write_bytes(b"x")
    assert nlst(f, "-x.txt") == ["-x.txt"]
    f.quit()


# ---------------------------------------------------------------- item 14

def test_help_site_lists_the_site_commands(rsrv):
    f = rsrv.login()
    h = f.sendcmd("HELP SITE")
    assert h.startswith("214-")
    assert "CHMOD" in h and "UMASK" in h and "IDLE" in h
    assert "RETR" not in h
    assert "RETR" in f.sendcmd("HELP")
    f.quit()


def test_site_idle_range_with_a_short_idle_timeout(start_server):
    srv = start_server(mode="config", conf_extra={"idle_timeout": "4"},
                       rootless=not IS_ROOT)
    f = srv.login()
    r = code(f, "SITE IDLE 99999")
    assert r == "501"
    try:
        f.sendcmd("SITE IDLE 99999")
    except ftplib.error_perm as e:
        msg = str(e)
    assert "30..4" not in msg and "4 seconds" in msg
    assert code(f, "SITE IDLE 4") == "200"
    assert code(f, "SITE IDLE 3") == "501"
    f.quit()


# ---------------------------------------------------------------- item 15

@pytest.mark.parametrize("cmd", ["NLST", "LIST", "MLSD"])
def test_refused_tls_data_connection_gets_one_reply(start_server, certs, cmd):
    """A data connection that does not resume the TLS session: 522, and
    nothing more for that command (an empty directory used to add
    '550 Cannot list: Success.', read as the next command's answer)."""
    srv = start_server(conf_extra=tls_conf(certs["cert"], certs["key"]),
                       rootless=not IS_ROOT)
    (srv.home / "empty").mkdir()
    if IS_ROOT:
        import os
        os.chown(srv.home / "empty", 65534, 65534)
    f = tls_login(srv, cls=ftplib.FTP_TLS, ctx=client_ctx())
    with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
        f.retrlines(f"{cmd} empty", lambda line: None)
    with pytest.raises(ftplib.error_perm, match="^522 "):
        f.getresp()
    assert f.sendcmd("NOOP").startswith("200")
    assert f.sendcmd("PWD").startswith("257")
    f.quit()


# ---------------------------------------------------------------- item 3

def _exchange(a, b):
    """renameat2(RENAME_EXCHANGE): the two names swap atomically."""
    import ctypes
    import os
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(-100, os.fsencode(a), -100, os.fsencode(b), 2) != 0:
        raise OSError(ctypes.get_errno(), "renameat2")


@pytest.fixture
def swap_srv(start_server):
    """A rootless server (no chroot: only openat2 and Landlock keep the
    worker in), a file outside its root owned by the session's uid, and
    in the root a file t and a symlink l to that outside file."""
    import os
    srv = start_server(mode="config", rootless=True)
    outside = srv.base / "outside"
    outside.write_bytes(b"secret")
    outside.chmod(0o600)
    os.utime(outside, (1600000000, 1600000000))
    (srv.home / "t").write_bytes(b"t")
    os.symlink(str(outside), srv.home / "l")
    if IS_ROOT:
        for p in (outside, srv.home / "t"):
            os.chown(p, 65534, 65534)
        os.lchown(srv.home / "l", 65534, 65534)
    srv.outside = outside
    return srv


def test_chmod_and_mfmt_never_follow_a_symlink(swap_srv):
    import os
    srv = swap_srv
    f = srv.login()
    assert code(f, "SITE CHMOD 0666 l") == "550"
    assert code(f, "MFMT 20200102030405 l") == "550"
    st = os.stat(srv.outside)
    assert st.st_mode & 0o777 == 0o600 and st.st_mtime == 1600000000
    assert code(f, "SITE CHMOD 0640 t") == "200"
    assert code(f, "MFMT 20200102030405 t") == "213"
    assert os.stat(srv.home / "t").st_mode & 0o777 == 0o640
    f.quit()


def test_chmod_and_mfmt_symlink_swap_race(swap_srv):
    """t and l swap places all the time while SITE CHMOD and MFMT name t:
    the file outside the root keeps its mode and time."""
    import os
    import threading
    srv = swap_srv
    stop = threading.Event()

    def swapper():
        while not stop.is_set():
            _exchange(srv.home / "t", srv.home / "l")

    th = threading.Thread(target=swapper)
    th.start()
    try:
        r = srv.raw()
        assert r.reply().startswith("220")
        r.cmd(f"USER {srv.user}")
        assert r.cmd(f"PASS {srv.password}").startswith("230")
        for _ in range(300):
            batch = 100
            r.send("".join("SITE CHMOD 0666 t\r\nMFMT 20200102030405 t\r\n"
                           for _ in range(batch)))
            for _ in range(2 * batch):
                assert r.reply()[:3] in ("200", "213", "550")
            st = os.stat(srv.outside)
            if st.st_mode & 0o777 != 0o600 or st.st_mtime != 1600000000:
                break
        r.close()
    finally:
        stop.set()
        th.join()
    st = os.stat(srv.outside)
    assert st.st_mode & 0o777 == 0o600, oct(st.st_mode)
    assert st.st_mtime == 1600000000


# ---------------------------------------------------------------- item 8

GiB = 1 << 30


def _sparse(srv, name, size):
    import os
    p = srv.home / name
    with open(p, "wb") as fh:
        fh.truncate(size)
    if IS_ROOT:
        os.chown(p, 65534, 65534)
    return p


def _raw_login(srv):
    r = srv.raw(timeout=30)
    assert r.reply().startswith("220")
    r.cmd(f"USER {srv.user}")
    assert r.cmd(f"PASS {srv.password}").startswith("230")
    return r


def test_abor_stops_a_running_checksum(start_server):
    """XSHA256 of a 32 GiB file takes many seconds; ABOR ends it at
    once: 426 for the checksum, 226 for the ABOR, and the session goes
    on. STAT meanwhile answers the progress."""
    import time
    srv = start_server(mode="config", rootless=not IS_ROOT,
                       conf_extra={"hash_max_mib": "65536"})
    _sparse(srv, "big.bin", 32 * GiB)
    r = _raw_login(srv)
    r.send("XSHA256 big.bin\r\n")
    time.sleep(0.3)
    t0 = time.monotonic()
    st = r.cmd("STAT")
    assert st.startswith("213 Status: ") and "checksummed" in st, st
    r.send("ABOR\r\n")
    assert r.reply().startswith("426 ")
    assert r.reply().startswith("226 ")
    assert time.monotonic() - t0 < 3
    assert r.cmd("NOOP").startswith("200")
    r.close()


def test_idle_limit_stops_a_running_checksum(start_server):
    import time
    srv = start_server(mode="config", rootless=not IS_ROOT,
                       conf_extra={"hash_max_mib": "65536", "idle_timeout": "1"})
    _sparse(srv, "big.bin", 32 * GiB)
    r = _raw_login(srv)
    t0 = time.monotonic()
    rep = r.cmd("XSHA256 big.bin")
    assert rep.startswith("451 ") and "idle time limit" in rep, rep
    assert time.monotonic() - t0 < 3
    r.close()


def test_session_limit_stops_a_running_checksum_with_one_reply(start_server):
    import time
    srv = start_server(mode="config", rootless=not IS_ROOT,
                       conf_extra={"hash_max_mib": "65536",
                                   "session_max_seconds": "2"})
    _sparse(srv, "big.bin", 32 * GiB)
    r = _raw_login(srv)
    t0 = time.monotonic()
    rep = r.cmd("XSHA256 big.bin")
    assert rep.startswith("421 "), rep      # the only answer: no 550 first
    assert r.closed()
    assert time.monotonic() - t0 < 5


def test_anonymous_checksums_have_their_own_cap(start_server):
    srv = start_server(mode="config", rootless=not IS_ROOT,
                       conf_extra={"anon_hash_max_mib": "1"})
    import os
    (srv.anon / "two.bin").write_bytes(b"x" * (2 << 20))
    (srv.home / "two.bin").write_bytes(b"x" * (2 << 20))
    a = srv.anon_login()
    with pytest.raises(ftplib.error_perm, match=r"^550 .*over 1 MiB"):
        a.sendcmd("XSHA256 two.bin")
    assert a.sendcmd("XCRC hello.txt").startswith("250 ")
    a.quit()
    f = srv.login()
    assert f.sendcmd("XSHA256 two.bin").startswith("250 ")
    f.quit()
    srv2 = start_server(mode="config", rootless=not IS_ROOT,
                        conf_extra={"anon_hash_max_mib": "0"})
    a = srv2.anon_login()
    with pytest.raises(ftplib.error_perm, match="^502 "):
        a.sendcmd("XCRC hello.txt")
    assert "HASH" not in a.sendcmd("FEAT")
    a.quit()
    f = srv2.login()
    assert "HASH SHA-1" in f.sendcmd("FEAT")
    f.quit()
    assert os.path.exists(srv.anon / "two.bin")
