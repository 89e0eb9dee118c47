"""Per-directory permissions and drop-boxes (docs/PERMISSIONS.md): every
permission against every command that needs it, allowed and denied;
hostile spellings and symlinks aiming at a looser rule; a drop-box tried
with curl and lftp; anonymous upload directories (anon_upload_dirs)."""
import ftplib
import io
import os
import shutil
import subprocess

import pytest

from conftest import BIN, IS_ROOT, MODES, NOBODY, TIMEOUT, retr_bytes, wait_for

PERMS = ["list", "download", "upload", "overwrite", "delete", "rename",
         "mkdir", "rmdir", "chmod", "mtime"]
BODY = b"perm test body\n"


def own(path):
    if IS_ROOT:
        os.lchown(path, NOBODY, NOBODY)


def set_perms(srv, *args):
    r = subprocess.run([BIN, "user", "-f", str(srv.users), "set", srv.user, *args],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    if IS_ROOT and srv.rootless:
        os.chown(srv.users, NOBODY, NOBODY)
    return r


def mkdir(srv, rel):
    p = srv.home
    for part in rel.split("/"):
        p = p / part
        p.mkdir(exist_ok=True)
        own(p)
    return p


def put_file(srv, rel, data=BODY):
    p = srv.home / rel
    p.write_bytes(data)
    own(p)
    return p


def code_of(fn):
    """The reply code of fn()'s last reply, or of the error it raised."""
    try:
        r = fn()
    except ftplib.all_errors as e:
        return int(str(e)[:3])
    return int(r[:3]) if isinstance(r, str) else 226


def upload(ftp, cmd, data=BODY):
    return ftp.storbinary(cmd, io.BytesIO(data))


def rest_stor(ftp, path):
    ftp.voidcmd("TYPE I")
    return ftp.storbinary(f"STOR {path}", io.BytesIO(b"XY"), rest=2)


# command -> (the permission it needs, action(ftp, dir))
def _cmds():
    return {
        "LIST": ("list", lambda f, d: f.retrlines(f"LIST {d}", lambda _: None)),
        "NLST": ("list", lambda f, d: f.retrlines(f"NLST {d}", lambda _: None)),
        "MLSD": ("list", lambda f, d: f.retrlines(f"MLSD {d}", lambda _: None)),
        "MLST": ("list", lambda f, d: f.sendcmd(f"MLST {d}/f")),
        "STAT": ("list", lambda f, d: f.sendcmd(f"STAT {d}")),
        "RETR": ("download", lambda f, d: f.retrbinary(f"RETR {d}/f", lambda _: None)),
        "SIZE": ("download", lambda f, d: f.sendcmd(f"SIZE {d}/f")),
        "MDTM": ("download", lambda f, d: f.sendcmd(f"MDTM {d}/f")),
        "XSHA256": ("download", lambda f, d: f.sendcmd(f"XSHA256 {d}/f")),
        "STOR new": ("upload", lambda f, d: upload(f, f"STOR {d}/new")),
        "APPE new": ("upload", lambda f, d: upload(f, f"APPE {d}/new")),
        "STOU": ("upload", lambda f, d: upload(f, f"STOU {d}/u")),
        "STOR existing": ("overwrite", lambda f, d: upload(f, f"STOR {d}/f")),
        "APPE existing": ("overwrite", lambda f, d: upload(f, f"APPE {d}/f")),
        "REST+STOR": ("overwrite", lambda f, d: rest_stor(f, f"{d}/f")),
        "DELE": ("delete", lambda f, d: f.sendcmd(f"DELE {d}/f")),
        "RNFR/RNTO": ("rename", lambda f, d: f.rename(f"{d}/f", f"{d}/g")),
        "MKD": ("mkdir", lambda f, d: f.sendcmd(f"MKD {d}/newdir")),
        "RMD": ("rmdir", lambda f, d: f.sendcmd(f"RMD {d}/sub")),
        "SITE CHMOD": ("chmod", lambda f, d: f.sendcmd(f"SITE CHMOD 0640 {d}/f")),
        "MFMT": ("mtime", lambda f, d: f.sendcmd(f"MFMT 20200101000000 {d}/f")),
    }


CMDS = _cmds()


@pytest.fixture(params=MODES)
def psrv(request, start_server):
    """alice (read-write by default), started as root and rootless."""
    return start_server(mode="config", rootless=request.param == "rootless")


def fresh(srv, d):
    base = srv.home / d.lstrip("/")
    for n in ("new", "g", "newdir", "sub", "u"):
        p = base / n
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    put_file(srv, f"{d.lstrip('/')}/f")
    mkdir(srv, f"{d.lstrip('/')}/sub")


@pytest.mark.parametrize("cmd", list(CMDS))
def test_every_permission_every_command(psrv, cmd):
    """/all: every right; /only_P: P alone; /no_P: all but P."""
    perm, act = CMDS[cmd]
    for d in ("all", f"only_{perm}", f"no_{perm}"):
        mkdir(psrv, d)
    set_perms(psrv, "--perm", "/all:*", "--perm", f"/only_{perm}:{perm}",
              "--perm", f"/no_{perm}:" + ",".join(q for q in PERMS if q != perm))
    ftp = psrv.login()
    try:
        for d, want_ok in (("/all", True), (f"/only_{perm}", True),
                           (f"/no_{perm}", False)):
            fresh(psrv, d)
            c = code_of(lambda: act(ftp, d))
            if want_ok:
                assert c < 400, f"{cmd} in {d}: {c}"
            else:
                assert c == 550, f"{cmd} in {d}: {c}"
        assert (psrv.home / f"no_{perm}" / "f").read_bytes() == BODY
    finally:
        ftp.close()
    assert wait_for(lambda: "permission denied" in psrv.log())


@pytest.fixture(params=MODES)
def hsrv(request, start_server):
    """/pub open, /priv closed, /a writable with a stricter /a/strict,
    and symlinks between them."""
    srv = start_server(mode="config", rootless=request.param == "rootless")
    for d in ("pub", "priv", "a/strict", "a/x"):
        mkdir(srv, d)
    put_file(srv, "priv/secret", b"secret\n")
    put_file(srv, "pub/file", b"public\n")
    put_file(srv, "a/strict/f", b"keep\n")
    for link, target in (("pub/tosecret", "../priv/secret"),
                         ("pub/privdir", "../priv"),
                         ("priv/topub", "../pub/file"),
                         ("a/tostrict", "strict")):
        os.symlink(target, srv.home / link)
        own(srv.home / link)
    set_perms(srv, "--perm", "/pub:list,download", "--perm", "/priv:none",
              "--perm", "/a:*", "--perm", "/a/strict:list,download")
    return srv


@pytest.mark.parametrize("path", [
    "/pub/../priv/secret", "//priv/secret", "/./priv/secret", "priv/secret",
    "/pub/tosecret", "/pub/privdir/secret", "/pub//privdir/./secret",
])
def test_hostile_paths_reach_the_stricter_rule(hsrv, path):
    ftp = hsrv.login()
    try:
        assert code_of(lambda: retr_bytes(ftp, path)) == 550
        assert code_of(lambda: ftp.sendcmd(f"SIZE {path}")) == 550
    finally:
        ftp.close()


def test_symlinks_and_dots_judged_where_they_land(hsrv):
    ftp = hsrv.login()
    try:
        # out of a stricter directory into a looser one: the target's rule
        assert retr_bytes(ftp, "/priv/topub") == b"public\n"
        # listing a symlinked directory: the rule of the real directory
        assert code_of(lambda: ftp.retrlines("LIST /pub/privdir", print)) == 550
        assert code_of(lambda: upload(ftp, "STOR /pub/privdir/new")) == 550
        assert not (hsrv.home / "priv" / "new").exists()
        for p in ("/a/x/../strict/f", "/a//strict/f", "/a/./strict/f",
                  "/a/tostrict/f"):
            assert code_of(lambda: ftp.sendcmd(f"DELE {p}")) == 550, p
            assert code_of(lambda: upload(ftp, f"STOR {p}")) == 550, p
        assert code_of(lambda: ftp.rename("/a/strict/f", "/a/g")) == 550
        # /a may be renamed but not carry /a/strict's rule away
        assert code_of(lambda: ftp.rename("/a", "/b")) == 550
        assert (hsrv.home / "a" / "strict" / "f").read_bytes() == b"keep\n"
        # looser spellings that land in /a are fine
        upload(ftp, "STOR /a/strict/../ok")
        assert (hsrv.home / "a" / "ok").read_bytes() == BODY
    finally:
        ftp.close()
    assert wait_for(lambda: 'real="/priv/new"' in hsrv.log())


# ----------------------------------------------------------- drop-boxes

@pytest.fixture(params=MODES)
def dsrv(request, start_server):
    srv = start_server(mode="config", rootless=request.param == "rootless")
    mkdir(srv, "drop")
    set_perms(srv, "--perm", "/drop:upload")
    return srv


def need(tool):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} not installed")


def run(argv, cwd):
    return subprocess.run(argv, cwd=str(cwd), capture_output=True, timeout=30,
                          env={**os.environ, "HOME": str(cwd)})


def test_dropbox_curl(dsrv):
    need("curl")
    work = dsrv.base / "client"
    work.mkdir()
    (work / "up.txt").write_bytes(b"dropped\n")
    url = f"ftp://127.0.0.1:{dsrv.port}/drop/"
    cu = ["curl", "-sS", "--max-time", "10", "--user", f"{dsrv.user}:{dsrv.password}"]
    r = run(cu + ["-T", "up.txt", url], work)
    assert r.returncode == 0, r.stderr
    assert (dsrv.home / "drop" / "up.txt").read_bytes() == b"dropped\n"
    assert run(cu + [url], work).returncode != 0  # list
    assert run(cu + ["-o", "got", url + "up.txt"], work).returncode != 0
    assert run(cu + ["-T", "up.txt", url], work).returncode != 0  # overwrite
    assert run(cu + ["-Q", "DELE /drop/up.txt", url + "x"], work).returncode != 0
    assert (dsrv.home / "drop" / "up.txt").read_bytes() == b"dropped\n"


def test_dropbox_lftp(dsrv):
    need("lftp")
    work = dsrv.base / "client"
    work.mkdir()
    (work / "l.txt").write_bytes(b"lftp drop\n")

    def lftp(script):
        cmd = ("set ftp:passive-mode on; set net:max-retries 1; set net:timeout 5; "
               f"open -u {dsrv.user},{dsrv.password} -p {dsrv.port} 127.0.0.1; "
               + script)
        return run(["lftp", "-c", cmd], work)

    r = lftp("put l.txt -o /drop/l.txt")
    assert r.returncode == 0, r.stderr
    assert (dsrv.home / "drop" / "l.txt").read_bytes() == b"lftp drop\n"
    assert lftp("cls /drop/").returncode != 0
    assert lftp("get /drop/l.txt -o back.txt").returncode != 0
    assert not (work / "back.txt").exists() or (work / "back.txt").stat().st_size == 0
    assert lftp("rm /drop/l.txt").returncode != 0
    assert (dsrv.home / "drop" / "l.txt").exists()


# ------------------------------------------------------- anonymous uploads

@pytest.fixture(params=MODES)
def asrv(request, start_server):
    srv = start_server(mode="config", rootless=request.param == "rootless",
                       conf_extra={"anon_upload_dirs": "/incoming, /drop2"})
    for d in ("incoming", "drop2"):
        p = srv.anon / d
        p.mkdir()
        own(p)  # writable by the anonymous account (nobody) as root
    return srv


def test_anon_upload_dirs(asrv):
    ftp = asrv.anon_login()
    try:
        upload(ftp, "STOR /incoming/a.txt")
        f = asrv.anon / "incoming" / "a.txt"
        assert f.read_bytes() == BODY
        assert f.stat().st_mode & 0o777 == 0o600
        for fn in (lambda: retr_bytes(ftp, "/incoming/a.txt"),
                   lambda: ftp.retrlines("LIST /incoming", print),
                   lambda: ftp.sendcmd("SIZE /incoming/a.txt"),
                   lambda: ftp.sendcmd("DELE /incoming/a.txt"),
                   lambda: upload(ftp, "STOR /incoming/a.txt"),
                   lambda: ftp.rename("/incoming/a.txt", "/a.txt"),
                   lambda: upload(ftp, "STOR /outside.txt"),
                   lambda: ftp.sendcmd("MKD /incoming/d")):
            assert code_of(fn) == 550
        upload(ftp, "STOR /drop2/b.txt")
        assert retr_bytes(ftp, "/hello.txt") == b"hello world\n"
        assert not (asrv.anon / "outside.txt").exists()
        # the administrator moves it out: still not served until readable
        os.rename(f, asrv.anon / "moved.txt")
        assert code_of(lambda: retr_bytes(ftp, "/moved.txt")) == 550
        os.chmod(asrv.anon / "moved.txt", 0o644)
        assert retr_bytes(ftp, "/moved.txt") == BODY
    finally:
        ftp.close()


def test_user_set_perm_cli(rsrv):
    set_perms(rsrv, "--perm", "/in:upload,mkdir", "--perm", "/pub:*")
    line = rsrv.users.read_text()
    assert "perm=/in:upload;mkdir" in line and "perm=/pub:*" in line
    set_perms(rsrv, "--no-perm", "/in")
    assert "perm=/in" not in rsrv.users.read_text()
    for bad in (["--perm", "/a/../b:list"], ["--perm", "rel:list"],
                ["--perm", "/a:bogus"], ["--no-perm", "/nope"]):
        r = subprocess.run([BIN, "user", "-f", str(rsrv.users), "set", rsrv.user,
                            *bad], capture_output=True, text=True, timeout=TIMEOUT)
        assert r.returncode != 0, bad


def test_directory_renames_keep_rules_in_place(hsrv):
    """A directory named by a rule, or with one below it, does not move
    (its contents would change rules); others do."""
    set_perms(hsrv, "--perm", "/a/strict:list,download,rename")
    ftp = hsrv.login()
    try:
        assert code_of(lambda: ftp.rename("/a/strict", "/a/free")) == 550
        assert code_of(lambda: ftp.rename("/a/x", "/a/strict2")) < 400
        assert (hsrv.home / "a" / "strict2").is_dir()
        # nor may a directory move onto a path a rule names
        mkdir(hsrv, "a/y")
        set_perms(hsrv, "--perm", "/a/target:list")
    finally:
        ftp.close()
    ftp = hsrv.login()
    try:
        assert code_of(lambda: ftp.rename("/a/y", "/a/target")) == 550
        assert not (hsrv.home / "a" / "target").exists()
    finally:
        ftp.close()


@pytest.mark.parametrize("mode", MODES)
def test_read_only_user_writes_where_a_rule_allows(start_server, mode):
    """A user without the write flag: read-only by default, and able to
    change what a rule allows (the kernel's Landlock rules grant writes
    beneath those directories only)."""
    from conftest import user_add
    srv = start_server(mode="config", rootless=mode == "rootless")
    r = user_add(srv.users, "reader", "Re4der-pass-e2e", srv.home, write=False,
                 extra=["--perm", "/in:upload,mkdir", "--perm", "/everything:*"])
    assert r.returncode == 0, r.stderr
    if IS_ROOT and srv.rootless:
        os.chown(srv.users, NOBODY, NOBODY)
    mkdir(srv, "in")
    mkdir(srv, "everything")
    ftp = srv.login("reader", "Re4der-pass-e2e")
    try:
        upload(ftp, "STOR /in/a.txt")
        ftp.sendcmd("MKD /in/d")
        upload(ftp, "STOR /everything/b.txt")
        ftp.sendcmd("DELE /everything/b.txt")
        assert code_of(lambda: upload(ftp, "STOR /top.txt")) == 550
        assert code_of(lambda: ftp.sendcmd("DELE /hello.txt")) == 550
        assert code_of(lambda: ftp.sendcmd("DELE /in/a.txt")) == 550
        assert retr_bytes(ftp, "/hello.txt") == b"hello world\n"
    finally:
        ftp.close()
    assert (srv.home / "in" / "a.txt").read_bytes() == BODY
    assert (srv.home / "in" / "d").is_dir()
    assert not (srv.home / "everything" / "b.txt").exists()
    assert (srv.home / "hello.txt").exists()
