"""FEAT entries driven by real clients rather than by hand: lftp sets
times with MFMT, permissions with SITE CHMOD and lists with MLSD on
`mirror -R`; curl -R takes MDTM; HASH through lftp's quote; HOST from
tnftp before logging in."""

import hashlib
import os
import shutil
import subprocess
import time

import pytest

from conftest import IS_ROOT, NOBODY

OLD = 1577934245  # 2020-01-02 03:04:05 UTC


def need(tool):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} not installed")


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=45, **kw)


def lftp(srv, script):
    return run(["lftp", "-c", "set net:max-retries 1; set net:timeout 10; "
                "set ftp:use-site-utime no; set ftp:use-site-utime2 no; "
                f"open -u {srv.user},{srv.password} -p {srv.port} 127.0.0.1; " + script])


def test_lftp_mirror_sets_mtime_chmod_and_hash(srv, tmp_path):
    need("lftp")
    src = tmp_path / "src"
    (src / "deep").mkdir(parents=True)
    (src / "old.txt").write_bytes(b"old file\n")
    (src / "deep" / "x.bin").write_bytes(os.urandom(3000))
    for p in (src / "old.txt", src / "deep" / "x.bin"):
        os.utime(p, (OLD, OLD))
    r = lftp(srv, f"mirror -R {src} /up; chmod 600 /up/old.txt; quote HASH /up/old.txt")
    assert r.returncode == 0, r.stderr
    up = srv.home / "up"
    # MFMT: the times came across
    assert os.stat(up / "old.txt").st_mtime == OLD
    assert os.stat(up / "deep" / "x.bin").st_mtime == OLD
    # SITE CHMOD
    assert os.stat(up / "old.txt").st_mode & 0o777 == 0o600
    # HASH, the reply as lftp printed it
    want = hashlib.sha256(b"old file\n").hexdigest()
    assert f"213 SHA-256 0-9 {want} /up/old.txt" in r.stdout + r.stderr
    if IS_ROOT:
        assert os.stat(up / "old.txt").st_uid == NOBODY


def test_curl_remote_time(srv, tmp_path):
    need("curl")
    out = tmp_path / "hello.txt"
    r = run(["curl", "-sS", "-R", "--max-time", "10", "--user",
             f"{srv.user}:{srv.password}", "-o", str(out),
             f"ftp://127.0.0.1:{srv.port}/hello.txt"])
    assert r.returncode == 0, r.stderr
    assert os.stat(out).st_mtime == 1700000000    # set from MDTM


def test_curl_quote_hash(srv, tmp_path):
    need("curl")
    r = run(["curl", "-sS", "-v", "--max-time", "10", "--user",
             f"{srv.user}:{srv.password}", "-Q", "OPTS HASH MD5", "-Q", "HASH hello.txt",
             "-o", str(tmp_path / "h"), f"ftp://127.0.0.1:{srv.port}/hello.txt"])
    assert r.returncode == 0, r.stderr
    want = hashlib.md5(b"hello world\n").hexdigest()
    assert f"< 213 MD5 0-12 {want} /hello.txt" in r.stderr


def test_tnftp_host_before_login(start_server, tmp_path):
    need("tnftp")
    vroot = tmp_path / "vroot"
    vroot.mkdir()
    vroot.chmod(0o755)
    tmp_path.chmod(0o755)
    (vroot / "only-v.txt").write_bytes(b"vhost file\n")
    srv = start_server(mode="config", conf_extra={"vhost": f"v.example.test {vroot}"})
    work = tmp_path / "work"
    work.mkdir()
    script = (f"open 127.0.0.1 {srv.port}\nquote HOST v.example.test\n"
              "user anonymous guest@example.com\nbinary\nget only-v.txt\nquit\n")
    r = run(["tnftp", "-n"], input=script, cwd=str(work))
    assert (work / "only-v.txt").read_bytes() == b"vhost file\n", (r.stdout, r.stderr)
    assert srv.wait_log(r"login ok: user=\"anonymous\" host=\"v\.example\.test\"")
