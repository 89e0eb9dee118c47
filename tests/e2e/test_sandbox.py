"""The process tree and each worker's confinement, read from /proc."""

import os

import pytest

from conftest import (IS_ROOT, NOBODY, RawClient, children, descendants_named,
                      is_sanitized, proc_status, requires_root, wait_for)

EMPTY_DIR = "/run/keepftpd/empty"


def one(srv, name):
    pids = wait_for(lambda: descendants_named(srv.pid, name), timeout=5)
    assert pids, f"no {name} process under {srv.pid}"
    assert len(pids) == 1, pids
    return pids[0]


def check_confined(pid, uid, root):
    st = proc_status(pid)
    assert st["Uid"].split() == [str(uid)] * 4
    assert st["Gid"].split() == [str(uid)] * 4
    assert st["CapEff"] == "0000000000000000"
    assert st["CapPrm"] == "0000000000000000"
    assert st["NoNewPrivs"] == "1"
    assert st["Seccomp"] == "2"
    try:
        assert os.readlink(f"/proc/{pid}/root") == root
    except PermissionError:
        # not root: a non-dumpable worker's root cannot be read; its
        # confinement is checked by behaviour instead
        assert not IS_ROOT
    return st




PRELOGIN_AS = 256 << 20   # KF_PRELOGIN_AS, src/common/limits.h
POSTLOGIN_AS = 1 << 30    # KF_POSTLOGIN_AS


def check_limits(pid, address_space):
    """The worker's rlimits: no new processes, few files, no core dumps,
    bounded memory (not under ASan, which reserves terabytes)."""
    lim = {}
    for line in open(f"/proc/{pid}/limits").read().splitlines()[1:]:
        name, soft, hard = line[:26].strip(), line[26:47].strip(), line[47:68].strip()
        lim[name] = (soft, hard)
    assert lim["Max processes"] == ("0", "0")
    assert lim["Max open files"] == ("64", "64")
    assert lim["Max core file size"] == ("0", "0")
    if not is_sanitized():
        assert lim["Max address space"] == (str(address_space),) * 2


def tree(srv):
    assert proc_status(srv.pid)["Name"] == "keepftpd"
    c = RawClient(srv.port)
    assert c.reply().startswith("220")
    mon = one(srv, "kf-monitor")
    assert mon in children(srv.pid)
    pre = one(srv, "kf-prelogin")
    # workers are forked by their role's spawner, never by the monitor
    assert pre in children(one(srv, "kf-spawn-pre"))
    return c, mon, pre


def login(c, srv):
    assert c.cmd(f"USER {srv.user}").startswith("331")
    assert c.cmd(f"PASS {srv.password}").startswith("230")


@requires_root
def test_sandbox_as_root(start_server):
    srv = start_server(mode="config")
    c, mon, pre = tree(srv)
    check_confined(pre, NOBODY, EMPTY_DIR)
    check_limits(pre, PRELOGIN_AS)
    assert sorted(os.listdir(EMPTY_DIR)) == []
    login(c, srv)
    sess = one(srv, "kf-session")
    assert sess in children(one(srv, "kf-spawn-post"))
    assert sess != pre
    assert not descendants_named(srv.pid, "kf-prelogin")
    check_confined(sess, NOBODY, str(srv.home))
    check_limits(sess, POSTLOGIN_AS)
    # the monitor stays privileged and never runs as the user
    assert proc_status(mon)["Uid"].split()[0] == "0"
    c.close()


@requires_root
def test_sandbox_as_root_anonymous(start_server):
    srv = start_server(mode="config")
    c, mon, pre = tree(srv)
    assert c.cmd("USER anonymous").startswith("331")
    assert c.cmd("PASS x@y").startswith("230")
    sess = one(srv, "kf-session")
    check_confined(sess, NOBODY, str(srv.anon))
    c.close()


@requires_root
def test_sandbox_quick_mode_as_root(start_server):
    srv = start_server(mode="quick")
    c, mon, pre = tree(srv)
    check_confined(pre, NOBODY, EMPTY_DIR)
    login(c, srv)
    sess = one(srv, "kf-session")
    # DIR is owned by 65534, so sessions run as its owner
    check_confined(sess, NOBODY, str(srv.home))
    c.close()


def test_sandbox_rootless(start_server):
    srv = start_server(mode="config", rootless=True)
    uid = NOBODY if IS_ROOT else os.geteuid()
    assert proc_status(srv.pid)["Uid"].split()[0] == str(uid)
    c, mon, pre = tree(srv)
    check_confined(pre, uid, "/")
    login(c, srv)
    sess = one(srv, "kf-session")
    check_confined(sess, uid, "/")
    # confinement by behaviour (Landlock + RESOLVE_IN_ROOT): nothing outside
    # the root is reachable, even though the process root is "/"
    assert c.cmd("CWD /proc").startswith("550")
    assert c.cmd("SIZE /etc/passwd").startswith("550")
    assert c.cmd("CWD ../../..").split()[0] in ("250", "550")
    assert c.cmd("PWD") == '257 "/" is the current directory'
    c.close()


def test_rootless_symlink_escape(start_server):
    srv = start_server(mode="config", rootless=True)
    os.symlink("/", srv.home / "slash")
    if IS_ROOT:
        os.lchown(srv.home / "slash", NOBODY, NOBODY)
    f = srv.login()
    for cmd in ("SIZE slash/etc/passwd", "MDTM slash/etc/hostname", "CWD slash/proc"):
        try:
            r = f.sendcmd(cmd)
        except Exception as e:  # noqa: BLE001
            r = str(e)
        assert r.startswith("550"), (cmd, r)
    f.quit()


def test_session_processes_end(start_server):
    srv = start_server(mode="config", rootless=not IS_ROOT)
    c = RawClient(srv.port)
    assert c.reply().startswith("220")
    login(c, srv)
    one(srv, "kf-session")
    assert c.cmd("QUIT").startswith("221")
    assert c.closed()
    c.close()
    gone = wait_for(lambda: not descendants_named(srv.pid, "kf-session") and
                    not descendants_named(srv.pid, "kf-monitor"), timeout=5)
    assert gone
