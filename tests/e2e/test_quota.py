"""Quotas: quota_bytes= and quota_files= users-file flags, enforced
during the upload (552, the partial gone, the old file intact), one
usage shared by all sessions of a user, credits for DELE and overwrites,
and `keepftpd quota NAME --recompute` (never follows a symlink, counts a
hard-linked file once, bounded)."""
import ftplib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from conftest import BIN, IS_ROOT, MODES, NOBODY, TIMEOUT

KiB = 1 << 10
MiB = 1 << 20
SEED_BYTES = 12 + 4 + 6 + 10240  # conftest.seed_tree: hello, .hidden, inner, digits
SEED_FILES = 5  # and the directory sub: directories count as files


def disk_usage(root):
    """Regular files under root, symlinks not followed, inodes once;
    each directory below root is one more file (no bytes)."""
    seen, total, files = set(), 0, 0
    for dirpath, dirnames, filenames in os.walk(root):
        for n in filenames + dirnames:
            st = os.lstat(os.path.join(dirpath, n))
            if st.st_mode & 0o170000 == 0o040000:
                files += 1
                continue
            if not (st.st_mode & 0o170000 == 0o100000):
                continue
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
            files += 1
    return total, files


def make_qdir(rootless):
    d = Path(tempfile.mkdtemp(prefix="kf-quota-", dir="/tmp"))
    d.chmod(0o755)
    if IS_ROOT and rootless:
        os.chown(d, NOBODY, NOBODY)
    return d


@pytest.fixture
def qsrv(start_server, request):
    """start(quota_bytes=..., quota_files=..., rootless=...): a server
    whose user alice has the quota; its quota_dir is srv.qdir."""
    dirs = []

    def start(quota_bytes=0, quota_files=0, rootless=not IS_ROOT, **conf):
        qdir = make_qdir(rootless)
        dirs.append(qdir)
        srv = start_server(conf_extra={"quota_dir": str(qdir), **conf},
                           rootless=rootless)
        srv.qdir = qdir
        set_quota(srv, quota_bytes, quota_files)
        return srv
    yield start
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


def set_quota(srv, nbytes, nfiles):
    r = subprocess.run([BIN, "user", "-f", str(srv.users), "set", srv.user,
                        "--quota-bytes", str(nbytes), "--quota-files", str(nfiles)],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    if IS_ROOT and srv.rootless:
        os.chown(srv.users, NOBODY, NOBODY)


def quota_cmd(srv, *extra):
    return subprocess.run([BIN, "quota", "-f", str(srv.users), "-d", str(srv.qdir),
                           srv.user, *extra], capture_output=True, text=True,
                          timeout=30)


def recorded(srv):
    r = quota_cmd(srv)
    assert r.returncode == 0, r.stderr
    m = re.search(r"bytes=(\d+) files=(\d+)", r.stdout)
    assert m, r.stdout
    return int(m.group(1)), int(m.group(2))


def push(ftp, cmd, data, block=64 * KiB):
    """Sends data on a new data connection; the final reply (text or
    the error's text), and how much the kernel took."""
    conn = ftp.transfercmd(cmd)
    sent = 0
    try:
        while sent < len(data):
            conn.sendall(data[sent:sent + block])
            sent += block
    except (BrokenPipeError, ConnectionResetError):
        pass
    conn.close()
    try:
        return ftp.voidresp(), sent
    except ftplib.Error as e:
        return str(e), sent


def test_quota_exceeded_mid_upload(qsrv):
    srv = qsrv(quota_bytes=SEED_BYTES + 100 * KiB + MiB)
    old = os.urandom(100 * KiB)
    (srv.home / "keep.bin").write_bytes(old)
    f = srv.login(timeout=15)
    f.voidcmd("TYPE I")
    assert recorded(srv) == (SEED_BYTES + 100 * KiB, SEED_FILES + 1)
    r, _ = push(f, "STOR keep.bin", b"n" * (3 * MiB))
    assert r.startswith("552 "), r
    assert (srv.home / "keep.bin").read_bytes() == old
    assert not [p for p in srv.home.iterdir() if p.name.startswith(".kf-upload")]
    assert recorded(srv) == disk_usage(srv.home)
    m = srv.wait_log(r'STOR path="/keep.bin" bytes=(\d+) ms=\d+ status=quota')
    assert m and int(m.group(1)) >= MiB
    # what fits still goes, and the session goes on
    r, _ = push(f, "STOR small.bin", b"s" * (512 * KiB))
    assert r.startswith("226"), r
    assert recorded(srv) == disk_usage(srv.home)
    f.quit()


def test_appe_over_quota_is_cut_back(qsrv):
    srv = qsrv(quota_bytes=SEED_BYTES + 64 * KiB)
    f = srv.login(timeout=15)
    f.voidcmd("TYPE I")
    r, _ = push(f, "APPE hello.txt", b"a" * (256 * KiB))
    assert r.startswith("552 "), r
    assert (srv.home / "hello.txt").read_bytes() == b"hello world\n"
    r, _ = push(f, "APPE new.txt", b"a" * (256 * KiB))
    assert r.startswith("552 "), r
    assert not (srv.home / "new.txt").exists()
    assert recorded(srv) == disk_usage(srv.home) == (SEED_BYTES, SEED_FILES)
    f.quit()


def test_file_count_quota(qsrv):
    srv = qsrv(quota_files=SEED_FILES + 1)
    f = srv.login()
    f.voidcmd("TYPE I")
    assert push(f, "STOR a.txt", b"a")[0].startswith("226")
    r = f.sendcmd("PASV")
    with pytest.raises(ftplib.error_perm, match=rf"^552 Quota exceeded: at most {SEED_FILES + 1} files"):
        f.sendcmd("STOR b.txt")
    # replacing a file keeps the count: allowed at the limit
    assert push(f, "STOR a.txt", b"again")[0].startswith("226")
    assert (srv.home / "a.txt").read_bytes() == b"again"
    f.sendcmd("PASV")
    with pytest.raises(ftplib.error_perm, match=r"^552 "):
        f.sendcmd("STOU")
    assert recorded(srv) == disk_usage(srv.home)
    # DELE frees a file
    f.delete("a.txt")
    assert push(f, "STOR b.txt", b"b")[0].startswith("226")
    assert recorded(srv) == disk_usage(srv.home) == (SEED_BYTES + 1, SEED_FILES + 1)
    assert r.startswith("227")
    assert (f"Quota: {SEED_BYTES + 1} of unlimited bytes, {SEED_FILES + 1} of "
            f"{SEED_FILES + 1} files" in f.sendcmd("STAT"))
    f.quit()


def test_dele_and_overwrite_free_bytes(qsrv):
    srv = qsrv(quota_bytes=SEED_BYTES + MiB)
    f = srv.login(timeout=15)
    f.voidcmd("TYPE I")
    assert push(f, "STOR one.bin", b"1" * (800 * KiB))[0].startswith("226")
    r, _ = push(f, "STOR two.bin", b"2" * (800 * KiB))
    assert r.startswith("552"), r
    f.delete("one.bin")
    assert recorded(srv) == (SEED_BYTES, SEED_FILES)
    assert push(f, "STOR two.bin", b"2" * (800 * KiB))[0].startswith("226")
    # an overwrite credits the old size once the new file is in place
    assert push(f, "STOR two.bin", b"3" * (100 * KiB))[0].startswith("226")
    assert recorded(srv) == (SEED_BYTES + 100 * KiB, SEED_FILES + 1)
    # RNTO over a file frees it
    assert push(f, "STOR three.bin", b"3" * KiB)[0].startswith("226")
    f.rename("three.bin", "two.bin")
    assert recorded(srv) == disk_usage(srv.home) == (SEED_BYTES + KiB, SEED_FILES + 1)
    f.quit()


@pytest.mark.parametrize("mode", MODES)
def test_two_sessions_cannot_pass_the_quota_together(qsrv, mode):
    """Two sessions of one user upload 2 MiB each at once against 3 MiB
    left: the uploads interleave block by block, and together they never
    store more than the quota."""
    room = 3 * MiB
    srv = qsrv(quota_bytes=SEED_BYTES + room, rootless=mode == "rootless")
    a, b = srv.login(timeout=15), srv.login(timeout=15)
    for f in (a, b):
        f.voidcmd("TYPE I")
    ca, cb = a.transfercmd("STOR a.bin"), b.transfercmd("STOR b.bin")
    block = b"q" * (64 * KiB)
    open_conns = {"a": ca, "b": cb}
    for _ in range(32):  # 2 MiB each, alternating
        for k, c in list(open_conns.items()):
            try:
                c.sendall(block)
            except (BrokenPipeError, ConnectionResetError):
                del open_conns[k]
    replies = []
    for f, c in ((a, ca), (b, cb)):
        c.close()
        try:
            replies.append(f.voidresp())
        except ftplib.Error as e:
            replies.append(str(e))
    assert sum(r.startswith("552") for r in replies) >= 1, replies
    used, files = disk_usage(srv.home)
    assert used <= SEED_BYTES + room
    assert recorded(srv) == (used, files)
    for f in (a, b):
        f.quit()


def test_usage_survives_sessions_and_recompute_matches(qsrv):
    srv = qsrv(quota_bytes=SEED_BYTES + 4 * MiB)
    r = quota_cmd(srv)
    assert "no usage recorded yet" in r.stdout
    f = srv.login()
    f.voidcmd("TYPE I")
    assert push(f, "STOR x.bin", b"x" * MiB)[0].startswith("226")
    f.quit()
    before = recorded(srv)
    r = quota_cmd(srv, "--recompute")
    assert r.returncode == 0, r.stderr
    assert recorded(srv) == before == disk_usage(srv.home)
    # the configuration names the users file and quota_dir
    r = subprocess.run([BIN, "quota", "-c", str(srv.conf), srv.user],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == (f"alice bytes={before[0]} files={before[1]} "
                        f"quota_bytes={SEED_BYTES + 4 * MiB} quota_files=0\n")
    r = subprocess.run([BIN, "quota", "-c", str(srv.conf), "nosuch"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "no user nosuch" in r.stderr
    r = subprocess.run([BIN, "quota"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "usage:" in r.stderr


def test_recompute_never_follows_symlinks(qsrv):
    """A symlink loop, a symlink to a big file and one to a directory
    outside the home, hard links: only the home's own regular files
    count, each inode once."""
    srv = qsrv(quota_bytes=10 * MiB)
    outside = Path(tempfile.mkdtemp(prefix="kf-outside-", dir="/tmp"))
    try:
        (outside / "big.bin").write_bytes(b"o" * (5 * MiB))
        os.symlink(outside, srv.home / "out-dir")
        os.symlink(outside / "big.bin", srv.home / "out-file")
        os.symlink("..", srv.home / "sub" / "loop")
        os.symlink("loop2", srv.home / "loop1")
        os.symlink("loop1", srv.home / "loop2")
        (srv.home / "linked.bin").write_bytes(b"l" * 3000)
        os.link(srv.home / "linked.bin", srv.home / "sub" / "linked-again.bin")
        r = quota_cmd(srv, "--recompute")
        assert r.returncode == 0, r.stderr
        assert recorded(srv) == (SEED_BYTES + 3000, SEED_FILES + 1)
        assert disk_usage(srv.home) == (SEED_BYTES + 3000, SEED_FILES + 1)
        usage_file = srv.qdir / srv.user
        assert len(usage_file.read_bytes()) == 71
        # a login reads the recorded usage as is
        f = srv.login()
        f.voidcmd("TYPE I")
        assert push(f, "STOR y.bin", b"y" * 10)[0].startswith("226")
        f.quit()
        assert recorded(srv) == (SEED_BYTES + 3010, SEED_FILES + 2)
    finally:
        shutil.rmtree(outside, ignore_errors=True)


def test_recompute_is_bounded(qsrv):
    srv = qsrv(quota_bytes=MiB)
    deep = srv.home
    for i in range(40):
        deep = deep / f"d{i}"
    deep.mkdir(parents=True)
    r = quota_cmd(srv, "--recompute")
    assert r.returncode == 1
    assert "deeper than 32 levels" in r.stderr
    assert "no usage recorded yet" in quota_cmd(srv).stdout
    # a session that cannot count the usage refuses uploads, clearly
    f = srv.login()
    f.voidcmd("TYPE I")
    with pytest.raises(ftplib.error_temp, match=r"^451 Quota usage unknown"):
        f.storbinary("STOR z.bin", __import__("io").BytesIO(b"z"))
    assert f.sendcmd("NOOP").startswith("200")
    f.quit()
    assert srv.wait_log(r'quota usage of user="alice" unknown')


def test_quota_dir_unavailable_refuses_the_login(start_server):
    srv = start_server(conf_extra={"quota_dir": "/nonexistent/keepftpd-quota"},
                       rootless=not IS_ROOT)
    set_quota(srv, MiB, 0)
    f = srv.connect()
    with pytest.raises(ftplib.error_temp, match=r"^421 Quota state unavailable"):
        f.login(srv.user, srv.password)
    # anonymous has no quota: unaffected
    srv.anon_login().quit()
    assert srv.wait_log(r'quota file of user="alice" in '
                        r'quota_dir="/nonexistent/keepftpd-quota" unusable')


def test_shared_quota_dir_refuses_the_login(qsrv):
    """A quota_dir others may write could hold a link to another file:
    refused, and the session never starts."""
    srv = qsrv(quota_bytes=MiB)
    srv.qdir.chmod(0o777)
    f = srv.connect()
    with pytest.raises(ftplib.error_temp, match=r"^421 Quota state unavailable"):
        f.login(srv.user, srv.password)
    assert srv.wait_log(r'quota file of user="alice" .*: Operation not permitted')


def test_usage_file_is_outside_the_root_and_not_reachable(qsrv):
    srv = qsrv(quota_bytes=MiB)
    f = srv.login()
    names = f.nlst("-a")
    assert not any("usage" in n or n == srv.user for n in names)
    with pytest.raises(ftplib.error_perm):
        f.sendcmd(f"SIZE {srv.qdir}/{srv.user}")
    f.quit()
    assert (srv.qdir / srv.user).stat().st_mode & 0o777 == 0o600


def test_rest_past_the_end_of_a_new_file_leaves_nothing(qsrv):
    srv = qsrv(quota_files=SEED_FILES + 1)
    f = srv.login()
    f.voidcmd("TYPE I")
    f.sendcmd("PASV")
    f.sendcmd("REST 100")
    with pytest.raises(ftplib.error_perm, match=r"^553"):
        f.sendcmd("STOR missing.bin")
    assert not (srv.home / "missing.bin").exists()
    assert recorded(srv) == disk_usage(srv.home) == (SEED_BYTES, SEED_FILES)
    f.quit()


def test_directories_count_as_files(qsrv):
    """MKD charges one file of quota_files (552 at the limit, nothing
    made), RMD gives it back; a recompute counts directories the same."""
    srv = qsrv(quota_files=SEED_FILES + 1)
    f = srv.login()
    assert recorded(srv) == (SEED_BYTES, SEED_FILES)
    f.mkd("d1")
    assert recorded(srv) == (SEED_BYTES, SEED_FILES + 1)
    with pytest.raises(ftplib.error_perm, match="^552 "):
        f.mkd("d2")
    assert not (srv.home / "d2").exists()
    f.rmd("d1")
    assert recorded(srv) == (SEED_BYTES, SEED_FILES)
    f.mkd("d3")
    f.quit()
    assert recorded(srv) == disk_usage(srv.home) == (SEED_BYTES, SEED_FILES + 1)
    r = quota_cmd(srv, "--recompute")
    assert r.returncode == 0, r.stderr
    assert recorded(srv) == (SEED_BYTES, SEED_FILES + 1)


# ---------------------------------------------------------------------------
# a STOR's temporary file (issue 12 item 2)

def _temps(root):
    return [p for p in Path(root).rglob("*") if p.name.startswith(".kf-upload-")]


def _start_slow_stor(f, name, first=b"p" * 100 * KiB):
    """STOR begun: the first bytes sent and written, the data connection
    left open."""
    f.voidcmd("TYPE I")
    conn = f.transfercmd(f"STOR {name}")
    conn.sendall(first)
    return conn


def _kill_session_worker(srv):
    """SIGKILL the one post-login worker (kf-session) of the server."""
    from conftest import descendants_named, wait_for
    workers = wait_for(lambda: len(descendants_named(srv.pid, "kf-session")) == 1 and
                       descendants_named(srv.pid, "kf-session"))
    assert workers and len(workers) == 1, workers
    os.kill(workers[0], 9)
    assert wait_for(lambda: not descendants_named(srv.pid, "kf-session"))


def _listing(f, arg):
    lines = []
    f.retrlines(f"LIST {arg}", lines.append)
    return "\n".join(lines)


@pytest.mark.parametrize("rootless", [False, True] if IS_ROOT else [True])
def test_unnamed_upload_is_invisible_and_dies_with_its_worker(qsrv, rootless):
    """O_TMPFILE: during a STOR no name exists at all (not in another
    session's LIST -a, not on disk); kill -9 of the worker leaves no file
    and the quota as it was."""
    srv = qsrv(quota_bytes=SEED_BYTES + 10 * MiB, rootless=rootless)
    names = sorted(os.listdir(srv.home))
    f = srv.login()
    before = recorded(srv)
    conn = _start_slow_stor(f, "big.bin")
    g = srv.login()
    text = _listing(g, "-a")
    assert ".kf-upload-" not in text and "big.bin" not in text
    assert sorted(os.listdir(srv.home)) == names
    g.quit()
    assert recorded(srv) == before
    _kill_session_worker(srv)
    conn.close()
    assert sorted(os.listdir(srv.home)) == names
    assert recorded(srv) == before == disk_usage(srv.home)
    # and a finished upload is charged at its end
    h = srv.login()
    assert push(h, "STOR done.bin", b"d" * 1000)[0].startswith("226")
    assert recorded(srv) == (before[0] + 1000, before[1] + 1) == disk_usage(srv.home)
    h.quit()


def test_named_fallback_is_hidden_denied_and_swept(qsrv):
    """upload_tmpfile = no forces the named fallback: the temporary name
    exists on disk but no session can list, RETR, SIZE, DELE or rename it;
    kill -9 leaves it, uncounted; the next upload into that directory
    removes it once it is KF_UPLOAD_ORPHAN_AGE old."""
    srv = qsrv(quota_bytes=SEED_BYTES + 10 * MiB, upload_tmpfile="no")
    f = srv.login()
    before = recorded(srv)
    conn = _start_slow_stor(f, "big.bin")
    from conftest import wait_for
    temps = wait_for(lambda: _temps(srv.home))
    assert len(temps) == 1
    tmp = temps[0].name
    g = srv.login()
    assert tmp not in _listing(g, "-a")
    assert tmp not in g.nlst("-a")
    for cmd in (f"SIZE {tmp}", f"MDTM {tmp}", f"DELE {tmp}", f"RNFR {tmp}",
                f"STAT {tmp}", f"MLST {tmp}"):
        with pytest.raises(ftplib.error_perm, match="^550 "):
            g.sendcmd(cmd)
    with pytest.raises(ftplib.error_perm, match="^550 "):
        g.retrbinary(f"RETR {tmp}", lambda b: None)
    # a live upload's file is never swept, however old
    os.utime(temps[0], (1600000000, 1600000000))
    assert push(g, "STOR other.bin", b"o")[0].startswith("226")
    assert temps[0].exists()
    g.quit()
    _kill_session_worker(srv)
    conn.close()
    assert temps[0].exists()                       # the orphan
    assert recorded(srv) == (before[0] + 1, before[1] + 1)   # other.bin only
    r = quota_cmd(srv, "--recompute")
    assert r.returncode == 0, r.stderr
    assert recorded(srv) == (before[0] + 1, before[1] + 1)
    # a fresh orphan stays (it may be an upload just starting) ...
    os.utime(temps[0], None)
    h = srv.login()
    assert push(h, "STOR third.bin", b"t")[0].startswith("226")
    assert temps[0].exists()
    # ... an old one goes with the next upload into its directory
    os.utime(temps[0], (1600000000, 1600000000))
    assert push(h, "STOR third.bin", b"t")[0].startswith("226")
    assert not temps[0].exists()
    h.quit()
    assert recorded(srv) == (before[0] + 2, before[1] + 2) == disk_usage(srv.home)


def test_quota_cut_upload_in_xferlog(qsrv):
    """Issue 16: a quota-cut STOR is an xferlog line with status i and
    the bytes that were moved; with xferlog_file alone the log stays on
    stderr, line for line."""
    xdir = Path(tempfile.mkdtemp(prefix="kf-xfer-"))
    xdir.chmod(0o755)
    try:
        srv = qsrv(quota_bytes=SEED_BYTES + MiB,
                   xferlog_file=str(xdir / "xferlog"))
        f = srv.login(timeout=15)
        f.voidcmd("TYPE I")
        r, _ = push(f, "STOR big.bin", b"n" * (3 * MiB))
        assert r.startswith("552 "), r
        f.quit()
        m = srv.wait_log(r'STOR path="/big.bin" bytes=(\d+) ms=\d+ status=quota '
                         r'user="alice"')
        assert m and int(m.group(1)) >= MiB
        got = []

        def lines():
            p = xdir / "xferlog"
            got[:] = p.read_text().split() if p.exists() else []
            return got
        from conftest import wait_for
        assert wait_for(lines)
        assert got[8:] == ["/big.bin", "b", "_", "i", "r", "alice", "ftp", "0",
                           "*", "i"] and got[7] == m.group(1), got
    finally:
        shutil.rmtree(xdir, ignore_errors=True)
