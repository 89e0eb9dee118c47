"""`keepftpd user`: add, passwd, del, list; and passwords kept out of argv."""

import ftplib
import os
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, IS_ROOT, TIMEOUT, descendants_named, requires_root, user_add


def users(users_file, *args, stdin=None):
    return subprocess.run([BIN, "user", "-f", str(users_file), *args], input=stdin,
                          capture_output=True, text=True, timeout=TIMEOUT)


def listed(users_file):
    r = users(users_file, "list")
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def test_user_round_trip(start_server):
    srv = start_server(mode="config")
    uf = srv.users
    home = srv.home
    uid = "65534" if IS_ROOT else str(os.geteuid())
    gid = "65534" if IS_ROOT else str(os.getegid())
    assert listed(uf) == [f"alice {uid} {gid} {home} write"]

    r = user_add(uf, "bob", "bob-pass-1", home, write=False)
    assert r.returncode == 0, r.stderr
    assert listed(uf) == [f"alice {uid} {gid} {home} write",
                          f"bob {uid} {gid} {home} -"]
    for line in Path(uf).read_text().splitlines():
        name, hashed, fuid, fgid, fhome, flags = line.split(":")
        assert hashed.startswith("$argon2id$")
        assert "bob-pass-1" not in line
    # duplicate refused
    r = user_add(uf, "bob", "other", home)
    assert r.returncode != 0
    # users are read per login: bob works right away, read-only
    f = srv.login("bob", "bob-pass-1")
    with pytest.raises(ftplib.error_perm, match=r"^550 "):
        f.storbinary("STOR x", __import__("io").BytesIO(b"x"))
    f.quit()

    r = users(uf, "passwd", "bob", stdin="bob-pass-2\n")
    assert r.returncode == 0, r.stderr
    f = srv.connect()
    with pytest.raises(ftplib.error_perm, match=r"^530 "):
        f.login("bob", "bob-pass-1")
    f.close()
    f = srv.login("bob", "bob-pass-2")
    f.quit()

    r = users(uf, "del", "bob")
    assert r.returncode == 0, r.stderr
    assert listed(uf) == [f"alice {uid} {gid} {home} write"]
    f = srv.connect()
    with pytest.raises(ftplib.error_perm, match=r"^530 "):
        f.login("bob", "bob-pass-2")
    f.close()
    r = users(uf, "del", "bob")
    assert r.returncode != 0
    r = users(uf, "passwd", "nobody-here", stdin="x\n")
    assert r.returncode != 0


def test_user_uid0_refused(tmp_path):
    uf = tmp_path / "users"
    r = user_add(uf, "r00t", "pw", "/tmp", uid=0, gid=0)
    assert r.returncode != 0
    assert not uf.exists() or "r00t" not in uf.read_text()


def test_user_list_lost_on_a_full_disk_fails(tmp_path):
    """`user list` into /dev/full: the list never arrives, so the exit
    status says so (it used to be 0: the final fflush went unchecked)."""
    uf = tmp_path / "users"
    assert user_add(uf, "full", "pw", "/tmp").returncode == 0
    assert listed(uf)
    with open("/dev/full", "w") as full:
        r = subprocess.run([BIN, "user", "-f", str(uf), "list"], stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=TIMEOUT)
    assert r.returncode != 0


@requires_root
def test_user_root_needs_uid_gid(tmp_path):
    uf = tmp_path / "users"
    r = users(uf, "add", "nouid", "--home", "/tmp", "--opslimit", "1",
              "--memlimit-kib", "8192", stdin="pw\n")
    assert r.returncode != 0
    assert not uf.exists() or "nouid" not in uf.read_text()


def test_user_add_password_from_stdin_not_argv(tmp_path):
    """The password is read from stdin; while `user add` waits for it, its
    command line holds no secret, and no --password option exists."""
    uf = tmp_path / "users"
    argv = [BIN, "user", "-f", str(uf), "add", "dave", "--home", "/tmp",
            "--opslimit", "1", "--memlimit-kib", "8192"]
    if IS_ROOT:
        argv += ["--uid", "65534", "--gid", "65534"]
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    cmdline = Path(f"/proc/{p.pid}/cmdline").read_bytes()
    out, err = p.communicate(b"dave-secret-pw\n", timeout=TIMEOUT)
    assert p.returncode == 0, err
    assert b"dave-secret-pw" not in cmdline
    assert b"dave-secret-pw" not in out + err
    assert "dave-secret-pw" not in uf.read_text()
    r = users(uf, "add", "eve", "--home", "/tmp", "--password", "x", "--uid", "65534",
              "--gid", "65534", stdin="pw\n")
    assert r.returncode != 0


def test_password_not_in_server_argv(start_server):
    srv = start_server(mode="quick")
    f = srv.login()
    pids = [srv.pid] + descendants_named(srv.pid, "kf-monitor") + \
        descendants_named(srv.pid, "kf-session")
    assert len(pids) >= 3
    for pid in pids:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        assert srv.password.encode() not in cmdline
        environ = Path(f"/proc/{pid}/environ").read_bytes() if IS_ROOT else b""
        assert srv.password.encode() not in environ
    f.quit()


def test_legacy_hashes_verified(start_server):
    """sha512-crypt and bcrypt lines (migrated from another server) log in."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    srv = start_server(mode="config")
    uid = "65534" if IS_ROOT else str(os.geteuid())
    gid = "65534" if IS_ROOT else str(os.getegid())
    lines = []
    for name, method in (("sha", crypt.METHOD_SHA512), ("bf", crypt.METHOD_BLOWFISH)):
        h = crypt.crypt(f"{name}-pass", crypt.mksalt(method, rounds=None if name == "sha" else 16))
        assert h.startswith("$6$" if name == "sha" else "$2b$"), h
        lines.append(f"{name}:{h}:{uid}:{gid}:{srv.home}:\n")
    with open(srv.users, "a") as f:
        f.write("".join(lines))
    for name in ("sha", "bf"):
        f = srv.login(name, f"{name}-pass")
        assert f.pwd() == "/"
        f.quit()
        f = srv.connect()
        with pytest.raises(ftplib.error_perm, match=r"^530 "):
            f.login(name, f"{name}-wrong")
        f.close()
