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
from test_auth_cap import ipc_ns
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
rec["ipc_ns"] = os.readlink("/proc/self/ns/ipc")
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
if {close_out!r}:
    os.close(1)
    os.close(2)
time.sleep({sleep!r})
rec["end"] = time.time()
with open(OUT, "a") as f:
    f.write(json.dumps(rec) + "\n")
sys.exit(1 if {reject!r} and b"EICAR" in data else 0)
'''


def write_hook(base, output="", sleep=0.0, reject=False, close_out=False):
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
                                reject=reject, close_out=close_out))
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
    # the server's IPC namespace (its own when started as root:
    # docs/OPERATIONS.md), whatever that is
    ns = ipc_ns(srv.pid)
    assert {r["ipc_ns"] for r in recs} == {ns}
    assert (ns != ipc_ns(os.getpid())) == (mode == "root")


def test_after_ftps(start_server, tmp_base, certs):  # noqa: F811
    """The same runs under FTPS (PROT P): STOR, APPE and STOU."""
    srv, out = hook_server(start_server, tmp_base, rootless=not IS_ROOT,
                           tls=tls_conf(certs["cert"], certs["key"]))
    f = tls_login(srv)
    f.storbinary("STOR s.txt", io.BytesIO(b"secret\n"))
    f.storbinary("APPE s.txt", io.BytesIO(b"again\n"))
    f.storbinary("STOU", io.BytesIO(b"u\n"))
    recs = wait_runs(out, 3)
    f.quit()
    paths = sorted(r["env"]["KEEPFTPD_PATH"] for r in recs)
    assert paths[:2] == ["/s.txt", "/s.txt"] and paths[2].startswith("/stou")
    sizes = sorted(int(r["env"]["KEEPFTPD_SIZE"]) for r in recs if
                   r["env"]["KEEPFTPD_PATH"] == "/s.txt")
    assert sizes == [7, 13]
    for r in recs:
        check_identity(r, srv)


def test_aborted_upload_runs_no_hook(start_server, tmp_base):
    srv, out = hook_server(start_server, tmp_base, rootless=not IS_ROOT)
    f = srv.login()
    f.voidcmd("TYPE I")
    conn = f.transfercmd("STOR gone.bin")
    conn.sendall(b"x" * 65536)
    f.sock.sendall(b"ABOR\r\n")
    assert f.getline().startswith("426")
    assert f.getline().startswith("226")
    conn.close()
    # an APPE cut short by the data connection's end without 226 is not
    # "aborted": only ABOR, a timeout or a TLS truncation are; a later
    # upload's hook shows the server had time to run one for the first
    stor_bytes(f, "after.txt", b"ok\n")
    recs = wait_runs(out, 1)
    time.sleep(0.5)
    f.quit()
    assert [r["env"]["KEEPFTPD_PATH"] for r in runs(out)] == ["/after.txt"]
    assert not (srv.home / "gone.bin").exists()


HOSTILE = [
    b"; rm -rf * ;",
    b"-x",
    b"$(touch PWNED)",
    b"`touch PWNED`",
    b"two  spaces .txt",
    b"quote\"and'apostrophe",
    b"caf\xe9-latin1.bin",        # not UTF-8
    b"*glob?[x]",
]


@pytest.mark.parametrize("mode", MODES)
def test_hostile_names_one_argv_element(start_server, tmp_base, mode):
    srv, out = hook_server(start_server, tmp_base, rootless=mode == "rootless")
    f = srv.login()
    f.encoding = "latin-1"  # send the raw bytes
    sent = []
    for name in HOSTILE:
        try:
            f.voidcmd("TYPE I")
            conn = f.transfercmd("STOR " + name.decode("latin-1"))
        except ftplib.error_perm:
            continue  # refused by the server: no upload, no hook
        conn.sendall(b"data " + name)
        conn.close()
        f.voidresp()
        sent.append(name)
    assert b"; rm -rf * ;" in sent and b"-x" in sent and b"caf\xe9-latin1.bin" in sent
    recs = wait_runs(out, len(sent))
    f.quit()
    got = {os.fsencode(r["argv"][1]): r for r in recs}
    home = os.fsencode(str(srv.home))
    for name in sent:
        r = got[home + b"/" + name]
        assert len(r["argv"]) == 2  # one element, however it looks
        assert os.fsencode(r["env"]["KEEPFTPD_PATH"]) == b"/" + name
        assert bytes.fromhex(r["data"]) == b"data " + name
        assert r["parent"] == "kf-hook"  # no shell between
        assert r["fd3"] is True
    # nothing ran the names as commands, anywhere
    assert not (srv.home / "PWNED").exists()
    assert not (tmp_base / "hookout" / "PWNED").exists()
    assert os.path.isdir("/bin") and os.path.isdir("/usr")


def test_output_escaped_and_bounded(start_server, tmp_base):
    forged = ("first line\n\x1b[31mred\x1b[0m\r\n"
              "[s999 10.0.0.1] login ok: user=\"root\"\n" + "A" * 6000 + "\n")
    srv, out = hook_server(start_server, tmp_base, rootless=not IS_ROOT,
                           hook_args={"output": forged})
    f = srv.login()
    stor_bytes(f, "o.txt", b"x")
    wait_runs(out, 1)
    assert srv.wait_log(r"upload hook after: exit=0")
    assert srv.wait_log(r"more bytes dropped")
    f.quit()
    log = srv.log()
    assert 'upload hook: output="first line"' in log
    assert "\x1b" not in log and "\\x1b[31mred" in log
    # the forged line stays inside a quoted output field
    forged_lines = [l for l in log.splitlines() if "login ok: user=\\\"root\\\"" in l]
    assert forged_lines and all('output="[s999' in l for l in forged_lines)
    assert not any(l.startswith("[s999") for l in log.splitlines())
    kept = sum(len(m) for m in __import__("re").findall(r'output="(A+)"', log))
    assert 0 < kept <= 4096
    m = __import__("re").search(r"output: (\d+) more bytes dropped", log)
    assert int(m.group(1)) == len(forged.encode()) - 4096


@pytest.mark.parametrize("close_out", [False, True])
def test_timeout_kills_hook(start_server, tmp_base, close_out):
    """Also a hook that closed its output first (the runner then waits for
    its end, not for the end of its output)."""
    srv, out = hook_server(start_server, tmp_base, rootless=not IS_ROOT,
                           upload_hook_timeout="1",
                           hook_args={"sleep": 30, "close_out": close_out})
    f = srv.login()
    stor_bytes(f, "slow.txt", b"zzz\n")
    m = srv.wait_log(r"upload hook killed after 1 s \(upload_hook_timeout\): "
                     r'path="/slow.txt"', timeout=10)
    assert m, srv.log()
    f.quit()
    time.sleep(0.3)
    assert runs(out) == []  # killed before it wrote its record
    # and no hook process is left
    left = subprocess.run(["pgrep", "-f", str(tmp_base / "hookbin")],
                          capture_output=True, text=True)
    assert left.stdout.strip() == ""


def test_concurrency_one_runs_one_at_a_time(start_server, tmp_base):
    srv, out = hook_server(start_server, tmp_base, rootless=not IS_ROOT,
                           upload_hook_concurrency="1", hook_args={"sleep": 0.6})
    errors = []

    def upload(i):
        try:
            f = srv.login()
            stor_bytes(f, f"par{i}.txt", b"p%d\n" % i)
            f.quit()
        except Exception as e:  # pragma: no cover - shown on failure
            errors.append(e)

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors
    recs = sorted(wait_runs(out, 3, timeout=20), key=lambda r: r["start"])
    assert len(recs) == 3
    for a, b in zip(recs, recs[1:]):
        assert a["end"] <= b["start"], (a["start"], a["end"], b["start"])


@pytest.mark.parametrize("tmpfile", ["yes", "no"])
def test_check_mode_gate(start_server, tmp_base, tmpfile):
    srv, out = hook_server(start_server, tmp_base, rootless=not IS_ROOT,
                           upload_hook_mode="check", upload_tmpfile=tmpfile,
                           hook_args={"reject": True})
    f = srv.login()
    with pytest.raises(ftplib.error_perm, match="^550 Upload rejected"):
        stor_bytes(f, "virus.com", b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD\n")
    assert not (srv.home / "virus.com").exists()
    assert [n for n in os.listdir(srv.home) if n.startswith(".kf-upload")] == []
    assert "virus.com" not in f.nlst()
    # an existing file is not replaced by a rejected upload
    with pytest.raises(ftplib.error_perm, match="^550 Upload rejected"):
        stor_bytes(f, "hello.txt", b"EICAR again\n")
    assert (srv.home / "hello.txt").read_bytes() == b"hello world\n"
    stor_bytes(f, "clean.txt", b"all good\n")
    assert (srv.home / "clean.txt").read_bytes() == b"all good\n"
    recs = runs(out)
    assert len(recs) == 3
    for r in recs:
        check_identity(r, srv)
        assert r["argv"][1] == "/dev/fd/3"
        assert r["env"]["KEEPFTPD_MODE"] == "check"
    assert bytes.fromhex(recs[2]["data"]) == b"all good\n"
    assert recs[2]["env"]["KEEPFTPD_PATH"] == "/clean.txt"
    assert recs[2]["env"]["KEEPFTPD_SIZE"] == "9"
    # what cannot be gated is refused, and leaves nothing
    for cmd in ("APPE hello.txt", "STOU"):
        with pytest.raises(ftplib.error_perm, match="^550"):
            f.storbinary(cmd, io.BytesIO(b"EICAR"))
    assert (srv.home / "hello.txt").read_bytes() == b"hello world\n"
    assert srv.wait_log(r'upload rejected by the hook: path="/virus.com"')
    f.quit()


def test_check_mode_timeout_rejects(start_server, tmp_base):
    srv, out = hook_server(start_server, tmp_base, rootless=not IS_ROOT,
                           upload_hook_mode="check", upload_hook_timeout="1",
                           hook_args={"sleep": 30})
    f = srv.login()
    t0 = time.monotonic()
    with pytest.raises(ftplib.error_perm, match="^550 Upload rejected"):
        stor_bytes(f, "late.txt", b"fine\n")
    assert time.monotonic() - t0 < 8
    assert not (srv.home / "late.txt").exists()
    f.quit()


@requires_root
def test_hook_user(start_server, tmp_base):
    srv, out = hook_server(start_server, tmp_base, upload_hook_user="daemon")
    f = srv.login()
    stor_bytes(f, "d.txt", b"d\n")
    r = wait_runs(out, 1)[0]
    f.quit()
    import pwd
    pw = pwd.getpwnam("daemon")
    assert r["uid"] == pw.pw_uid and r["gid"] == pw.pw_gid
    assert r["status"]["CapEff"] == "0" * 16 and r["status"]["NoNewPrivs"] == "1"


def check_conf(tmp, **settings):
    conf = tmp / "k.conf"
    conf.write_text("listen = 127.0.0.1:2121\n" +
                    "".join(f"{k} = {v}\n" for k, v in settings.items()))
    return subprocess.run([BIN, "-t", "-c", str(conf)], capture_output=True,
                          text=True, timeout=30)


def test_config_refusals(tmp_base):
    hook, _ = write_hook(tmp_base)
    assert check_conf(tmp_base, upload_hook=str(hook)).returncode == 0
    r = check_conf(tmp_base, upload_hook=str(hook), upload_hook_user="root")
    assert r.returncode == 1 and "never runs as root" in r.stderr
    r = check_conf(tmp_base, upload_hook=str(hook), upload_hook_mode="later")
    assert r.returncode == 1 and "after or check" in r.stderr
    r = check_conf(tmp_base, upload_hook="relative/hook")
    assert r.returncode == 1
    hook.chmod(0o644)
    r = check_conf(tmp_base, upload_hook=str(hook))
    assert r.returncode == 1 and "not a regular executable" in r.stderr
    hook.chmod(0o775)
    r = check_conf(tmp_base, upload_hook=str(hook))
    assert r.returncode == 1 and "writable by group" in r.stderr
    r = check_conf(tmp_base, upload_hook=str(tmp_base / "hookbin"))
    assert r.returncode == 1


def test_sighup_turns_hooks_on_and_off(start_server, tmp_base):
    """The hook spawner exists only while upload_hook is set: SIGHUP
    starts it for new sessions, and a later SIGHUP without the option
    lets it end."""
    import signal
    from conftest import descendants_named
    hook, out = write_hook(tmp_base)
    srv = start_server(rootless=not IS_ROOT)
    assert not descendants_named(srv.pid, "kf-spawn-hook")
    f = srv.login()
    stor_bytes(f, "before.txt", b"1\n")
    f.quit()
    text = srv.conf.read_text()
    srv.conf.write_text(text + f"upload_hook = {hook}\n")
    os.kill(srv.pid, signal.SIGHUP)
    assert srv.wait_log(r"configuration reloaded")
    assert wait_for(lambda: descendants_named(srv.pid, "kf-spawn-hook"))
    f = srv.login()
    stor_bytes(f, "during.txt", b"2\n")
    wait_runs(out, 1)
    f.quit()
    srv.conf.write_text(text)
    os.kill(srv.pid, signal.SIGHUP)
    assert wait_for(lambda: srv.log().count("configuration reloaded") == 2)
    assert wait_for(lambda: not descendants_named(srv.pid, "kf-spawn-hook"))
    f = srv.login()
    stor_bytes(f, "after.txt", b"3\n")
    f.quit()
    time.sleep(0.5)
    assert [r["env"]["KEEPFTPD_PATH"] for r in runs(out)] == ["/during.txt"]


def hook_frame(path):
    b = os.fsencode(path)
    payload = len(b).to_bytes(4, "big") + b
    return (50).to_bytes(4, "big") + len(payload).to_bytes(4, "big") + payload


@requires_root
def test_hostile_worker_cannot_point_the_hook_elsewhere(start_server, tmp_base):
    """The test takes a logged-in worker's request socket (pidfd_getfd)
    and speaks for it: a path naming another file than the descriptor is
    not run (checked as the user), the identity is the monitor's, and a
    path with .. ends the session."""
    import signal
    from conftest import descendants_named
    from test_hostile_worker import worker_channels
    srv, out = hook_server(start_server, tmp_base)
    f = srv.login()
    pid = wait_for(lambda: descendants_named(srv.pid, "kf-session"))[0]
    ipc, _ = worker_channels(pid)
    os.kill(pid, signal.SIGSTOP)
    secret = tmp_base / "secret.txt"
    secret.write_text("root only\n")
    secret.chmod(0o600)
    fds = []
    try:
        # 1: the descriptor of a file outside the root, a path inside it
        fd = os.open(secret, os.O_RDONLY)
        fds.append(fd)
        ipc.sendmsg([hook_frame("/hello.txt")],
                    [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fd.to_bytes(4, "little"))])
        assert srv.wait_log(r"the path does not name the uploaded file")
        assert srv.wait_log(r'upload hook after: exit=126 path="/hello.txt"')
        # 2: the right file: it runs, as the session's user, whatever the worker
        fd = os.open(srv.home / "hello.txt", os.O_RDONLY)
        fds.append(fd)
        ipc.sendmsg([hook_frame("/hello.txt")],
                    [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fd.to_bytes(4, "little"))])
        r = wait_runs(out, 1)[0]
        assert r["uid"] == NOBODY and r["env"]["KEEPFTPD_USER"] == "alice"
        assert r["argv"][1] == str(srv.home) + "/hello.txt"
        # 3: a path that leaves the root ends the session; nothing runs
        ipc.sendmsg([hook_frame("/../secret.txt")],
                    [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fd.to_bytes(4, "little"))])
        assert srv.wait_log(r"session ended: MON_UPLOAD_HOOK: path is not a "
                            r"clean absolute path")
    finally:
        for fd in fds:
            os.close(fd)
        ipc.close()
    time.sleep(0.3)
    assert len(runs(out)) == 1


@requires_root
def test_after_hook_of_a_handed_over_anonymous_upload(start_server, tmp_base):
    """anon_upload_owner: the worker can no longer open the file once
    it is given away, so the hook gets the descriptor it opened before:
    the hook (as the anonymous account) reads the upload from fd 3,
    though the file by its name is no longer readable to it."""
    srv, out = hook_server(start_server, tmp_base,
                           anon_upload_dirs="/incoming",
                           anon_upload_owner="daemon")
    d = srv.anon / "incoming"
    d.mkdir()
    d.chmod(0o1733)
    f = srv.anon_login()
    try:
        stor_bytes(f, "/incoming/a.txt", b"dropped\n")
        recs = wait_runs(out, 1)
    finally:
        f.close()
    r = recs[0]
    assert r["env"]["KEEPFTPD_PATH"] == "/incoming/a.txt"
    assert r["uid"] == NOBODY
    assert 3 in r["fds"]
    assert "data_err" in r  # by its name: the owner's now, mode 0600
    assert (d / "a.txt").stat().st_uid != NOBODY
