"""Shared folders (issue 18 item 3): `folder = NAME SOURCE MOUNT ro|rw`
lines, granted per user (users-file `folders=`, `keepftpd user set
--folders`) and to anonymous sessions (`anon_folders`), kernel-confined:
as root a bind mount in the session's own mount namespace, rootless a
second Landlock rule and a second resolution root. Run as root and
rootless."""

import ftplib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import (BIN, HELLO, IS_ROOT, NOBODY, REPO, TIMEOUT, build_server,
                      descendants_named, make_base, proc_status, retr_bytes,
                      stor_bytes, user_add)

MODES = ["root", "rootless"] if IS_ROOT else ["rootless"]
DOC = b"shared document\n"
BIG = 100000  # in the folder: more than bob's quota
SECRET = b"the source's parent: never reachable\n"


def mountinfo():
    with open("/proc/self/mountinfo") as f:
        return sorted(line.split(" ", 4)[4] for line in f)


def own(path):
    if not IS_ROOT:
        return
    for dirpath, dirnames, filenames in os.walk(path):
        os.lchown(dirpath, NOBODY, NOBODY)
        for n in filenames + dirnames:
            os.lchown(os.path.join(dirpath, n), NOBODY, NOBODY)


def make_source():
    """outer/src is the folder; outer/secret.txt lies beside it."""
    outer = make_base()
    src = outer / "src"
    src.mkdir()
    (src / "doc.txt").write_bytes(DOC)
    (src / "big.bin").write_bytes(b"x" * BIG)
    (outer / "secret.txt").write_bytes(SECRET)
    (src / "abs").symlink_to("/etc/passwd")
    (src / "rel").symlink_to("../../../../../../etc/passwd")
    (src / "up").symlink_to("..")
    (src / "upsecret").symlink_to("../secret.txt")
    own(outer)
    return outer, src


@pytest.fixture(params=MODES)
def fsrv(request):
    rootless = request.param == "rootless"
    outer, src = make_source()
    qdir = outer / "quota"
    qdir.mkdir()
    own(qdir)
    srv = build_server(mode="config", rootless=rootless, conf_extra={
        "folder": f"shared_rw {src} /shared rw\n"
                  f"folder = shared_ro {src} /shared ro",
        "anon_folders": "shared_ro",
        "quota_dir": str(qdir),
    })
    srv.src = src
    srv.outer = outer
    # the users' roots hold the mount point; bob: writable, the ro folder
    (srv.home / "shared").mkdir()
    (srv.anon / "shared").mkdir()
    for name in ("bob", "carol"):
        home = srv.base / name
        home.mkdir()
        (home / "shared").mkdir()
        (home / "mine.txt").write_bytes(HELLO)
        own(home)
    own(srv.home)
    # the symlink to the user's own root, by its host path
    (src / "home").symlink_to(str(srv.home))
    own(src)
    r = user_add(srv.users, "bob", srv.password, srv.base / "bob",
                 extra=["--folders", "shared_ro", "--quota-bytes",
                        str(BIG // 2)])
    assert r.returncode == 0, r.stderr
    r = user_add(srv.users, "carol", srv.password, srv.base / "carol")
    assert r.returncode == 0, r.stderr
    r = subprocess.run([BIN, "user", "-f", str(srv.users), "set", srv.user,
                        "--folders", "shared_rw"], capture_output=True,
                       text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    if rootless and IS_ROOT:
        os.chown(srv.users, NOBODY, NOBODY)
    srv.mounts_before = mountinfo()
    srv.start()
    yield srv
    srv.stop()
    print(srv.log()[-6000:])
    shutil.rmtree(srv.base, ignore_errors=True)
    shutil.rmtree(outer, ignore_errors=True)


def refused(f, cmd):
    with pytest.raises(ftplib.error_perm):
        f.sendcmd(cmd)


def no_retr(f, path):
    with pytest.raises(ftplib.error_perm):
        retr_bytes(f, path)


def test_users_file_flag(fsrv):
    text = fsrv.users.read_text()
    assert "folders=shared_ro" in text and "folders=shared_rw" in text


def test_rw_and_ro_users_share_a_folder(fsrv):
    alice = fsrv.login()
    bob = fsrv.login("bob")
    assert retr_bytes(alice, "/shared/doc.txt") == DOC
    assert retr_bytes(bob, "/shared/doc.txt") == DOC
    # listing the parent shows the mount point; the folder its files
    assert "shared" in alice.nlst("/")
    assert "doc.txt" in bob.nlst("/shared")

    # the rw user writes, the ro user sees it at once
    stor_bytes(alice, "/shared/new.txt", b"from alice\n")
    assert retr_bytes(bob, "/shared/new.txt") == b"from alice\n"
    assert (fsrv.src / "new.txt").read_bytes() == b"from alice\n"
    alice.mkd("/shared/dir")
    alice.rename("/shared/new.txt", "/shared/dir/moved.txt")
    assert (fsrv.src / "dir" / "moved.txt").exists()

    # the ro user (who may write in his own tree) is refused in it
    stor_bytes(bob, "/mine2.txt", b"ok\n")
    with pytest.raises(ftplib.all_errors):
        stor_bytes(bob, "/shared/bob.txt", b"no\n")
    refused(bob, "DELE /shared/doc.txt")
    refused(bob, "MKD /shared/bobdir")
    refused(bob, "RMD /shared/dir")
    bob.sendcmd("RNFR /mine.txt")
    refused(bob, "RNTO /shared/mine.txt")
    bob.sendcmd("RNFR /shared/doc.txt")
    refused(bob, "RNTO /shared/doc2.txt")
    assert (fsrv.src / "doc.txt").read_bytes() == DOC
    assert not (fsrv.src / "bob.txt").exists()
    assert not (fsrv.src / "bobdir").exists()
    assert not (fsrv.src / "mine.txt").exists()
    assert not (fsrv.src / "doc2.txt").exists()
    assert (fsrv.src / "dir").is_dir()

    alice.delete("/shared/dir/moved.txt")
    alice.rmd("/shared/dir")
    assert not (fsrv.src / "dir").exists()
    # the mount point itself cannot be removed or renamed away
    refused(alice, "RMD /shared")
    try:
        alice.sendcmd("RNFR /shared")
    except ftplib.error_perm:
        pass  # rootless: refused at once (EBUSY)
    else:
        refused(alice, "RNTO /elsewhere")  # root: the kernel's EBUSY
    assert (fsrv.home / "shared").is_dir()
    assert not (fsrv.home / "elsewhere").exists()
    for f in (alice, bob):
        f.quit()


def test_symlinks_do_not_leave_the_roots(fsrv):
    f = fsrv.login()
    passwd = Path("/etc/passwd").read_bytes()
    for name in ("abs", "rel", "home/hello.txt", "upsecret", "up/secret.txt"):
        try:
            got = retr_bytes(f, f"/shared/{name}")
        except ftplib.error_perm:
            continue
        # confined: whatever it reads lies in the user's own tree
        assert got != passwd and got != SECRET, name
    # the absolute target starts again at the user's root, the relative
    # one stops there: neither reaches the host's /etc/passwd
    no_retr(f, "/shared/abs")
    no_retr(f, "/shared/rel")
    # a symlink to the user's root by its host path names nothing inside
    no_retr(f, "/shared/home/hello.txt")
    # ".." out of the folder's top lands on the mount point's parent:
    # the user's own tree, never the source's parent
    no_retr(f, "/shared/upsecret")
    no_retr(f, "/shared/up/secret.txt")
    assert retr_bytes(f, "/shared/up/hello.txt") == HELLO
    # and a client's ".." is the user's tree too
    f.cwd("/shared")
    f.cwd("..")
    assert f.pwd() == "/"
    names = f.nlst()
    assert "hello.txt" in names and "secret.txt" not in names
    no_retr(f, "/shared/../secret.txt")
    no_retr(f, "../secret.txt")
    f.quit()


def test_quota_counts_only_the_users_tree(fsrv):
    """bob's quota (BIG/2 bytes) is about his own tree: the folder's
    BIG bytes are not his (as root the quota walk meets them through
    the bind mount, and does not enter another mount)."""
    f = fsrv.login("bob")
    stor_bytes(f, "/q.txt", b"y" * 1000)
    with pytest.raises(ftplib.error_perm, match=r"^552"):
        stor_bytes(f, "/big.txt", b"z" * BIG)
    f.quit()


def test_user_without_the_folder_does_not_see_it(fsrv):
    f = fsrv.login("carol")
    # her tree has a directory there, empty: nothing is mapped on it
    assert f.nlst("/shared") == []
    no_retr(f, "/shared/doc.txt")
    assert retr_bytes(f, "/mine.txt") == HELLO
    f.quit()


def test_anonymous_folders(fsrv):
    f = fsrv.anon_login()
    assert retr_bytes(f, "/shared/doc.txt") == DOC
    f.quit()


def test_no_mount_leaks_to_the_host(fsrv):
    sessions = [fsrv.login(), fsrv.login("bob"), fsrv.anon_login()]
    for s in sessions:
        assert retr_bytes(s, "/shared/doc.txt") == DOC
    # while they run, and after they end
    assert mountinfo() == fsrv.mounts_before
    for s in sessions:
        s.quit()
    fsrv.stop()
    assert mountinfo() == fsrv.mounts_before


@pytest.mark.skipif(not IS_ROOT, reason="needs root")
def test_root_mode_binds_in_the_session_namespace(fsrv):
    if fsrv.rootless:
        pytest.skip("root mode only")
    f = fsrv.login("bob")
    f.sendcmd("NOOP")
    out = descendants_named(fsrv.pid, "kf-session")
    assert len(out) == 1
    with open(f"/proc/{out[0]}/mountinfo") as m:
        lines = [line for line in m if str(fsrv.base / "bob" / "shared") in line
                 or " /shared " in line]
    assert lines, "no bind mount in the session's namespace"
    opts = lines[-1].split()[5].split(",")
    assert "ro" in opts and "nosuid" in opts and "nodev" in opts
    assert "noexec" in opts
    # CAP_SYS_ADMIN made the mount; the worker holds nothing after it
    st = proc_status(out[0])
    assert int(st["CapEff"], 16) == 0 and int(st["CapBnd"], 16) == 0
    assert int(st["CapPrm"], 16) == 0
    f.quit()


@pytest.mark.skipif(not IS_ROOT, reason="needs root")
def test_without_cap_sys_admin_the_session_goes_on_without_them():
    """The shipped systemd unit's bounding set has no CAP_SYS_ADMIN: the
    server starts, logins work, the folders are left out (logged) and
    nothing is mounted."""
    unit = (REPO / "data/systemd/keepftpd.service").read_text()
    caps = re.search(r"^CapabilityBoundingSet=(.*)$", unit, re.M).group(1).split()
    assert "CAP_SYS_ADMIN" not in caps
    outer, src = make_source()
    srv = build_server(mode="config", conf_extra={
        "folder": f"shared {src} /shared rw"})
    try:
        (srv.home / "shared").mkdir()
        r = subprocess.run([BIN, "user", "-f", str(srv.users), "set", srv.user,
                            "--folders", "shared"], capture_output=True,
                           text=True, timeout=TIMEOUT)
        assert r.returncode == 0, r.stderr
        srv.argv = ["setpriv", "--bounding-set=-all," + ",".join(
            "+" + c[4:].lower() for c in caps), "--inh-caps=-all"] + srv.argv
        before = mountinfo()
        srv.start()
        assert srv.wait_log(r"shared folders need CAP_SYS_ADMIN")
        f = srv.login()
        assert retr_bytes(f, "/hello.txt") == HELLO
        assert f.nlst("/shared") == []
        f.quit()
        assert srv.wait_log(r"shared folder \S+ \(at /shared\) left out")
        assert mountinfo() == before
    finally:
        srv.stop()
        shutil.rmtree(srv.base, ignore_errors=True)
        shutil.rmtree(outer, ignore_errors=True)
