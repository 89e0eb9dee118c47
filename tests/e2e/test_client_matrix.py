"""The client matrix: real FTP clients (lftp, curl, tnftp, ncftp, wget,
Python ftplib) against root and rootless servers, every case verified on
disk (sizes and sha256, whole trees compared).

Passwords reach the clients through arguments only because these are
throw-away test accounts; the server never sees argv.

Each server has a passive range of only 8 ports (conftest), so the mirror
and wget cases, hundreds of data connections in a few seconds, also check
that a passive port can be listened on again while its last connection is
in TIME_WAIT (test_ftplib_passive_ports_reused is the short form).
"""

import ftplib
import hashlib
import io
import os
import socket
from pathlib import Path
from urllib.parse import quote

import pytest

from clients import (CLIENT_TIMEOUT, MiB, assert_same_tree, make_tree, manifest,
                     need, ok, put_remote_file, report, run, seed_remote_tree)
from conftest import IS_ROOT, NOBODY, epsv_port, pasv_port, stor_bytes



@pytest.fixture
def work(srv):
    d = srv.base / "client"
    d.mkdir()
    return d


def data_of(n, seed):
    return hashlib.shake_256(seed.encode()).digest(n)


def assert_file(srv, path, data, r=None):
    path = Path(path)
    assert path.is_file(), report(srv, r, f"{path} missing")
    got = path.read_bytes()
    assert len(got) == len(data) and got == data, report(
        srv, r, f"{path}: {len(got)} bytes sha256 {hashlib.sha256(got).hexdigest()}, "
        f"want {len(data)} bytes sha256 {hashlib.sha256(data).hexdigest()}")


def assert_owned_by_user(srv, root):
    """As root, everything the server created belongs to the session user."""
    if not IS_ROOT:
        return
    for dirpath, dirnames, filenames in os.walk(root):
        for n in [""] + dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, n))
            assert (st.st_uid, st.st_gid) == (NOBODY, NOBODY), \
                report(srv, None, f"{os.path.join(dirpath, n)} owned by {st.st_uid}")


def no_temp_leftovers(srv, root):
    left = [str(p) for p in Path(root).rglob(".kf-upload-*")]
    assert not left, report(srv, None, f"temporary upload files left: {left}")


# --------------------------------------------------------------------- lftp

def lftp(srv, script, cwd):
    cmd = ("set net:max-retries 1; set net:timeout 10; set ftp:passive-mode on; "
           "set net:reconnect-interval-base 1; set net:reconnect-interval-max 1; "
           f"open -u {srv.user},{srv.password} -p {srv.port} 127.0.0.1; " + script)
    return run(["lftp", "-c", cmd], cwd)


def test_lftp_mirror_download(srv, work):
    """mirror of 200 files, 3+ levels, spaces and UTF-8 names, 0 B..1 MiB."""
    need("lftp")
    src = seed_remote_tree(srv, "tree")
    r = lftp(srv, 'mirror "tree" "down"', work)
    ok(srv, r, "lftp mirror")
    assert len([v for v in manifest(src).values() if v[0] == "f"]) == 200
    assert_same_tree(srv, src, work / "down", r)


def test_lftp_mirror_upload(srv, work):
    """mirror -R of the same tree; the server's copy is compared on disk."""
    need("lftp")
    src = make_tree(work / "local tree", seed=99)
    r = lftp(srv, 'mirror -R "local tree" "uploaded/tree"', work)
    ok(srv, r, "lftp mirror -R")
    assert_same_tree(srv, src, srv.home / "uploaded" / "tree", r)
    assert_owned_by_user(srv, srv.home / "uploaded")
    no_temp_leftovers(srv, srv.home / "uploaded")


# --------------------------------------------------------------------- curl

def curl(srv, cwd, *args):
    return run(["curl", "-sS", "--max-time", str(CLIENT_TIMEOUT), "--user",
                f"{srv.user}:{srv.password}", *args], cwd)


def url(srv, path):
    return f"ftp://127.0.0.1:{srv.port}/" + quote(path)


def test_curl_upload_download_list(srv, work):
    need("curl")
    data = data_of(MiB + 3, "curl-up")
    src = work / "up.bin"
    src.write_bytes(data)
    name = "curl dir/été ünï.bin"
    r = curl(srv, work, "--ftp-create-dirs", "-T", str(src), url(srv, name))
    ok(srv, r, "curl -T")
    assert_file(srv, srv.home / name, data, r)
    assert_owned_by_user(srv, srv.home / "curl dir")
    no_temp_leftovers(srv, srv.home / "curl dir")

    out = work / "down.bin"
    r = curl(srv, work, "-o", str(out), url(srv, name))
    ok(srv, r, "curl download")
    assert_file(srv, out, data, r)

    put_remote_file(srv, "curl dir/zero", b"")
    r = curl(srv, work, url(srv, "curl dir/"))
    ok(srv, r, "curl LIST")
    lines = r.stdout.decode().splitlines()
    assert sorted(ln.split(None, 8)[-1] for ln in lines) == ["zero", "été ünï.bin"], \
        report(srv, r, "LIST")
    assert any(str(MiB + 3) in ln.split() for ln in lines), report(srv, r, "LIST size")
    r = curl(srv, work, "--list-only", url(srv, "curl dir/"))
    ok(srv, r, "curl NLST")
    assert sorted(r.stdout.decode().splitlines()) == ["zero", "été ünï.bin"], \
        report(srv, r, "NLST")


def test_curl_resume_download(srv, work):
    need("curl")
    data = data_of(MiB + 12345, "curl-resume-down")
    put_remote_file(srv, "resume/big file.bin", data)
    out = work / "big.bin"
    r = curl(srv, work, "-o", str(out), url(srv, "resume/big file.bin"))
    ok(srv, r, "curl download")
    assert_file(srv, out, data, r)
    for keep in (len(data) * 2 // 5, 1, len(data) - 1):
        with open(out, "r+b") as f:
            f.truncate(keep)
        r = curl(srv, work, "-C", "-", "-o", str(out), url(srv, "resume/big file.bin"))
        ok(srv, r, f"curl -C - (local file cut to {keep})")
        assert_file(srv, out, data, r)
        # REST keep + RETR: only the missing tail went over the wire
        assert srv.wait_log(rf"RETR path=\"/resume/big file\.bin\" bytes={len(data) - keep}\b"), \
            report(srv, r, f"no RETR of the last {len(data) - keep} bytes in the log")


def test_curl_resume_upload(srv, work):
    """A partial remote file (ftplib STOR of the first half), then curl -C - -T:
    curl asks SIZE, then APPEs the rest."""
    need("curl")
    data = data_of(MiB + 777, "curl-resume-up")
    half = len(data) // 2
    with srv.login() as f:
        stor_bytes(f, "partial upload.bin", data[:half])
    assert_file(srv, srv.home / "partial upload.bin", data[:half])
    src = work / "full.bin"
    src.write_bytes(data)
    r = curl(srv, work, "-C", "-", "-T", str(src), url(srv, "partial upload.bin"))
    ok(srv, r, "curl -C - -T")
    assert_file(srv, srv.home / "partial upload.bin", data, r)
    # it really resumed: the second transfer was an APPE of the second half
    assert srv.wait_log(rf"APPE path=\"/partial upload\.bin\" bytes={len(data) - half}\b"), \
        report(srv, r, "no APPE of the second half in the log")
    no_temp_leftovers(srv, srv.home)


# -------------------------------------------------------------------- tnftp

def test_tnftp_batch_get_put(srv, work):
    need("tnftp")
    big = data_of(MiB, "tnftp-get")
    put_remote_file(srv, "tn dir/big file.bin", big)
    put_remote_file(srv, "tn dir/café menu.txt", b"soupe\r\nsalade\n")
    up = data_of(300000, "tnftp-put")
    (work / "tn up.bin").write_bytes(up)
    (work / "empty.bin").write_bytes(b"")
    script = (f"open 127.0.0.1 {srv.port}\n"
              f"user {srv.user} {srv.password}\n"
              "binary\n"
              'cd "tn dir"\n'
              'get "big file.bin" "got big.bin"\n'
              'get "café menu.txt"\n'
              'put "tn up.bin" "put here.bin"\n'
              "put empty.bin\n"
              "quit\n")
    r = run(["tnftp", "-n"], work, input=script.encode())
    ok(srv, r, "tnftp batch")
    assert_file(srv, work / "got big.bin", big, r)
    assert_file(srv, work / "café menu.txt", b"soupe\r\nsalade\n", r)
    assert_file(srv, srv.home / "tn dir" / "put here.bin", up, r)
    assert_file(srv, srv.home / "tn dir" / "empty.bin", b"", r)


# -------------------------------------------------------------------- ncftp

def ncftp_auth(srv):
    return ["-u", srv.user, "-p", srv.password, "-P", str(srv.port), "-t",
            str(CLIENT_TIMEOUT), "-V"]


def test_ncftp_batch_get_put(srv, work):
    need("ncftpget")
    big = data_of(MiB + 1, "ncftp-get")
    small = data_of(5000, "ncftp-get-small")
    put_remote_file(srv, "nc/big one.bin", big)
    put_remote_file(srv, "nc/日本語.txt", small)
    dl = work / "dl"
    dl.mkdir()
    r = run(["ncftpget", *ncftp_auth(srv), "127.0.0.1", str(dl),
             "/nc/big one.bin", "/nc/日本語.txt"], work)
    ok(srv, r, "ncftpget")
    assert_file(srv, dl / "big one.bin", big, r)
    assert_file(srv, dl / "日本語.txt", small, r)

    up1, up2 = data_of(700000, "ncftp-put"), b""
    (work / "put one.bin").write_bytes(up1)
    (work / "zero.txt").write_bytes(up2)
    put_remote_file(srv, "nc-up/.keep", b"")
    r = run(["ncftpput", *ncftp_auth(srv), "127.0.0.1", "/nc-up",
             str(work / "put one.bin"), str(work / "zero.txt")], work)
    ok(srv, r, "ncftpput")
    assert_file(srv, srv.home / "nc-up" / "put one.bin", up1, r)
    assert_file(srv, srv.home / "nc-up" / "zero.txt", up2, r)
    no_temp_leftovers(srv, srv.home / "nc-up")


def test_ncftp_recursive(srv, work):
    """ncftpget -R / ncftpput -R of a small nested tree."""
    need("ncftpget")
    src = seed_remote_tree(srv, "nctree", nfiles=40, big=False, empty_dirs=(), seed=7)
    r = run(["ncftpget", *ncftp_auth(srv), "-R", "127.0.0.1", str(work), "/nctree"],
            work)
    ok(srv, r, "ncftpget -R")
    assert_same_tree(srv, src, work / "nctree", r)

    local = make_tree(work / "up" / "nc local", nfiles=40, big=False, empty_dirs=(),
                      seed=8)
    put_remote_file(srv, "ncput/.keep", b"")
    r = run(["ncftpput", *ncftp_auth(srv), "-R", "127.0.0.1", "/ncput", str(local)],
            work)
    ok(srv, r, "ncftpput -R")
    assert_same_tree(srv, local, srv.home / "ncput" / "nc local", r)


# --------------------------------------------------------------------- wget

def test_wget_recursive(srv, work):
    need("wget")
    src = seed_remote_tree(srv, "wdir", nfiles=60, empty_dirs=(), seed=5)
    r = run(["wget", "-r", "-nH", "--no-verbose", "--tries=1",
             f"--timeout={CLIENT_TIMEOUT}",
             f"ftp://{srv.user}:{srv.password}@127.0.0.1:{srv.port}/wdir/"], work)
    ok(srv, r, "wget -r")
    assert_same_tree(srv, src, work / "wdir", r)


# ------------------------------------------------------------------- ftplib

def test_ftplib_storbinary_rest(srv):
    data = data_of(MiB + 99, "ftplib-rest")
    half = len(data) // 2
    with srv.login() as f:
        stor_bytes(f, "rest up.bin", data[:half])
        assert f.size("rest up.bin") == half
        f.storbinary("STOR rest up.bin", io.BytesIO(data[half:]), rest=half)
        assert f.size("rest up.bin") == len(data)
    assert_file(srv, srv.home / "rest up.bin", data)
    assert srv.wait_log(rf"STOR path=\"/rest up\.bin\" bytes={len(data) - half}\b"), \
        report(srv, None, "no resumed STOR in the log")
    no_temp_leftovers(srv, srv.home)


@pytest.mark.parametrize("verb", ["PASV", "EPSV"])
def test_ftplib_passive_ports_reused(srv, verb):
    """Many downloads in a row through a small passive range (what lftp
    mirror does): the server closes each data connection first, so its end
    sits in TIME_WAIT for a minute; the next PASV/EPSV must still be able to
    listen on that port (SO_REUSEADDR), not answer 425."""
    put_remote_file(srv, "many/f.bin", b"0123456789")
    width = srv.pasv[1] - srv.pasv[0] + 1
    with srv.login() as f:
        f.sendcmd("TYPE I")
        for i in range(3 * width):
            try:
                resp = f.sendcmd(verb)
            except ftplib.error_temp as e:
                raise AssertionError(report(srv, None, f"transfer #{i + 1}: {verb} -> {e}"))
            port = epsv_port(resp) if verb == "EPSV" else pasv_port(resp)
            with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                resp = f.sendcmd("RETR many/f.bin")
                assert resp.startswith("150"), resp
                data = b""
                while True:
                    b = conn.recv(65536)
                    if not b:
                        break
                    data += b
            assert f.voidresp().startswith("226")
            assert data == b"0123456789"


def test_ftplib_retrlines_list_nlst(srv):
    names = ["café menu.txt", "日本語 ファイル.bin", "plain", "with  two spaces"]
    for i, n in enumerate(names):
        put_remote_file(srv, f"ls/{n}", b"x" * (i * 1000))
    put_remote_file(srv, "ls/sub dir/inside", b"")
    with srv.login() as f:
        nlst = []
        f.retrlines("NLST ls", nlst.append)
        listing = []
        f.retrlines("LIST ls", listing.append)
        f.cwd("ls")
        nlst_here = f.nlst()
    want = sorted(names + ["sub dir"])
    assert sorted(os.path.basename(n) for n in nlst) == want, report(srv, None, str(nlst))
    assert sorted(nlst_here) == want, report(srv, None, str(nlst_here))
    by_name = {ln.split(None, 8)[8]: ln for ln in listing}
    assert sorted(by_name) == want, report(srv, None, "\n".join(listing))
    for i, n in enumerate(names):
        assert by_name[n].startswith("-") and by_name[n].split()[4] == str(i * 1000), \
            by_name[n]
    assert by_name["sub dir"].startswith("d")


def test_ftplib_retr_ascii_text(srv):
    """RETR of a LF text file in ASCII mode (retrlines): the lines arrive
    intact whether or not the server converts line ends."""
    text = "première ligne\nsecond line\n\nlast line, no newline"
    put_remote_file(srv, "text/notes.txt", text.encode())
    with srv.login() as f:
        lines = []
        resp = f.retrlines("RETR text/notes.txt", lines.append)
        assert resp.startswith("226"), resp
        # the session is still usable in binary mode afterwards
        f.voidcmd("TYPE I")
        assert f.size("text/notes.txt") == len(text.encode())
    assert lines == text.split("\n")


def ascii_wire_bytes(f, path):
    f.voidcmd("TYPE A")
    with f.transfercmd(f"RETR {path}") as conn:
        chunks = []
        while True:
            b = conn.recv(65536)
            if not b:
                break
            chunks.append(b)
    f.voidresp()
    return b"".join(chunks)


def test_ftplib_ascii_conversion(srv):
    """TYPE A: LF files go out as CRLF; CRLF uploads are stored with LF."""
    text = b"one\ntwo\n\nthree"
    put_remote_file(srv, "asc/lf.txt", text)
    with srv.login() as f:
        assert ascii_wire_bytes(f, "asc/lf.txt") == b"one\r\ntwo\r\n\r\nthree"
        f.storlines("STOR asc/up.txt", io.BytesIO(b"alpha\r\nbeta\r\n"))
        f.voidcmd("TYPE I")
        assert f.size("asc/lf.txt") == len(text)
    assert_file(srv, srv.home / "asc" / "up.txt", b"alpha\nbeta\n")


def check_mlsd(srv, src, entries):
    want = {p.name: p for p in src.iterdir()}
    names = {n for n, facts in entries.items()
             if facts.get("type", "").lower() not in ("cdir", "pdir")}
    assert names == set(want), report(srv, None, f"MLSD names {sorted(names)}")
    for n, p in want.items():
        facts = {k.lower(): v for k, v in entries[n].items()}
        if p.is_dir():
            assert facts["type"].lower() == "dir", (n, facts)
        else:
            assert facts["type"].lower() == "file", (n, facts)
            assert int(facts["size"]) == p.stat().st_size, (n, facts)
        assert len(facts["modify"]) >= 14 and facts["modify"][:14].isdigit(), (n, facts)


def test_ftplib_mlsd(srv):
    """ftplib.mlsd(): names (spaces, UTF-8) and the type/size/modify facts."""
    src = seed_remote_tree(srv, "mtree", nfiles=30, big=False, empty_dirs=("empty dir",),
                           seed=3)
    with srv.login() as f:
        entries = dict(f.mlsd("mtree"))
        f.cwd("mtree/日本語")
        here = dict(f.mlsd())
    check_mlsd(srv, src, entries)
    check_mlsd(srv, src / "日本語", here)


def test_ftplib_mlsd_facts(srv):
    """ftplib.mlsd(facts=[...]) first sends OPTS MLST type;size;modify; (RFC
    3659 7.9): it must be accepted (200), then MLSD gives those facts."""
    src = seed_remote_tree(srv, "mtree", nfiles=12, big=False, empty_dirs=(), seed=4)
    with srv.login() as f:
        entries = dict(f.mlsd("mtree", facts=["type", "size", "modify"]))
    check_mlsd(srv, src, entries)
