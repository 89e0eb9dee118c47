"""Real clients: curl, lftp and tnftp, verified on disk. Passwords go to the
clients through arguments here only because these are throw-away test
accounts; the server side never sees argv."""

import hashlib
import os
import re
import shutil
import subprocess

import pytest

from conftest import HELLO, MODES, TIMEOUT

CLIENT_TIMEOUT = 10


def run(argv, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("timeout", CLIENT_TIMEOUT + 10)
    return subprocess.run(argv, **kw)


def need(tool):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} not installed")


@pytest.fixture
def work(srv):
    d = srv.base / "client"
    d.mkdir()
    return d


# --------------------------------------------------------------------- curl

def curl(srv, *args):
    return run(["curl", "-sS", "--max-time", str(CLIENT_TIMEOUT), "--user",
                f"{srv.user}:{srv.password}", *args])


def test_curl_download(srv, work):
    need("curl")
    out = work / "hello.txt"
    r = curl(srv, "-o", str(out), f"ftp://127.0.0.1:{srv.port}/hello.txt")
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == HELLO


def test_curl_upload(srv, work):
    need("curl")
    src = work / "up.bin"
    src.write_bytes(os.urandom(100000))
    r = curl(srv, "-T", str(src), f"ftp://127.0.0.1:{srv.port}/up.bin")
    assert r.returncode == 0, r.stderr
    assert (srv.home / "up.bin").read_bytes() == src.read_bytes()


def test_curl_list(srv):
    need("curl")
    r = curl(srv, f"ftp://127.0.0.1:{srv.port}/")
    assert r.returncode == 0, r.stderr
    names = sorted(ln.split()[-1] for ln in r.stdout.decode().splitlines())
    assert names == ["digits.bin", "hello.txt", "sub"]
    r = curl(srv, "--list-only", f"ftp://127.0.0.1:{srv.port}/sub/")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().split() == ["inner.txt"]


def test_curl_active(srv, work):
    need("curl")
    out = work / "active.bin"
    r = curl(srv, "-P", "127.0.0.1", "-o", str(out),
             f"ftp://127.0.0.1:{srv.port}/digits.bin")
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == bytes(range(256)) * 40
    src = work / "act-up.txt"
    src.write_bytes(b"active upload\n")
    r = curl(srv, "-P", "127.0.0.1", "-T", str(src),
             f"ftp://127.0.0.1:{srv.port}/act-up.txt")
    assert r.returncode == 0, r.stderr
    assert (srv.home / "act-up.txt").read_bytes() == b"active upload\n"


def test_curl_anonymous(srv, work):
    need("curl")
    out = work / "anon.txt"
    r = run(["curl", "-sS", "--max-time", str(CLIENT_TIMEOUT), "-o", str(out),
             f"ftp://127.0.0.1:{srv.port}/hello.txt"])
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == HELLO


# --------------------------------------------------------------------- lftp

def lftp(srv, script, cwd):
    cmd = ("set ftp:passive-mode on; set net:max-retries 1; set net:timeout 10; "
           "set xfer:clobber on; "
           f"open -u {srv.user},{srv.password} -p {srv.port} 127.0.0.1; " + script)
    return run(["lftp", "-c", cmd], cwd=str(cwd), env={**os.environ, "HOME": str(cwd)})


def test_lftp_get_put_mirror(srv, work):
    need("lftp")
    (work / "put.txt").write_bytes(b"lftp put\n")
    r = lftp(srv, "get hello.txt; put put.txt; mirror sub mirrored", work)
    assert r.returncode == 0, r.stderr
    assert (work / "hello.txt").read_bytes() == HELLO
    assert (srv.home / "put.txt").read_bytes() == b"lftp put\n"
    assert (work / "mirrored" / "inner.txt").read_bytes() == b"inner\n"


def test_lftp_reverse_mirror(srv, work):
    need("lftp")
    tree = work / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "top.txt").write_bytes(b"top\n")
    (tree / "a" / "b" / "deep.bin").write_bytes(os.urandom(5000))
    r = lftp(srv, "mirror -R tree uploaded", work)
    assert r.returncode == 0, r.stderr
    assert (srv.home / "uploaded" / "top.txt").read_bytes() == b"top\n"
    assert ((srv.home / "uploaded" / "a" / "b" / "deep.bin").read_bytes() ==
            (tree / "a" / "b" / "deep.bin").read_bytes())


# -------------------------------------------------------------------- tnftp

def test_tnftp_get_put(srv, work):
    need("tnftp")
    (work / "tn-up.txt").write_bytes(b"tnftp upload\n")
    script = (f"open 127.0.0.1 {srv.port}\n"
              f"user {srv.user} {srv.password}\n"
              "binary\n"
              "get digits.bin\n"
              "put tn-up.txt\n"
              "bye\n")
    r = run(["tnftp", "-n"], input=script.encode(), cwd=str(work),
            env={**os.environ, "HOME": str(work)})
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert (work / "digits.bin").read_bytes() == bytes(range(256)) * 40
    assert (srv.home / "tn-up.txt").read_bytes() == b"tnftp upload\n"


def test_tnftp_active(srv, work):
    need("tnftp")
    script = (f"open 127.0.0.1 {srv.port}\n"
              f"user {srv.user} {srv.password}\n"
              "passive off\n"
              "binary\n"
              "get hello.txt\n"
              "bye\n")
    r = run(["tnftp", "-n"], input=script.encode(), cwd=str(work),
            env={**os.environ, "HOME": str(work)})
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert (work / "hello.txt").read_bytes() == HELLO


# --------------------------------------------------------------- quick mode

@pytest.mark.parametrize("flavour", MODES)
def test_quick_mode_clients(start_server, flavour):
    s = start_server(mode="quick", rootless=flavour == "rootless")
    assert re.search(rf"^keepftpd 0\.1\.0: serving {re.escape(str(s.home))} on "
                     rf"ftp://127\.0\.0\.1:{s.port}/$", s.stdout, re.M), s.stdout
    assert "anonymous: read-only (user anonymous, any password)" in s.stdout
    assert s.user == "alice"
    assert len(s.password) >= 12
    need("curl")
    r = run(["curl", "-sS", "--max-time", "20", f"ftp://127.0.0.1:{s.port}/hello.txt"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == HELLO
    src = s.base / "q.bin"
    data = os.urandom(70000)
    src.write_bytes(data)
    r = run(["curl", "-sS", "--max-time", "20", "--user", f"{s.user}:{s.password}",
             "-T", str(src), f"ftp://127.0.0.1:{s.port}/q.bin"])
    assert r.returncode == 0, r.stderr
    assert hashlib.sha256((s.home / "q.bin").read_bytes()).digest() == \
        hashlib.sha256(data).digest()


def test_quick_mode_serves_current_directory(start_server):
    """`keepftpd serve` without DIR serves the directory it was started in."""
    s = start_server(mode="quick", quick_cwd=True, rootless=True)
    assert f"serving {s.home} on" in s.stdout, s.stdout
    r = run(["curl", "-sS", "--max-time", "20", f"ftp://127.0.0.1:{s.port}/hello.txt"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == HELLO
