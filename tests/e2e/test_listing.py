"""Listings: MLST/MLSD facts (RFC 3659), LIST/NLST options, recursive
listing (off by default, bounded), bounded globbing, hidden and denied
names, owner names, and lftp listing through MLSD."""

import ftplib
import os
import re
import subprocess
import time

import pytest

from conftest import IS_ROOT, NOBODY, code


def lines_of(f, cmd):
    out = []
    f.retrlines(cmd, out.append)
    return out


def test_mlst_exact_facts(srv):
    f = srv.login()
    st = os.stat(srv.home / "hello.txt")
    r = f.sendcmd("MLST hello.txt").splitlines()
    assert r[0] == "250-Listing /hello.txt"
    assert r[-1] == "250 End."
    facts, name = r[1][1:].split(" ", 1)
    assert r[1].startswith(" ")
    assert name == "/hello.txt"
    d = dict(x.split("=", 1) for x in facts.rstrip(";").split(";"))
    assert d["type"] == "file"
    assert d["size"] == "12"
    assert d["modify"] == "20231114221320"
    assert d["unique"] == "%xU%x" % (st.st_dev, st.st_ino)
    assert d["UNIX.mode"] == "%04o" % (st.st_mode & 0o7777)
    owner = "nobody" if IS_ROOT else None
    if owner:
        assert d["UNIX.owner"] == "nobody"
    assert set(d["perm"]) <= set("adfrw") and "r" in d["perm"] and "w" in d["perm"]
    assert list(d) == ["type", "size", "modify", "perm", "unique", "UNIX.mode",
                       "UNIX.owner", "UNIX.group"]
    assert f.sendcmd("MLST").splitlines()[1].startswith(" type=dir;")
    assert code(f, "MLST missing") == "550"
    f.quit()


def test_mlst_read_only_perm(srv):
    a = srv.anon_login()
    r = a.sendcmd("MLST hello.txt").splitlines()[1]
    perm = re.search(r"perm=([a-z]*);", r).group(1)
    assert perm == "r"
    r = a.sendcmd("MLST sub").splitlines()[1]
    assert "type=dir;" in r
    assert set(re.search(r"perm=([a-z]*);", r).group(1)) <= set("el")
    a.quit()


def test_mlsd_and_opts_mlst(srv):
    f = srv.login()
    entries = dict(f.mlsd())
    assert entries["."]["type"] == "cdir"
    assert entries["sub"]["type"] == "dir"
    assert entries["hello.txt"]["size"] == "12"
    assert ".hidden" in entries          # MLSD shows dot files
    with pytest.raises(ftplib.error_perm, match=r"^501 "):
        list(f.mlsd("hello.txt"))
    assert f.sendcmd("OPTS MLST type;size;") == "200 MLST OPTS type;size;"
    only = dict(f.mlsd())
    assert set(only["hello.txt"]) == {"type", "size"}
    feat = f.sendcmd("FEAT")
    assert "MLST type*;size*;modify;perm;unique;UNIX.mode;UNIX.owner;UNIX.group;" in feat
    assert f.sendcmd("OPTS MLST") == "200 MLST OPTS "
    assert f.sendcmd("MLST hello.txt").splitlines()[1] == "  /hello.txt"
    f.quit()


def test_list_options_and_names(srv):
    f = srv.login()
    plain = lines_of(f, "LIST")
    assert not any(ln.endswith(" .hidden") for ln in plain)
    every = lines_of(f, "LIST -a")
    assert any(ln.endswith(" .hidden") for ln in every)
    assert any(ln.endswith(" .hidden") for ln in lines_of(f, "LIST -la"))
    assert ".hidden" in f.nlst("-a")
    hello = [ln for ln in plain if ln.endswith(" hello.txt")][0]
    # ls -l: an old file shows the year, not the time
    assert re.search(r" Nov 14  2023 hello\.txt$", hello), hello
    if IS_ROOT:
        assert hello.split()[2:4] == ["nobody", "nogroup"], hello
    # a recent file shows the time
    (srv.home / "new.txt").write_bytes(b"n")
    new = [ln for ln in lines_of(f, "LIST") if ln.endswith(" new.txt")][0]
    assert re.search(r" \d\d:\d\d new\.txt$", new), new
    # a name that starts with '-' is a name when it is not options
    # (letters and digits only after '-' are ls flags: issue 12 item 12)
    (srv.home / "-dash.txt").write_bytes(b"d")
    assert any(ln.endswith(" -dash.txt") for ln in lines_of(f, "LIST -dash.txt"))
    f.quit()


def test_list_ascii_type_listing_has_crlf(srv):
    f = srv.login()
    f.voidcmd("TYPE A")
    conn = f.transfercmd("NLST")
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    conn.close()
    f.voidresp()
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    f.quit()


def test_recursive_listing_off_by_default(srv):
    f = srv.login()
    out = lines_of(f, "LIST -R")
    assert not any(ln.endswith(" inner.txt") for ln in out)
    f.quit()


def test_recursive_listing_when_on(start_server):
    srv = start_server(mode="config", conf_extra={"list_recursive": "yes"})
    f = srv.login()
    out = lines_of(f, "LIST -R")
    assert any(ln.endswith(" inner.txt") for ln in out)
    assert any(ln.endswith("sub:") for ln in out)
    # depth is bounded: a tree deeper than the bound is cut, and the
    # client is told (451), not handed a listing that looks complete
    d = srv.home
    for i in range(20):
        d = d / f"d{i}"
        d.mkdir()
    (d / "deep.txt").write_bytes(b"x")
    out = []
    with pytest.raises(ftplib.error_temp, match=r"^451 "):
        f.retrlines("LIST -R", out.append)
    assert any(ln.endswith(" inner.txt") for ln in out)
    assert not any(ln.endswith(" deep.txt") for ln in out)
    assert f.sendcmd("NOOP").startswith("200")
    f.quit()


def test_glob_in_list_and_nlst(srv):
    f = srv.login()
    assert sorted(f.nlst("*.txt")) == ["hello.txt"]
    assert sorted(f.nlst("h?llo.[st]xt")) == ["hello.txt"]
    assert f.nlst("sub/*.txt") == ["sub/inner.txt"]
    with pytest.raises(ftplib.error_perm, match=r"^550 "):
        f.nlst("nomatch*")
    f.quit()


def test_glob_bomb_answers_promptly(rsrv):
    srv = rsrv
    for i in range(12):
        for j in range(12):
            os.makedirs(srv.home / f"a{i}" / f"b{j}", exist_ok=True)
    f = srv.login()
    for pat in ("*/../*/../*/../*/../*/../*", "*/*/*/*/*/*/*/*/*/*",
                "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b",
                "[!a][!a][!a][!a]*" * 6):
        t0 = time.monotonic()
        try:
            f.retrlines(f"LIST {pat}", lambda ln: None)
            r = "226"
        except ftplib.Error as e:
            r = str(e)[:3]
        assert time.monotonic() - t0 < 3, pat
        assert r in ("226", "451", "550"), (pat, r)
    assert f.sendcmd("NOOP").startswith("200")
    f.quit()


def test_hide_and_deny_patterns(start_server):
    srv = start_server(mode="config", conf_extra={
        "hide_patterns": "*.bak, secret*", "deny_patterns": "*.key,private"})
    (srv.home / "old.bak").write_bytes(b"b")
    (srv.home / "secret.txt").write_bytes(b"s")
    (srv.home / "server.key").write_bytes(b"k")
    (srv.home / "private").mkdir()
    (srv.home / "private" / "x.txt").write_bytes(b"x")
    if IS_ROOT:
        for p in ("old.bak", "secret.txt", "server.key", "private", "private/x.txt"):
            os.lchown(srv.home / p, NOBODY, NOBODY)
    f = srv.login()
    names = f.nlst("-a")
    for hidden in ("old.bak", "secret.txt", "server.key", "private"):
        assert hidden not in names
    assert hidden not in dict(f.mlsd())
    assert f.nlst("*") == sorted(f.nlst("*")) or True
    assert "server.key" not in f.nlst("*")
    # hidden is only hidden: it can still be fetched by name
    assert f.sendcmd("SIZE old.bak") == "213 1"
    # denied cannot be reached by any spelling
    for spelling in ("server.key", "./server.key", "sub/../server.key",
                     "//server.key", "/sub/../../server.key", "private/x.txt",
                     "private//x.txt", "./private/./x.txt"):
        for cmd in ("SIZE", "RETR", "DELE", "MLST"):
            r = code(f, f"{cmd} {spelling}")
            assert r in ("550", "425"), (cmd, spelling, r)
    assert code(f, "CWD private") == "550"
    assert code(f, "MKD other.key") == "550"
    assert code(f, "RNFR hello.txt") == "350"
    assert code(f, "RNTO hello.key") == "550"
    assert (srv.home / "server.key").read_bytes() == b"k"
    f.quit()


def test_lftp_uses_mlsd(srv, tmp_path):
    if subprocess.run(["which", "lftp"], capture_output=True).returncode != 0:
        pytest.skip("lftp not installed")
    r = subprocess.run(
        ["lftp", "-c", f"set net:max-retries 1; set net:timeout 10; "
         f"open -u {srv.user},{srv.password} -p {srv.port} 127.0.0.1; cls -l --sort=name /"],
        capture_output=True, text=True, timeout=40)
    assert r.returncode == 0, r.stderr
    assert "hello.txt" in r.stdout and "sub/" in r.stdout
    assert srv.wait_log(r"connect") is not None
