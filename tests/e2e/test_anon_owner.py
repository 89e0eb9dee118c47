"""anon_upload_owner (docs/PERMISSIONS.md, "Anonymous drop-boxes"): a file
an anonymous session uploads into an anon_upload_dir is given to that
account by the monitor (MON_ANON_OWN), with anon_upload_mode, so the
anonymous account can neither read, append to, overwrite nor delete it;
uploads elsewhere are refused as before. Root only (chown needs
CAP_CHOWN); rootless, the option is refused at load."""
import ftplib
import io
import pwd
import shutil
import subprocess

import pytest

from conftest import (BIN, IS_ROOT, SETPRIV, TIMEOUT, descendants_named,
                      make_base, proc_status, requires_root, retr_bytes,
                      wait_for)

OWNER = "daemon"  # neither root nor the anonymous account (nobody)
BODY = b"for the administrator only\n"


def code_of(fn):
    try:
        r = fn()
    except ftplib.all_errors as e:
        return int(str(e)[:3])
    return int(r[:3]) if isinstance(r, str) else 226


def upload(ftp, cmd, data=BODY):
    return ftp.storbinary(cmd, io.BytesIO(data))


@pytest.fixture
def osrv(start_server):
    if not IS_ROOT:
        pytest.skip("anon_upload_owner needs root")
    srv = start_server(mode="config", rootless=False,
                       conf_extra={"anon_upload_dirs": "/incoming",
                                   "anon_upload_owner": OWNER,
                                   "anon_upload_mode": "0640"})
    d = srv.anon / "incoming"
    d.mkdir()
    # writable by the anonymous account; sticky: it cannot remove or
    # rename what it no longer owns (docs/PERMISSIONS.md)
    d.chmod(0o1733)
    return srv


def owner_ids():
    pw = pwd.getpwnam(OWNER)
    return pw.pw_uid, pw.pw_gid


def readable_by_nobody(path):
    r = subprocess.run(SETPRIV + ["cat", str(path)], capture_output=True,
                       timeout=TIMEOUT)
    return r.returncode == 0


def assert_handed_over(path):
    st = path.stat()
    assert (st.st_uid, st.st_gid) == owner_ids()
    assert st.st_mode & 0o7777 == 0o640
    assert st.st_nlink == 1
    assert path.read_bytes() == BODY
    assert not readable_by_nobody(path)


@requires_root
def test_stor_is_handed_over(osrv):
    ftp = osrv.anon_login()
    try:
        upload(ftp, "STOR /incoming/a.txt")
        f = osrv.anon / "incoming" / "a.txt"
        assert_handed_over(f)
        assert osrv.wait_log(r'anon upload handed over: path="\S*/incoming/a\.txt" '
                             r'owner=daemon mode=0640')
        # the anonymous session cannot touch it in any way
        for fn in (lambda: retr_bytes(ftp, "/incoming/a.txt"),
                   lambda: ftp.sendcmd("SIZE /incoming/a.txt"),
                   lambda: ftp.sendcmd("DELE /incoming/a.txt"),
                   lambda: upload(ftp, "STOR /incoming/a.txt", b"evil\n"),
                   lambda: upload(ftp, "APPE /incoming/a.txt", b"evil\n"),
                   lambda: ftp.rename("/incoming/a.txt", "/incoming/b.txt")):
            assert code_of(fn) == 550
        assert_handed_over(f)
        # the session goes on: a second upload, a download elsewhere
        upload(ftp, "STOR /incoming/c.txt")
        assert_handed_over(osrv.anon / "incoming" / "c.txt")
        assert retr_bytes(ftp, "/hello.txt") == b"hello world\n"
    finally:
        ftp.close()
    assert "session ended" not in osrv.log()


@requires_root
def test_stou_and_appe_are_handed_over(osrv):
    ftp = osrv.anon_login()
    try:
        ftp.voidcmd("TYPE I")
        conn, _ = ftp.ntransfercmd("STOU /incoming/u")
        conn.sendall(BODY)
        conn.close()
        done = ftp.voidresp()
        assert done.startswith("226")
        name = done.split("unique file name: ", 1)[1].rstrip(").")
        assert_handed_over(osrv.anon / "incoming" / name)
        # APPE to a new name makes the file: handed over too
        upload(ftp, "APPE /incoming/appended.txt")
        assert_handed_over(osrv.anon / "incoming" / "appended.txt")
    finally:
        ftp.close()


@requires_root
def test_outside_the_dropbox_refused_as_before(osrv):
    ftp = osrv.anon_login()
    try:
        assert code_of(lambda: upload(ftp, "STOR /outside.txt")) == 550
    finally:
        ftp.close()
    assert not (osrv.anon / "outside.txt").exists()
    assert "handed over" not in osrv.log()


@requires_root
def test_users_are_not_handed_over(osrv):
    """Only anonymous sessions: a user's upload keeps its owner."""
    ftp = osrv.login()
    try:
        upload(ftp, "STOR /mine.txt")
    finally:
        ftp.close()
    assert (osrv.home / "mine.txt").stat().st_uid != owner_ids()[0]
    assert "handed over" not in osrv.log()


def check_conf(tmp, extra, rootless=False):
    anon = tmp / "anon"
    (anon / "incoming").mkdir(parents=True, exist_ok=True)
    conf = tmp / "keepftpd.conf"
    conf.write_text("anonymous_enable = yes\n"
                    f"anon_root = {anon}\n"
                    "listen = 127.0.0.1:2121\n" +
                    "".join(f"{k} = {v}\n" for k, v in extra.items()))
    conf.chmod(0o644)
    tmp.chmod(0o755)
    argv = ([*SETPRIV] if rootless and IS_ROOT else []) + [BIN, "-t", "-c", str(conf)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)


def test_config_checks():
    tmp = make_base()
    try:
        config_checks(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def config_checks(tmp):
    ok = {"anon_upload_dirs": "/incoming", "anon_upload_owner": OWNER}
    r = check_conf(tmp, ok, rootless=True)
    assert r.returncode != 0
    assert "anon_upload_owner=daemon needs keepftpd started as root" in r.stderr
    if not IS_ROOT:
        return
    assert check_conf(tmp, ok).returncode == 0
    for extra, words in (
            ({"anon_upload_owner": OWNER}, "needs anon_upload_dirs"),
            ({**ok, "anon_upload_owner": "root"}, "not root, anon_user"),
            ({**ok, "anon_upload_owner": "nobody"}, "not root, anon_user"),
            ({**ok, "anon_upload_owner": "kf-no-such-account"}, "no such account")):
        r = check_conf(tmp, extra)
        assert r.returncode != 0, extra
        assert words in r.stderr, r.stderr
    # quick mode checks it too (-o), before it serves
    r = subprocess.run([BIN, "serve", str(tmp / "anon"), "--listen",
                        "127.0.0.1:1", "-o", "anon_upload_dirs=/incoming",
                        "-o", "anon_upload_owner=kf-no-such-account"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode != 0
    assert "anon_upload_owner=kf-no-such-account: no such account" in r.stderr


@requires_root
def test_rein_from_a_user_to_anonymous(osrv):
    """The monitor kept CAP_CHOWN only if the session's first login was
    anonymous: after a user's login and REIN, an anonymous upload into
    the drop-box cannot be handed over, so it is removed and answered
    451, never left with the anonymous account."""
    ftp = osrv.login()
    try:
        assert ftp.sendcmd("REIN").startswith("220")
        ftp.login("anonymous", "guest@example.com")
        assert code_of(lambda: upload(ftp, "STOR /incoming/r.txt")) == 451
        assert not (osrv.anon / "incoming" / "r.txt").exists()
        assert osrv.wait_log(r"anon upload not handed over")
    finally:
        ftp.close()


# CAP_DAC_READ_SEARCH 2, CAP_KILL 5: what every monitor keeps after login
MONITOR_CAPS = (1 << 2) | (1 << 5)
CAP_CHOWN = 1 << 0


def monitor_caps(srv, key="CapEff"):
    mon = wait_for(lambda: descendants_named(srv.pid, "kf-monitor"))
    assert len(mon) == 1
    return int(proc_status(mon[0])[key], 16)


def caps_become(srv, want, key="CapEff"):
    """The monitor's set, once it has shrunk (just after the login)."""
    wait_for(lambda: monitor_caps(srv, key) == want)
    return monitor_caps(srv, key)


@requires_root
def test_monitor_keeps_chown_for_anonymous_only(osrv):
    """CAP_CHOWN after login only for an anonymous session, and gone
    after REIN (docs/SECURITY.md, "The monitor after login")."""
    ftp = osrv.anon_login()
    try:
        ftp.voidcmd("NOOP")
        assert caps_become(osrv, MONITOR_CAPS | CAP_CHOWN) == MONITOR_CAPS | CAP_CHOWN
        assert monitor_caps(osrv, "CapPrm") == MONITOR_CAPS | CAP_CHOWN
        assert ftp.sendcmd("REIN").startswith("220")
        ftp.login(osrv.user, osrv.password)
        assert caps_become(osrv, MONITOR_CAPS) == MONITOR_CAPS
        assert monitor_caps(osrv, "CapPrm") == MONITOR_CAPS
    finally:
        ftp.close()
    wait_for(lambda: not descendants_named(osrv.pid, "kf-monitor"))
    ftp = osrv.login()
    try:
        ftp.voidcmd("NOOP")
        assert caps_become(osrv, MONITOR_CAPS) == MONITOR_CAPS
    finally:
        ftp.close()
