"""Each unprivileged role starts from a fresh image (issue 13): workers are
forked by a per-role spawner that the listener executed afresh, so they
never hold memory a privileged process used. Password checks run where
their memory dies with the verdict (users file: in the monitor, on stack
pages it gives back and in a mapping it unmaps; PAM: a short-lived
child), so not even the monitor keeps another account's hash. A worker
or relay dies with its monitor."""

import ftplib
import os
import shutil
import signal
import subprocess

import pytest

from conftest import (BIN, WORKER_BIN, IS_ROOT, NOBODY, RawClient, children,
                      descendants_named, is_sanitized, memory_holds, proc_status,
                      requires_root, user_add, wait_for)
from tls_helpers import TLSRaw, certs, client_ctx, tls_conf, tls_login  # noqa: F401

ACCOUNTS = {"kfimga": "Img-A-pass-1", "kfimgb": "Img-B-pass-2"}


def shadow_hash(name):
    with open("/etc/shadow") as f:
        for line in f:
            fields = line.split(":")
            if fields[0] == name:
                return fields[1]
    raise AssertionError(f"{name} not in /etc/shadow")


@pytest.fixture
def accounts(tmp_path_factory):
    """Two system accounts with known passwords; their shadow hashes."""
    if not shutil.which("useradd") or not shutil.which("chpasswd"):
        pytest.skip("useradd/chpasswd not installed")
    base = tmp_path_factory.mktemp("imghome")
    os.chmod(base, 0o755)
    os.chmod(base.parent, 0o755)
    made = []
    try:
        for name, password in ACCOUNTS.items():
            subprocess.run(["userdel", name], capture_output=True)
            r = subprocess.run(["useradd", "-M", "-d", str(base / name), "-s",
                                "/usr/sbin/nologin", name], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
            made.append(name)
            subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True,
                           check=True, capture_output=True)
            (base / name).mkdir(mode=0o755)
            shutil.chown(base / name, name, name)
        yield {name: shadow_hash(name) for name in ACCOUNTS}
    finally:
        for name in made:
            subprocess.run(["userdel", name], capture_output=True)


def users_file_hash(srv):
    line = next(x for x in srv.users.read_text().splitlines()
                if x.startswith(srv.user + ":"))
    return line.split(":")[1]


def needles_of(hashes):
    """Each hash, and its last 22 characters (the digest's tail) alone."""
    out = []
    for h in hashes:
        out += [h.encode(), h[-22:].encode()]
    return out


def one(srv, name):
    pids = wait_for(lambda: descendants_named(srv.pid, name))
    assert len(pids) == 1, (name, pids)
    return pids[0]


def fail_logins(c, srv):
    """Wrong passwords for both system accounts (PAM) and the users-file user."""
    for name in list(ACCOUNTS) + [srv.user]:
        assert c.cmd(f"USER {name}").startswith("331")
        assert c.cmd("PASS wrong-password").startswith("530")


def pam_server(start_server, extra=None):
    conf = {"pam_enable": "yes", "max_login_failures": "10", "login_fail_delay_ms": "0"}
    conf.update(extra or {})
    return start_server(mode="config", rootless=False, conf_extra=conf)


def skip_if_sanitized():
    if is_sanitized():
        pytest.skip("ASan's shadow memory is too large to scan")


@requires_root
def test_prelogin_after_failed_logins_holds_no_hash(start_server, accounts, certs):
    """The issue's case: failed PAM and users-file logins, then AUTH TLS: the
    new pre-login worker, its spawner and the monitor hold none of the
    hashes the checks read."""
    skip_if_sanitized()
    srv = pam_server(start_server, tls_conf(certs["cert"], certs["key"],
                                            {"tls_required_users": "no"}))
    needles = needles_of(list(accounts.values()) + [users_file_hash(srv)])
    c = TLSRaw(srv.port)
    assert c.reply().startswith("220")
    fail_logins(c, srv)
    first = one(srv, "kf-prelogin")
    assert c.cmd("AUTH TLS").startswith("234")
    c.starttls(client_ctx())
    pre = wait_for(lambda: [p for p in descendants_named(srv.pid, "kf-prelogin")
                            if p != first])
    assert len(pre) == 1
    assert c.cmd("NOOP").startswith("200")
    assert not memory_holds(pre[0], needles), "the new pre-login worker holds a hash"
    for name in ("kf-monitor", "kf-spawn-pre", "kf-spawn-post", "kf-tls-relay"):
        assert not memory_holds(one(srv, name), needles), f"{name} holds a hash"
    c.close()


@requires_root
def test_session_after_pam_login_holds_no_other_hash(start_server, accounts):
    skip_if_sanitized()
    srv = pam_server(start_server)
    others = [accounts["kfimgb"], users_file_hash(srv)]
    c = RawClient(srv.port)
    assert c.reply().startswith("220")
    fail_logins(c, srv)
    assert c.cmd("USER kfimga").startswith("331")
    assert c.cmd(f"PASS {ACCOUNTS['kfimga']}").startswith("230")
    sess = one(srv, "kf-session")
    assert not memory_holds(sess, needles_of(others)), "kf-session holds another's hash"
    # not even its own: the worker's image never saw the shadow file
    assert not memory_holds(sess, needles_of([accounts["kfimga"]]))
    assert not memory_holds(one(srv, "kf-monitor"), needles_of(accounts.values()))
    c.close()


def sha512_line(name, password, home):
    """A users-file line with a sha512-crypt hash (crypt(3), libxcrypt)."""
    import crypt  # noqa: deprecated in 3.11, still there; the hash is libxcrypt's
    h = crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))
    return f"{name}:{h}:{NOBODY}:{NOBODY}:{home}:write\n", h


@pytest.mark.parametrize("kind", ["argon2id", "sha512"])
def test_monitor_users_file_check_keeps_no_hash(start_server, tmp_path, kind):
    """A users-file login is checked in the monitor itself, no fork: after a
    wrong password for one account and a good login of another, the
    monitor holds neither account's hash, nor the other lines of the file
    it read (three accounts in the file, argon2id or sha512-crypt)."""
    skip_if_sanitized()
    srv = start_server(conf_extra={"max_login_failures": "10",
                                   "login_fail_delay_ms": "0"})
    home = tmp_path / "h"
    home.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(home, 0o777)
    if kind == "argon2id":
        for name in ("kfother1", "kfother2"):
            r = user_add(srv.users, name, "Other-pass-" + name, home)
            assert r.returncode == 0, r.stderr
    else:
        for name in ("kfother1", "kfother2"):
            line, _ = sha512_line(name, "Other-pass-" + name, home)
            with open(srv.users, "a") as f:
                f.write(line)
    hashes = [x.split(":")[1] for x in srv.users.read_text().splitlines()
              if x and not x.startswith("#")]
    assert len(hashes) == 3
    c = RawClient(srv.port)
    assert c.reply().startswith("220")
    assert c.cmd("USER kfother1").startswith("331")
    assert c.cmd("PASS wrong-password").startswith("530")
    mon = one(srv, "kf-monitor")
    assert c.cmd("USER kfother2").startswith("331")
    assert c.cmd("PASS Other-pass-kfother2").startswith("230")
    one(srv, "kf-session")
    assert not memory_holds(mon, needles_of(hashes)), "the monitor holds a users-file hash"
    c.close()


def fds_of(pid):
    return sorted(int(x) for x in os.listdir(f"/proc/{pid}/fd"))


@requires_root
def test_workers_are_children_of_fresh_spawners(start_server):
    """Each worker's parent is its role's spawner, a child of the listener
    running keepftpd-worker (no FTP in the privileged image); the spawners' rights are their
    role's, and a worker holds exactly its own descriptors."""
    srv = start_server(mode="config", rootless=False)
    c = RawClient(srv.port)
    assert c.reply().startswith("220")
    spre, spost = one(srv, "kf-spawn-pre"), one(srv, "kf-spawn-post")
    for sp in (spre, spost):
        assert sp in children(srv.pid)
        assert os.readlink(f"/proc/{sp}/exe") == os.path.realpath(WORKER_BIN)
    pre = one(srv, "kf-prelogin")
    assert pre in children(spre)
    st = proc_status(spre)
    assert st["Uid"].split() == [str(NOBODY)] * 4
    assert st["CapEff"] == st["CapPrm"] == st["CapBnd"] == "0000000000000000"
    assert st["NoNewPrivs"] == "1"
    assert os.readlink(f"/proc/{spre}/root") == "/run/keepftpd/empty"
    # post-login: CAP_DAC_READ_SEARCH, KILL, SETGID, SETUID, SETPCAP, SYS_CHROOT
    keep = (1 << 2) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 18)
    st = proc_status(spost)
    assert int(st["CapEff"], 16) == int(st["CapBnd"], 16) == keep
    assert st["NoNewPrivs"] == "1"
    # control, requests, log: 3, 4, 5 (and 0-2 on /dev/null)
    assert fds_of(pre) == [0, 1, 2, 3, 4, 5]
    assert os.readlink(f"/proc/{pre}/fd/0") == "/dev/null"
    assert c.cmd(f"USER {srv.user}").startswith("331")
    assert c.cmd(f"PASS {srv.password}").startswith("230")
    sess = one(srv, "kf-session")
    assert sess in children(spost)
    # and the session root's directory fd
    assert fds_of(sess)[:6] == [0, 1, 2, 3, 4, 5]
    c.close()


def gone(pids):
    def ended(p):
        try:
            return proc_status(p).get("State", "").startswith("Z")
        except (FileNotFoundError, ProcessLookupError):
            return True  # reaped between the listing and the read
    return all(ended(p) for p in pids)


@pytest.mark.parametrize("tls", [False, True])
def test_no_worker_outlives_its_monitor(start_server, certs, tls):
    """kill -9 of a monitor: its worker and relay end, and the client's
    connection stops answering."""
    extra = tls_conf(certs["cert"], certs["key"]) if tls else None
    srv = start_server(mode="config", rootless=not IS_ROOT, conf_extra=extra)
    if tls:
        f = tls_login(srv, prot_p=False)
    else:
        f = srv.login()
    assert f.pwd() == "/"
    mon = one(srv, "kf-monitor")
    workers = [one(srv, "kf-session")]
    if tls:
        relay = one(srv, "kf-tls-relay")
        workers.append(relay)
        if IS_ROOT:
            # raw socket, plain end, log, requests: no report socket, and
            # no stderr of the server (but in sanitizer builds)
            assert fds_of(relay) == [0, 1, 2, 3, 4, 5, 6]
            if not is_sanitized():
                assert os.readlink(f"/proc/{relay}/fd/2") == "/dev/null"
    os.kill(mon, signal.SIGKILL)
    assert wait_for(lambda: gone(workers), timeout=5), "a worker outlived its monitor"
    with pytest.raises((EOFError, OSError, ftplib.Error)):
        f.voidcmd("NOOP")
        f.voidcmd("NOOP")
    # the spawners stay, and new sessions work
    g = tls_login(srv, prot_p=False) if tls else srv.login()
    assert g.pwd() == "/"
    g.quit()


def spawners(srv):
    return {n: descendants_named(srv.pid, n) for n in ("kf-spawn-pre", "kf-spawn-post")}


def test_sighup_new_spawners_old_end_with_their_sessions(start_server):
    """After SIGHUP new sessions come from new spawners; a session open
    across the reload keeps its own, which end with it."""
    srv = start_server(mode="config", rootless=not IS_ROOT)
    f = srv.login()
    old = spawners(srv)
    assert all(len(p) == 1 for p in old.values())
    os.kill(srv.pid, signal.SIGHUP)
    assert srv.wait_log(r"configuration reloaded")
    both = wait_for(lambda: all(len(p) == 2 for p in spawners(srv).values()))
    assert both, spawners(srv)
    g = srv.login()
    sess = descendants_named(srv.pid, "kf-session")
    assert len(sess) == 2
    new_post = [p for p in spawners(srv)["kf-spawn-post"] if p not in old["kf-spawn-post"]]
    assert any(s in children(new_post[0]) for s in sess)
    assert f.sendcmd("NOOP").startswith("200 ")
    f.quit()
    assert wait_for(lambda: all(not os.path.exists(f"/proc/{p}")
                                for p in old["kf-spawn-pre"] + old["kf-spawn-post"]))
    assert g.sendcmd("NOOP").startswith("200 ")
    g.quit()


def test_a_dead_spawner_is_started_again(start_server):
    srv = start_server(mode="config", rootless=not IS_ROOT)
    # the spawner names itself once executed (later under ASan)
    pre = wait_for(lambda: spawners(srv)["kf-spawn-pre"])
    assert len(pre) == 1
    os.kill(pre[0], signal.SIGKILL)
    assert srv.wait_log(r"the prelogin spawner \(pid \d+\) ended \(signal 9\); "
                        r"starting a new one")
    assert wait_for(lambda: [p for p in spawners(srv)["kf-spawn-pre"] if p != pre[0]])
    f = srv.login()
    assert f.pwd() == "/"
    f.quit()
