"""Least privilege around the session (issue 13, item 5): no descriptor the
server's parent left open reaches any process of the server, each role
holds only the descriptors it needs (a table below, per role), the
post-login seccomp filter refuses setuid/setgid/sticky modes, and after
login the monitor keeps only the capabilities its remaining requests need,
with no_new_privs and its own seccomp filter."""

import ftplib
import os
import shutil
import stat
import subprocess

import pytest

from conftest import (BIN, WORKER_BIN, IS_ROOT, NOBODY, PASSWORD, USER, build_server,
                      descendants_named, proc_status, requires_root, retr_bytes,
                      stor_bytes, wait_for)
from test_pam import PAM_PASS, PAM_USER, pam_user  # noqa: F401 (fixture)
from tls_helpers import TLSRaw, certs, tls_conf  # noqa: F401 (fixture)

MODES = ["root", "rootless"] if IS_ROOT else ["rootless"]

with open(BIN, "rb") as _f:
    # sanitizer builds keep the workers' stdio for the runtime's reports
    SANITIZED = b"__asan_init" in _f.read()


# ---------------------------------------------------------------------------
# a server started with an extra descriptor open, as `keepftpd -c conf 7<file`

@pytest.fixture
def fd_server(tmp_path):
    """Factory: a server whose parent left a descriptor open on a file
    (mode 0600) named "parent-secret"; returns (server, that path)."""
    started = []
    secret = tmp_path / "parent-secret"
    secret.write_bytes(b"not for the server\n")
    secret.chmod(0o600)

    def start(**kw):
        srv = build_server(**kw)
        fd = os.open(secret, os.O_RDONLY)
        try:
            with open(srv.stdout_path, "wb") as out, open(srv.stderr_path, "wb") as err:
                srv.proc = subprocess.Popen(srv.argv, stdin=subprocess.DEVNULL,
                                            stdout=out, stderr=err, cwd=str(srv.cwd),
                                            pass_fds=(fd,))
        finally:
            os.close(fd)
        started.append(srv)
        srv._wait_ready()
        return srv, str(secret)

    yield start
    for srv in started:
        rc = srv.stop()
        print(f"--- server {srv.argv} exit {rc}; log:\n{srv.log()[-6000:]}")
    for srv in started:
        shutil.rmtree(srv.base, ignore_errors=True)


def fd_targets(pid):
    """{fd: what /proc/PID/fd/N points at}."""
    out = {}
    for n in os.listdir(f"/proc/{pid}/fd"):
        try:
            out[int(n)] = os.readlink(f"/proc/{pid}/fd/{n}")
        except OSError:
            continue
    return out


def one(pid_list):
    assert len(pid_list) == 1, pid_list
    return pid_list[0]


def session_processes(srv):
    """Drives one FTPS session through every role; returns the client and
    {role: [(pid, fds)]}, each fd table read as the role runs."""
    seen = {"listener": [(srv.pid, fd_targets(srv.pid))]}
    c = TLSRaw(srv.port)

    def grab(role):
        pid = one(wait_for(lambda: descendants_named(srv.pid, role)))
        seen.setdefault(role, []).append((pid, fd_targets(pid)))
        return pid

    c.reply()
    pre = grab("kf-prelogin")
    grab("kf-monitor")
    assert c.cmd("AUTH TLS").startswith("234 ")
    c.starttls()
    assert c.cmd("NOOP").startswith("200 ")
    grab("kf-tls-relay")
    assert wait_for(lambda: descendants_named(srv.pid, "kf-prelogin") not in ([], [pre]))
    grab("kf-prelogin")
    assert c.cmd(f"USER {USER}").startswith("331 ")
    assert c.cmd(f"PASS {PASSWORD}").startswith("230 ")
    grab("kf-session")
    grab("kf-monitor")
    grab("kf-tls-relay")
    return c, seen


@pytest.mark.parametrize("mode", MODES)
def test_parent_descriptor_reaches_no_process(fd_server, certs, mode):
    """`keepftpd -c conf 7<secret`: the listener closes it at start, so
    no monitor, worker or relay holds it either."""
    srv, secret = fd_server(rootless=mode == "rootless",
                            conf_extra=tls_conf(certs["cert"], certs["key"]))
    c, seen = session_processes(srv)
    for role, snaps in seen.items():
        for pid, fds in snaps:
            assert secret not in fds.values(), (role, pid, fds)
    c.cmd("QUIT")
    c.close()


@pytest.mark.parametrize("mode", MODES)
def test_quick_mode_closes_parent_descriptor(fd_server, mode):
    srv, secret = fd_server(mode="quick", rootless=mode == "rootless")
    f = srv.login()
    f.pwd()
    sess = one(wait_for(lambda: descendants_named(srv.pid, "kf-session")))
    for pid in [srv.pid, sess] + descendants_named(srv.pid, "kf-monitor"):
        assert secret not in fd_targets(pid).values(), pid
    f.quit()


# What each role may hold, by kind, at most this many of each. Kinds:
# null (/dev/null), stdout and log (the files the server was started
# with: the test's stdout.log and stderr.log), lsock (a socket the
# listener holds too: its listening, report and admin sockets), socket
# (any other socket: the control connection, a worker's channels),
# pidfd, root (the session's root directory). A descriptor of any other
# kind fails. (The cap on password verifications is a semaphore set,
# src/auth/auth.c: no descriptor.)
# The image work of issue 13 (exec'ed workers, supervision) changes
# these rows: adjust them here.
ROLE_FDS = {
    # listening socket, report channel (both ends), admin socket, the
    # three spawners' request channels; the worker binary the spawners
    # execute (keepftpd-worker)
    "listener": {"null": 1, "stdout": 1, "log": 1, "lsock": 7, "binary": 1},
    # report end and spawner channels (inherited: lsock); ctrl, worker
    # ipc + log + spawner reply, relay plain + ipc + log + spawner reply;
    # the worker's and the relay's pidfds
    "kf-monitor": {"null": 1, "stdout": 1, "log": 1, "lsock": 4, "socket": 8,
                   "pidfd": 2},
    # from their spawners: stdio on /dev/null, then the control
    # connection (or the relay's plain end), ipc, log
    "kf-prelogin": {"null": 3, "socket": 3},
    "kf-session": {"null": 3, "socket": 3, "root": 1},
    # raw connection, plain end, ipc, log: no report socket, no stderr
    "kf-tls-relay": {"null": 3, "socket": 4},
}

def kind(target, srv, listener_targets):
    if target == "/dev/null":
        return "null"
    if target == str(srv.stdout_path):
        return "stdout"
    if target == str(srv.stderr_path):
        return "log"
    if target.startswith("socket:"):
        return "lsock" if target in listener_targets else "socket"
    if target == "anon_inode:[pidfd]":
        return "pidfd"
    if target == str(srv.home):
        return "root"
    if target == os.path.realpath(WORKER_BIN):
        return "binary"
    return target


@pytest.mark.parametrize("mode", MODES)
def test_each_role_holds_only_its_descriptors(fd_server, certs, mode):
    srv, _ = fd_server(rootless=mode == "rootless",
                       conf_extra=tls_conf(certs["cert"], certs["key"]))
    c, seen = session_processes(srv)
    listener_targets = set(seen["listener"][0][1].values())
    for role, snaps in seen.items():
        allowed = dict(ROLE_FDS[role])
        if SANITIZED and role in ("kf-prelogin", "kf-session", "kf-tls-relay"):
            allowed.update(stdout=1, log=1)
        for pid, fds in snaps:
            counts = {}
            for n, target in sorted(fds.items()):
                k = kind(target, srv, listener_targets)
                assert k in allowed, f"{role} {pid}: fd {n} -> {target}"
                counts[k] = counts.get(k, 0) + 1
            for k, n in counts.items():
                assert n <= allowed[k], f"{role} {pid}: {n} x {k}: {fds}"
    c.cmd("QUIT")
    c.close()


# ---------------------------------------------------------------------------
# no set-id or sticky bit from a session: the kernel (seccomp) refuses it

def test_site_chmod_special_bits_refused_by_the_kernel(srv):
    """SITE CHMOD parses 0..07777; the post-login filter answers EPERM to
    fchmodat with S_ISUID, S_ISGID or S_ISVTX, so the reply is 550 and
    the mode stays as it was."""
    f = srv.login()
    path = srv.home / "hello.txt"
    assert f.sendcmd("SITE CHMOD 640 hello.txt").startswith("200 ")
    for mode in ("4755", "2755", "1777", "6777", "4644"):
        with pytest.raises(ftplib.error_perm, match=r"^550 "):
            f.sendcmd(f"SITE CHMOD {mode} hello.txt")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o640, mode
    # the session goes on: the refusal was an error, not a killed worker
    assert f.sendcmd("SITE CHMOD 604 hello.txt").startswith("200 ")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o604
    assert f.pwd() == "/"
    f.quit()


# ---------------------------------------------------------------------------
# the monitor after login: fewer capabilities, no_new_privs, seccomp

# CAP_DAC_READ_SEARCH 2, CAP_KILL 5 (docs/SECURITY.md says why each):
# the spawners, not the monitor, make workers with an identity
MONITOR_CAPS = (1 << 2) | (1 << 5)
CAP_AUDIT_WRITE = 1 << 29
CAP_DAC_OVERRIDE, CAP_CHOWN = 1 << 1, 1 << 0


def caps(st, key):
    return int(st[key], 16)


def the_monitor(srv):
    return one(wait_for(lambda: descendants_named(srv.pid, "kf-monitor")))


def assert_shrunk(srv, extra=0):
    mon = the_monitor(srv)
    st = proc_status(mon)
    assert st["NoNewPrivs"] == "1"
    assert st["Seccomp"] == "2"
    assert caps(st, "CapInh") == 0 and caps(st, "CapAmb") == 0
    if srv.rootless:
        assert caps(st, "CapEff") == 0 and caps(st, "CapPrm") == 0
        return mon
    assert caps(st, "CapEff") == MONITOR_CAPS | extra, st["CapEff"]
    assert caps(st, "CapPrm") == MONITOR_CAPS | extra, st["CapPrm"]
    assert caps(st, "CapBnd") == MONITOR_CAPS | extra, st["CapBnd"]
    return mon


def test_monitor_shrinks_after_login(srv):
    c = srv.connect()
    mon = the_monitor(srv)
    before = proc_status(mon)
    assert before["NoNewPrivs"] == "0" and before["Seccomp"] == "0"
    if not srv.rootless:
        # before login the monitor is still fully privileged
        assert caps(before, "CapEff") & ~MONITOR_CAPS
    c.login(USER, PASSWORD)
    assert wait_for(lambda: descendants_named(srv.pid, "kf-session"))
    assert assert_shrunk(srv) == mon
    # the session still works: a transfer, then REIN and a second login
    # (new pre-login worker, new post-login worker, from the shrunk monitor)
    stor_bytes(c, "up.txt", b"x" * 1000)
    assert c.sendcmd("REIN").startswith("220")
    c.login(USER, PASSWORD)
    assert retr_bytes(c, "up.txt") == b"x" * 1000
    sess = one(wait_for(lambda: descendants_named(srv.pid, "kf-session")))
    if not srv.rootless:
        assert proc_status(sess)["CapBnd"] == "0000000000000000"
    assert_shrunk(srv)
    c.quit()
    assert "session ended" not in srv.log()


def test_shrunk_monitor_still_stops_its_worker(srv):
    """SIGTERM to the server: the monitor passes it on to a worker of
    another uid (CAP_KILL kept) and the session ends promptly."""
    f = srv.login()
    assert wait_for(lambda: descendants_named(srv.pid, "kf-session"))
    assert_shrunk(srv)
    srv.proc.send_signal(15)
    srv.proc.wait(5)
    assert srv.proc.returncode == 0
    f.close()


@pytest.mark.parametrize("mode", MODES)
def test_rein_then_auth_tls_after_the_shrink(start_server, certs, mode):
    """A relay started after login, by the shrunk monitor: plain login,
    REIN, AUTH TLS, login again over TLS."""
    # a plain login first: tls_required_users is on with a certificate
    srv = start_server(conf_extra=tls_conf(certs["cert"], certs["key"],
                                           {"tls_required_users": "no"}),
                       rootless=mode == "rootless")
    c = TLSRaw(srv.port)
    c.reply()
    assert c.cmd(f"USER {USER}").startswith("331 ")
    assert c.cmd(f"PASS {PASSWORD}").startswith("230 ")
    assert wait_for(lambda: descendants_named(srv.pid, "kf-session"))
    assert_shrunk(srv)
    assert c.cmd("REIN").startswith("220 ")
    assert c.cmd("AUTH TLS").startswith("234 ")
    c.starttls()
    assert c.cmd(f"USER {USER}").startswith("331 ")
    assert c.cmd(f"PASS {PASSWORD}").startswith("230 ")
    assert c.cmd("PWD").startswith("257 ")
    relay = one(wait_for(lambda: descendants_named(srv.pid, "kf-tls-relay")))
    st = proc_status(relay)
    assert st["Seccomp"] == "2" and caps(st, "CapEff") == 0
    assert_shrunk(srv)
    c.cmd("QUIT")
    c.close()


# what the listener keeps in its bounding set (sb_priv.c server_caps): the
# shipped unit's CapabilityBoundingSet and CAP_SYS_ADMIN (shared folders)
SERVER_BND = sum(1 << c for c in (0, 1, 2, 5, 6, 7, 8, 10, 18, 21, 29))


@requires_root
def test_listener_limits_its_bounding_set(start_server):
    """As root, the listener drops from its bounding set every capability
    keepftpd does not use, as the shipped unit does, so nothing it or a
    descendant executes can gain another; its own effective set stays."""
    srv = start_server(mode="config", rootless=False)
    own = caps(proc_status(os.getpid()), "CapBnd")
    st = proc_status(srv.pid)
    assert caps(st, "CapBnd") == own & SERVER_BND, st["CapBnd"]
    assert caps(st, "CapEff") & ~SERVER_BND, "the listener's effective set shrank"
    for name in ("kf-spawn-pre", "kf-spawn-post"):
        for pid in descendants_named(srv.pid, name):
            assert caps(proc_status(pid), "CapBnd") & ~SERVER_BND == 0


@requires_root
def test_pam_relogin_after_the_shrink(start_server, pam_user):
    """PAM (pam_unix reads /etc/shadow, NSS, audit) runs again in the
    shrunk monitor after REIN: a wrong password, then the right one."""
    srv = start_server(mode="config", conf_extra={"pam_enable": "yes"})
    f = srv.login(PAM_USER, PAM_PASS)
    assert wait_for(lambda: descendants_named(srv.pid, "kf-session"))
    assert_shrunk(srv, extra=CAP_AUDIT_WRITE)
    assert f.sendcmd("REIN").startswith("220")
    with pytest.raises(ftplib.error_perm, match=r"^530 "):
        f.login(PAM_USER, "wrong-password")
    f.login(PAM_USER, PAM_PASS)
    assert retr_bytes(f, "mine.txt") == b"pam user file\n"
    sess = one(wait_for(lambda: descendants_named(srv.pid, "kf-session")))
    assert proc_status(sess)["Uid"].split() == [str(pam_user.pw_uid)] * 4
    assert f.sendcmd("REIN").startswith("220")
    f.login(USER, PASSWORD)
    assert f.pwd() == "/"
    f.quit()
    assert srv.wait_log(rf'login ok: user="{PAM_USER}"')
    assert "session ended" not in srv.log()


@requires_root
def test_quota_dir_of_another_owner_after_the_shrink(start_server, tmp_path):
    """A quota_dir owned by another account: the monitor keeps
    CAP_DAC_OVERRIDE and CAP_CHOWN to create a usage file there and
    hand it over; after REIN it can still do so for the next login."""
    qdir = tmp_path / "quota"
    qdir.mkdir(mode=0o700)
    os.chown(qdir, NOBODY, NOBODY)
    srv = start_server(conf_extra={"quota_dir": str(qdir)})
    from tls_helpers import add_user
    add_user(srv, "qbob", "Qb0b-e2e-S3cret", extra=("--quota-bytes", "1000000"))
    f = srv.login()
    assert wait_for(lambda: descendants_named(srv.pid, "kf-session"))
    assert_shrunk(srv, extra=CAP_DAC_OVERRIDE | CAP_CHOWN)
    assert f.sendcmd("REIN").startswith("220")
    f.login("qbob", "Qb0b-e2e-S3cret")
    stor_bytes(f, "q.txt", b"q" * 100)
    f.quit()
    st = os.stat(qdir / "qbob")
    assert (st.st_uid, st.st_gid) == (NOBODY, NOBODY)


@requires_root
def test_pam_modules_under_the_monitor_filter(start_server, pam_user, tmp_path):
    """A PAM stack of pam_shells, pam_listfile, pam_faillock and pam_unix
    (auth and account) verifies logins after REIN, in the shrunk monitor
    under its seccomp filter: allowed user in, unlisted user out, wrong
    password counted by pam_faillock, right one in again."""
    service = f"kf-lptest-{os.getpid()}"
    pamd = f"/etc/pam.d/{service}"
    allowed = tmp_path / "ftpusers"
    allowed.write_text(f"{PAM_USER}\n")
    fl = tmp_path / "faillock"
    fl.mkdir()
    opts = f"dir={fl} deny=50 unlock_time=1"
    with open(pamd, "w") as f:
        f.write("auth requisite pam_shells.so\n"
                f"auth required pam_listfile.so item=user sense=allow file={allowed} "
                "onerr=fail\n"
                f"auth required pam_faillock.so preauth {opts}\n"
                "auth [success=1 default=bad] pam_unix.so\n"
                f"auth [default=die] pam_faillock.so authfail {opts}\n"
                f"auth sufficient pam_faillock.so authsucc {opts}\n"
                "account required pam_unix.so\n"
                f"account required pam_faillock.so {opts}\n")
    old_shell = pam_user.pw_shell
    subprocess.run(["usermod", "-s", "/bin/sh", PAM_USER], check=True,
                   capture_output=True)
    try:
        srv = start_server(mode="config", conf_extra={"pam_enable": "yes",
                                                      "pam_service": service})
        f = srv.login(PAM_USER, PAM_PASS)
        assert wait_for(lambda: descendants_named(srv.pid, "kf-session"))
        assert_shrunk(srv, extra=CAP_AUDIT_WRITE)
        for _ in range(2):
            assert f.sendcmd("REIN").startswith("220")
            with pytest.raises(ftplib.error_perm, match=r"^530 "):
                f.login(PAM_USER, "wrong-password")
            f.login(PAM_USER, PAM_PASS)
            assert retr_bytes(f, "mine.txt") == b"pam user file\n"
        f.quit()
        # pam_faillock wrote its tally for the failures
        assert (fl / PAM_USER).exists()
        # a user pam_listfile does not list: refused, the monitor lives on
        g = srv.login(PAM_USER, PAM_PASS)
        allowed.write_text("someoneelse\n")
        assert g.sendcmd("REIN").startswith("220")
        with pytest.raises(ftplib.error_perm, match=r"^530 "):
            g.login(PAM_USER, PAM_PASS)
        g.login(USER, PASSWORD)
        g.quit()
        assert "session ended" not in srv.log()
        assert 'login ok: user="alice"' in srv.log()
    finally:
        os.unlink(pamd)
        subprocess.run(["usermod", "-s", old_shell, PAM_USER], capture_output=True)
