"""Upload hooks (upload_hook, issue 16 item 5): the hook spawner
(kf-spawn-hook) runs the configured program after each completed upload
(after mode) or as the gate before a STOR's file gets its name (check
mode), with a fixed argv and environment, as the session's user, with no
capabilities, no_new_privs and stdin /dev/null; its output goes escaped
into the log; a timeout kills it; upload_hook_concurrency bounds how many
run at once. Hostile file names reach it as one argv element and no
shell ever runs."""

import ftplib
import io
import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import (BIN, IS_ROOT, MODES, NOBODY, TIMEOUT, requires_root,
                      stor_bytes, wait_for)
from tls_helpers import certs, tls_conf, tls_login  # noqa: F401 (fixture)

HOOK = r'''#!/usr/bin/python3
import json, os, sys, time
OUT = {out!r}
rec = {{"argv": sys.argv, "env": dict(os.environ), "uid": os.getuid(),
       "gid": os.getgid(), "groups": os.getgroups(), "cwd": os.getcwd(),
       "start": time.time(), "pid": os.getpid()}}
st = {{}}
for line in open("/proc/self/status"):
    k, _, v = line.partition(":")
    st[k] = v.strip()
rec["status"] = {{k: st.get(k) for k in ("CapEff", "CapPrm", "CapInh", "CapBnd",
                                        "CapAmb", "NoNewPrivs", "PPid")}}
rec["parent"] = open("/proc/%s/comm" % st["PPid"]).read().strip()
rec["stdin"] = sys.stdin.buffer.read().hex()
rec["fds"] = sorted(int(x) for x in os.listdir("/proc/self/fd"))
try:
    data = open(sys.argv[1], "rb").read()
    rec["data"] = data[:256].hex()
    rec["fd3"] = os.fstat(3).st_ino == os.stat(sys.argv[1]).st_ino
except OSError as e:
    data = b""
    rec["data_err"] = str(e)
sys.stdout.write({output!r})
sys.stdout.flush()
time.sleep({sleep!r})
rec["end"] = time.time()
with open(OUT, "a") as f:
    f.write(json.dumps(rec) + "\n")
sys.exit(1 if {reject!r} and b"EICAR" in data else 0)
'''


def write_hook(base, output="", sleep=0.0, reject=False):
    """A root-owned 0755 hook in a root-owned 0755 directory; its records
    (one JSON line per run) go to a file any uid may append to."""
    d = Path(base) / "hookbin"
    d.mkdir(mode=0o755, exist_ok=True)
    out_dir = Path(base) / "hookout"
    out_dir.mkdir(mode=0o777, exist_ok=True)
    out_dir.chmod(0o777)
    out = out_dir / "runs.jsonl"
    hook = d / "hook.py"
    hook.write_text(HOOK.format(out=str(out), output=output, sleep=sleep,
                                reject=reject))
    hook.chmod(0o755)
    return hook, out


def runs(out):
    try:
        return [json.loads(l) for l in out.read_text().splitlines() if l]
    except FileNotFoundError:
        return []


def wait_runs(out, n, timeout=10):
    assert wait_for(lambda: len(runs(out)) >= n, timeout=timeout), runs(out)
    return runs(out)


def hook_server(start_server, tmp_base, rootless=False, tls=None, **conf):
    hook, out = write_hook(tmp_base, **conf.pop("hook_args", {}))
    extra = {"upload_hook": str(hook), **conf}
    if tls:
        extra.update(tls)
    srv = start_server(conf_extra=extra, rootless=rootless)
    return srv, out


@pytest.fixture
def tmp_base():
    import tempfile
    d = Path(tempfile.mkdtemp(prefix="kf-hook-", dir="/tmp"))
    d.chmod(0o755)
    yield d
    import shutil
    shutil.rmtree(d, ignore_errors=True)


def check_identity(rec, srv):
    uid = NOBODY if IS_ROOT else os.geteuid()
    assert rec["uid"] == uid and rec["gid"] == uid
    st = rec["status"]
    assert st["CapEff"] == st["CapPrm"] == st["CapInh"] == st["CapAmb"] == "0" * 16
    if IS_ROOT and not srv.rootless:
        assert st["CapBnd"] == "0" * 16
        assert rec["groups"] == [uid]
    assert st["NoNewPrivs"] == "1"
    assert rec["stdin"] == ""
    # nothing but stdin, stdout, stderr, the file (and the listing's own)
    assert set(rec["fds"]) - {0, 1, 2, 3} <= {max(rec["fds"])}
    assert len(rec["fds"]) <= 5
    assert rec["parent"] == "kf-hook"  # run by the runner, not a shell
    env = rec["env"]
    assert set(env) == {"KEEPFTPD_USER", "KEEPFTPD_CLIENT", "KEEPFTPD_PATH",
                        "KEEPFTPD_SIZE", "KEEPFTPD_SESSION", "KEEPFTPD_MODE",
                        "PATH"} | ({"LC_CTYPE"} & set(env))
    assert env["PATH"] == "/usr/bin:/bin"
    assert env["KEEPFTPD_CLIENT"] == "127.0.0.1"
    assert env["KEEPFTPD_SESSION"].isdigit()


@pytest.mark.parametrize("mode", MODES)
def test_after_stor_appe_stou(start_server, tmp_base, mode):
    srv, out = hook_server(start_server, tmp_base, rootless=mode == "rootless")
    f = srv.login()
    stor_bytes(f, "a.txt", b"one\n")
    stor_bytes(f, "hello.txt", b"more\n", cmd="APPE")
    f.voidcmd("TYPE I")
    conn, _ = f.ntransfercmd("STOU up")
    conn.sendall(b"unique!\n")
    conn.close()
    resp = f.voidresp()
    stou_name = resp.split("unique file name: ")[1].rstrip(").")
    recs = wait_runs(out, 3)
    time.sleep(0.3)
    f.quit()
    assert len(runs(out)) == 3
    by_path = {r["env"]["KEEPFTPD_PATH"]: r for r in recs}
    assert set(by_path) == {"/a.txt", "/hello.txt", "/" + stou_name}
    for vpath, size in (("/a.txt", 4), ("/hello.txt", 12 + 5), ("/" + stou_name, 8)):
        r = by_path[vpath]
        check_identity(r, srv)
        assert r["argv"] == [str(tmp_base / "hookbin" / "hook.py"), str(srv.home) + vpath]
        assert r["env"]["KEEPFTPD_SIZE"] == str(size)
        assert r["env"]["KEEPFTPD_USER"] == "alice"
        assert r["env"]["KEEPFTPD_MODE"] == "after"
        assert r["fd3"] is True
        assert r["cwd"] == str(srv.home)
    assert bytes.fromhex(by_path["/a.txt"]["data"]) == b"one\n"
    assert srv.wait_log(r'upload hook after: exit=0 path="/a.txt"')
