"""keepftpd upgrade (issue 15, item 5): the running listener hands its
listening sockets, its sessions and its address table to the binary
installed now, which accepts from then on; old sessions finish under the
old code. Measured: a client connecting every 50 ms across the upgrade is
never refused, a paced download and upload running across it complete
intact, new sessions are the new listener's, max_per_ip still counts the
old sessions, bans survive; a failed upgrade leaves the old listener
serving."""

import ftplib
import hashlib
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import (BIN, IS_ROOT, TIMEOUT, WORKER_BIN, build_server, children,
                      wait_for)

MiB = 1024 * 1024
SIZE = 16 * MiB
RATE = 4 * MiB  # each transfer takes about 4 s
HOLD_ADDR = "127.0.0.2"
MODES = ["root", "rootless"] if IS_ROOT else ["rootless"]


def install_binaries(srv):
    """keepftpd and keepftpd-worker copied to a directory of the test, as a
    package installs them; the server is started from there."""
    bindir = srv.base / "bin"
    bindir.mkdir(mode=0o755)
    for src in (BIN, WORKER_BIN):
        dst = bindir / os.path.basename(src)
        shutil.copy2(src, dst)
        os.chmod(dst, 0o755)
    exe = str(bindir / "keepftpd")
    srv.argv = [exe if a == BIN else a for a in srv.argv]
    return exe


def replace_binary(exe):
    """What dpkg does: the new file written beside, renamed over the old."""
    tmp = exe + ".dpkg-new"
    shutil.copy2(BIN, tmp)
    os.chmod(tmp, 0o755)
    os.rename(tmp, exe)


def upgrade(srv, exe):
    return subprocess.run([exe, "upgrade", "-s", str(srv.admin_socket)],
                          capture_output=True, text=True, timeout=60)


def new_pid(out):
    m = re.search(r"upgraded: pid (\d+) accepts now", out)
    assert m, out
    return int(m.group(1))


def stop_pid(pid):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if not wait_for(lambda: not os.path.exists(f"/proc/{pid}")
                    or _zombie(pid), timeout=10):
        os.kill(pid, signal.SIGKILL)


def _zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def start(servers, mode, extra=None):
    """A config-mode server started from a copy of the binaries."""
    conf = {"download_rate": str(RATE), "upload_rate": str(RATE),
            "max_per_ip": "2", "max_clients": "50"}
    conf.update(extra or {})
    srv = build_server(rootless=mode == "rootless", conf_extra=conf)
    exe = install_binaries(srv)
    servers.started.append(srv)
    srv.start()
    return srv, exe


@pytest.fixture
def servers():
    """The servers built here, stopped at the end as start_server stops
    its own (a sanitizer report in a log fails the test)."""
    class Starter:
        started = []
    s = Starter()
    yield s
    reports = []
    for srv in s.started:
        srv.stop()
        print(f"--- server log:\n{srv.log()[-6000:]}")
        if srv.sanitizer_report():
            reports.append(srv.sanitizer_report())
        shutil.rmtree(srv.base, ignore_errors=True)
    if reports:
        pytest.fail("sanitizer report in server log:\n" + reports[0][-4000:])


class Load(threading.Thread):
    """A client connecting every 50 ms: anonymous USER/PASS/QUIT, each
    time from another loopback address (127.0.1.x)."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.tried = self.refused = 0
        self.errors = []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            t0 = time.monotonic()
            self.tried += 1
            try:
                # a fresh address each time: a session that lingers after
                # QUIT never meets max_per_ip
                src = f"127.0.1.{self.tried % 250 + 1}"
                f = ftplib.FTP(timeout=TIMEOUT, source_address=(src, 0))
                f.connect("127.0.0.1", self.port)
                f.login("anonymous", "load@example.com")
                f.quit()
            except (OSError, EOFError, ftplib.Error) as e:
                self.refused += 1
                self.errors.append(repr(e))
            time.sleep(max(0, 0.05 - (time.monotonic() - t0)))


def transfer(srv, kind, data, result, src):
    """A paced download or upload from its own address; its sha256."""
    try:
        f = ftplib.FTP(timeout=30, source_address=(src, 0))
        f.connect("127.0.0.1", srv.port)
        f.login(srv.user, srv.password)
        t0 = time.monotonic()
        if kind == "down":
            h = hashlib.sha256()
            f.retrbinary("RETR big.bin", h.update, blocksize=65536)
            result[kind] = (h.hexdigest(), time.monotonic() - t0)
        else:
            f.storbinary("STOR up.bin", io.BytesIO(data), blocksize=65536)
            result[kind] = (hashlib.sha256(
                (srv.home / "up.bin").read_bytes()).hexdigest(),
                time.monotonic() - t0)
    except (OSError, EOFError, ftplib.Error) as e:
        result[kind] = (f"failed: {e!r}", 0)
        return
    try:
        f.quit()
    except (OSError, EOFError, ftplib.Error):
        pass  # a drain answers 421 after the transfer


def hold(srv):
    """A logged-in session from HOLD_ADDR."""
    f = ftplib.FTP(timeout=TIMEOUT, source_address=(HOLD_ADDR, 0))
    f.connect("127.0.0.1", srv.port)
    f.login("anonymous", "hold@example.com")
    return f


@pytest.mark.parametrize("mode", MODES)
def test_upgrade_under_load(servers, mode):
    srv, exe = start(servers, mode)
    old = srv.pid
    down = os.urandom(SIZE)
    (srv.home / "big.bin").write_bytes(down)
    os.chown(srv.home / "big.bin", 65534, 65534)
    up = os.urandom(SIZE)
    want = {"down": hashlib.sha256(down).hexdigest(),
            "up": hashlib.sha256(up).hexdigest()}
    held = [hold(srv), hold(srv)]
    r = srv.ban("add", "192.0.2.7", "600")
    assert r.returncode == 0, r.stderr
    # the limit is reached before the upgrade
    with pytest.raises(ftplib.error_temp, match="421"):
        hold(srv)

    load = Load(srv.port)
    load.start()
    result = {}
    xfers = [threading.Thread(target=transfer, args=(srv, "down", None, result,
                                                      "127.0.0.3")),
             threading.Thread(target=transfer, args=(srv, "up", up, result,
                                                     "127.0.0.4"))]
    for t in xfers:
        t.start()
    time.sleep(1.5)
    tried_before = load.tried
    replace_binary(exe)
    t0 = time.monotonic()
    r = upgrade(srv, exe)
    took = time.monotonic() - t0
    assert r.returncode == 0, (r.stdout, r.stderr, srv.log()[-3000:])
    new = new_pid(r.stdout)
    try:
        for t in xfers:
            t.join(30)
        time.sleep(1.0)
        load.halt.set()
        load.join(10)
        print(f"upgrade ({mode}) took {took:.3f} s; connections tried "
              f"{load.tried} ({load.tried - tried_before} from the upgrade "
              f"on), refused or failed {load.refused}; transfers: "
              f"{ {k: v[1] for k, v in result.items()} }")
        assert load.refused == 0, load.errors[:5]
        assert load.tried >= 40
        # both transfers ran across the upgrade and arrived intact
        assert result["down"][0] == want["down"], result
        assert result["up"][0] == want["up"], result
        assert result["down"][1] > took and result["up"][1] > took

        assert new != old
        # the old listener runs the replaced file, the new one the new file
        assert os.readlink(f"/proc/{old}/exe").endswith("(deleted)")
        assert os.readlink(f"/proc/{new}/exe") == exe
        # new sessions are the new listener's children
        before = len(children(new))
        f = srv.login()
        assert wait_for(lambda: len(children(new)) > before)
        f.quit()
        # max_per_ip still counts the two old sessions
        with pytest.raises(ftplib.error_temp, match="421"):
            hold(srv)
        # the ban came along
        r = srv.ban("list")
        assert "192.0.2.7" in r.stdout, (r.stdout, r.stderr)
        # one old session ends: the new listener sees it, a new one fits
        held.pop().quit()
        assert wait_for(lambda: _can_hold(srv, held), timeout=5)
        assert srv.proc.poll() is None  # the old one still has a session
        for f in held:
            f.quit()
        held.clear()
        # without sessions, the old listener ends
        srv.proc.wait(15)
        assert srv.proc.returncode == 0
        assert re.search(r"old listener: its sessions have ended", srv.log())
    finally:
        for f in held:
            f.close()
        stop_pid(new)


def _can_hold(srv, held):
    try:
        held.append(hold(srv))
        return True
    except ftplib.error_temp:
        return False


def test_failed_upgrade_keeps_serving(servers):
    """A new binary that does not start (here: the configuration is now
    invalid) fails the upgrade; the old listener never stopped accepting."""
    srv, exe = start(servers, "root" if IS_ROOT else "rootless")
    old = srv.pid
    load = Load(srv.port)
    load.start()
    text = srv.conf.read_text()
    srv.conf.write_text(text + "no_such_option = 1\n")
    r = upgrade(srv, exe)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "upgrade failed" in r.stderr
    assert srv.wait_log(r"upgrade failed: .* goes on accepting")
    time.sleep(0.5)
    load.halt.set()
    load.join(10)
    assert load.refused == 0, load.errors[:5]
    assert srv.proc.poll() is None
    srv.login().quit()
    assert children(old)
    # a binary anyone may write is not executed
    srv.conf.write_text(text)
    os.chmod(exe, 0o777)
    r = upgrade(srv, exe)
    assert r.returncode == 1 and "writable by no one else" in r.stderr, r
    os.chmod(exe, 0o755)
    # fixed: the upgrade goes through, and the old one ends (no sessions)
    r = upgrade(srv, exe)
    assert r.returncode == 0, (r.stdout, r.stderr, srv.log()[-3000:])
    new = new_pid(r.stdout)
    try:
        srv.proc.wait(10)
        srv.login().quit()
    finally:
        stop_pid(new)


def test_drain_after_upgrade(servers):
    """A stop (SIGTERM) of the new listener drains the old listener's
    sessions too: a download that started before the upgrade finishes
    intact, and both listeners end."""
    srv, exe = start(servers, "root" if IS_ROOT else "rootless")
    data = os.urandom(SIZE)
    (srv.home / "big.bin").write_bytes(data)
    os.chown(srv.home / "big.bin", 65534, 65534)
    result = {}
    t = threading.Thread(target=transfer, args=(srv, "down", None, result,
                                                "127.0.0.3"))
    t.start()
    time.sleep(0.7)
    r = upgrade(srv, exe)
    assert r.returncode == 0, (r.stdout, r.stderr, srv.log()[-3000:])
    new = new_pid(r.stdout)
    try:
        time.sleep(0.5)
        t0 = time.monotonic()
        os.kill(new, signal.SIGTERM)
        t.join(30)
        assert result["down"][0] == hashlib.sha256(data).hexdigest(), result
        assert wait_for(lambda: _zombie(new), timeout=10)
        srv.proc.wait(10)
        print(f"drain after upgrade: the download finished "
              f"{time.monotonic() - t0:.2f} s after SIGTERM")
        assert re.search(r"old listener: its sessions have ended "
                         r"\(1 transfer\(s\) finished, 0 cut\)", srv.log()), \
            srv.log()[-3000:]
    finally:
        stop_pid(new)


def test_rate_window_survives(servers):
    """max_conn_rate counts on across the upgrade: three connections
    before it, the fourth after it is over the rate."""
    srv, exe = start(servers, "root" if IS_ROOT else "rootless",
                     {"max_conn_rate": "3", "conn_rate_window": "60",
                      "max_per_ip": "0"})  # the quit sessions may linger
    for _ in range(3):
        f = ftplib.FTP(timeout=TIMEOUT, source_address=("127.0.0.5", 0))
        f.connect("127.0.0.1", srv.port)
        f.quit()
    r = upgrade(srv, exe)
    assert r.returncode == 0, (r.stdout, r.stderr, srv.log()[-3000:])
    new = new_pid(r.stdout)
    try:
        f = ftplib.FTP(timeout=TIMEOUT, source_address=("127.0.0.5", 0))
        with pytest.raises(ftplib.error_temp, match="421 Too many connections "
                           "from your address; slow down"):
            f.connect("127.0.0.1", srv.port)
        f.close()
        # another address has its own window
        hold(srv).quit()
    finally:
        stop_pid(new)


def test_many_sessions_counted(servers):
    """More sessions than one hand-over message carries (40): all are
    counted by the new listener against max_clients."""
    n = 45
    srv, exe = start(servers, "root" if IS_ROOT else "rootless",
                     {"max_clients": str(n + 1), "max_prelogin": "100",
                      "max_per_ip": "0"})
    held, new = [], None
    try:
        for _ in range(n):
            c = srv.raw()
            assert c.reply().startswith("220")
            held.append(c)
        r = upgrade(srv, exe)
        assert r.returncode == 0, (r.stdout, r.stderr, srv.log()[-3000:])
        assert f"{n} session(s) end under pid {srv.pid}" in r.stdout, r.stdout
        new = new_pid(r.stdout)
        assert srv.wait_log(rf"took over from pid {srv.pid}: 1 socket\(s\), "
                            rf"{n} session\(s\)")
        c = srv.raw()
        assert c.reply().startswith("220")
        held.append(c)
        c = srv.raw()
        assert c.reply().startswith("421 Too many connections; try again")
        c.close()
        # the old sessions leave; the new listener sees it at once
        for c in held[:n]:
            c.close()
        assert wait_for(lambda: _raw_ok(srv, held), timeout=10)
    finally:
        for c in held:
            c.close()
        if new:
            stop_pid(new)


def _raw_ok(srv, held):
    c = srv.raw()
    if c.reply().startswith("220"):
        held.append(c)
        return True
    c.close()
    return False


def _serves(port):
    try:
        f = ftplib.FTP(timeout=TIMEOUT)
        f.connect("127.0.0.1", port)
        f.quit()
        return True
    except OSError:
        return False


def test_listen_lines_change(servers):
    """The new listener's listen lines decide: a line that stays keeps its
    socket, a new line is bound, a socket no line names is closed. Two
    upgrades in a row."""
    from conftest import free_port
    srv, exe = start(servers, "root" if IS_ROOT else "rootless")
    p1, p2 = srv.port, free_port()
    text = srv.conf.read_text()
    srv.conf.write_text(text.replace(f"listen = 127.0.0.1:{p1}",
                                     f"listen = 127.0.0.1:{p1}, 127.0.0.1:{p2}"))
    r = upgrade(srv, exe)
    assert r.returncode == 0, (r.stdout, r.stderr, srv.log()[-3000:])
    first = new_pid(r.stdout)
    try:
        assert srv.wait_log(rf"listening on 127.0.0.1 port {p1} \(handed over\)")
        assert srv.wait_log(rf"listening on 127.0.0.1 port {p2} \(a new listen line\)")
        assert _serves(p1) and _serves(p2)
        srv.proc.wait(10)  # no session: the first listener has ended
        srv.conf.write_text(text.replace(f"listen = 127.0.0.1:{p1}",
                                         f"listen = 127.0.0.1:{p2}"))
        r = upgrade(srv, exe)
        assert r.returncode == 0, (r.stdout, r.stderr, srv.log()[-3000:])
        second = new_pid(r.stdout)
        try:
            assert srv.wait_log(rf"no longer listening on 127.0.0.1 port {p1}")
            assert wait_for(lambda: _zombie(first), timeout=10)
            assert not _serves(p1)
            assert _serves(p2)
        finally:
            stop_pid(second)
    finally:
        stop_pid(first)


class Notify:
    """NOTIFY_SOCKET as systemd holds it: each datagram with its sender's
    pid (SCM_CREDENTIALS)."""

    def __init__(self, base):
        import socket
        import struct
        self.struct = struct
        self.path = str(base / "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)
        self.seen = []  # (pid, message)

    def read(self, timeout=0.2):
        import socket
        self.sock.settimeout(timeout)
        try:
            while True:
                msg, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
                pid = -1
                for level, kind, data in anc:
                    if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                        pid = self.struct.unpack("iII", data[:12])[0]
                self.seen.append((pid, msg.decode()))
                self.sock.settimeout(0.05)
        except socket.timeout:
            pass
        return self.seen


def _libsystemd():
    # libsystemd is opened at run time: --version says whether it is built in
    r = subprocess.run([BIN, "--version"], capture_output=True, text=True)
    return ("libsystemd.so.0" in r.stdout and
            shutil.which("systemd-socket-activate"))


@pytest.mark.skipif(not IS_ROOT or not _libsystemd(),
                    reason="needs root, libsystemd and systemd-socket-activate")
def test_systemd_mainpid_and_passed_socket(servers):
    """Under a service manager: the old listener (the main pid, as
    NotifyAccess=main wants) says MAINPID= the new one and nothing more;
    the new one says READY=1; a socket passed by the service manager is
    kept although no listen line names it."""
    from conftest import free_port
    srv = build_server(conf_extra={"max_per_ip": "2"})
    exe = install_binaries(srv)
    servers.started.append(srv)
    notify = Notify(srv.base)
    aport = free_port()
    srv.argv = ["systemd-socket-activate", "-l", f"127.0.0.1:{aport}",
                "-E", f"NOTIFY_SOCKET={notify.path}", "--"] + srv.argv
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    with open(srv.stdout_path, "wb") as out, open(srv.stderr_path, "wb") as err:
        srv.proc = subprocess.Popen(srv.argv, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=err, cwd=str(srv.cwd), env=env)
    srv.port = aport
    assert srv.wait_log(rf"Listening on .*{aport}"), srv.log()
    srv.connect().quit()  # the first connection starts it
    assert srv.wait_log(r"keepftpd started")
    old = srv.pid
    held = srv.login()
    r = upgrade(srv, exe)
    assert r.returncode == 0, (r.stdout, r.stderr, srv.log()[-3000:])
    new = new_pid(r.stdout)
    try:
        assert srv.wait_log(rf"listening on 127.0.0.1 port {aport} \(handed over\)")
        srv.connect().quit()
        assert wait_for(lambda: any(p == new and "READY=1" in m.split("\n")
                                    for p, m in notify.read()), timeout=5), \
            (old, new, notify.seen, srv.log()[-2000:])
        seen = notify.seen
        print(f"notify (old {old}, new {new}): {seen}")
        mainpid = [i for i, (p, m) in enumerate(seen) if f"MAINPID={new}" in m]
        assert mainpid and seen[mainpid[0]][0] == old, seen
        # the new main pid's messages come after it, the old one's stop
        assert all(p != old for p, _ in seen[mainpid[0] + 1:]), seen
        assert min(i for i, (p, _) in enumerate(seen) if p == new) > mainpid[0]
        held.quit()
        srv.proc.wait(10)
        assert all(p != old for p, _ in notify.read()[mainpid[0] + 1:]), notify.seen
    finally:
        stop_pid(new)


def _scrape(port):
    """GET /metrics on port: the sample lines as {name{labels}: value}."""
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    try:
        s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.split()[1] == b"200", head
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = int(value)
    return out


def test_metrics_endpoint_follows_the_upgrade(servers):
    """With metrics_listen, the old listener closes its endpoint as it
    hands over and the new one binds the same address: a scrape after
    the upgrade is the new listener's (its kf-metrics is its child) and
    counts the sessions it accepts."""
    from conftest import free_port
    mport = free_port()
    srv, exe = start(servers, "root" if IS_ROOT else "rootless",
                     {"metrics_listen": f"127.0.0.1:{mport}"})
    assert wait_for(lambda: _try(lambda: _scrape(mport)), timeout=10)
    before = _scrape(mport)
    r = upgrade(srv, exe)
    assert r.returncode == 0, (r.stdout, r.stderr, srv.log()[-3000:])
    new = new_pid(r.stdout)
    try:
        assert wait_for(lambda: _try(lambda: _scrape(mport)), timeout=10)
        kids = [p for p in children(new)
                if open(f"/proc/{p}/comm").read().strip() == "kf-metrics"]
        assert len(kids) == 1, children(new)
        hold(srv).quit()
        m = _scrape(mport)
        assert m["keepftpd_sessions_total"] >= 1
        assert "keepftpd_sessions_total" in before
    finally:
        stop_pid(new)


def _try(fn):
    try:
        fn()
        return True
    except OSError:
        return False


@pytest.mark.parametrize("how", ["line", "passed"])
def test_proxy_listener_survives_upgrade(servers, how):
    """A proxy listener stays one across `keepftpd upgrade`, whether its
    socket was bound for a `listen = ... proxy` line (how=line: the new
    configuration's line decides) or passed by the service manager with
    FileDescriptorName=proxy and no line naming it (how=passed: the mark
    travels in UPG_SOCKETS). After the upgrade a PROXY v2 header is still
    honoured (its address and port are the session's) and a connection
    without one still gets no FTP."""
    from conftest import free_port
    from proxy_helpers import Conn, v2
    from test_proxy import CLAIM, CLAIM2
    if how == "passed" and not (IS_ROOT and _libsystemd()):
        pytest.skip("needs root, libsystemd and systemd-socket-activate")
    srv = build_server(conf_extra={"proxy_from": "127.0.0.1"},
                       listen_flags=" proxy" if how == "line" else "")
    exe = install_binaries(srv)
    servers.started.append(srv)
    if how == "line":
        srv.start()
    else:
        srv.port = free_port()
        srv.argv = ["systemd-socket-activate", "-l", f"127.0.0.1:{srv.port}",
                    "--fdname=proxy", "--"] + srv.argv
        with open(srv.stdout_path, "wb") as out, \
                open(srv.stderr_path, "wb") as err:
            srv.proc = subprocess.Popen(srv.argv, stdin=subprocess.DEVNULL,
                                        stdout=out, stderr=err,
                                        cwd=str(srv.cwd))
        assert srv.wait_log(rf"Listening on .*{srv.port}"), srv.log()

    def honoured(claim, sport):
        c = Conn(srv.port, v2(claim, sport=sport))
        assert c.reply().startswith("220")
        assert c.cmd(f"USER {srv.user}").startswith("331")
        assert c.cmd(f"PASS {srv.password}").startswith("230")
        c.cmd("QUIT")
        c.close()
        assert srv.wait_log(rf"\[s\d+ {claim}\] connect via proxy "
                            rf"127\.0\.0\.1: client port {sport}"), srv.log()

    honoured(CLAIM, 40001)
    assert srv.wait_log(r"keepftpd started")
    r = upgrade(srv, exe)
    assert r.returncode == 0, (r.stdout, r.stderr, srv.log()[-3000:])
    new = new_pid(r.stdout)
    try:
        assert srv.wait_log(rf"listening on 127\.0\.0\.1 port {srv.port} "
                            r"\(proxy\) \(handed over\)"), srv.log()[-3000:]
        honoured(CLAIM2, 40002)
        bare = Conn(srv.port, b"USER anonymous\r\n")
        assert bare.rest() == b""  # no 220: the header is still required
        bare.close()
        assert srv.wait_log(r"PROXY header: invalid")
    finally:
        stop_pid(new)
