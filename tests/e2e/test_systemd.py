"""systemd integration (issue 15 item 3) and the draining stop (item 4).

Item 3: sd_notify (READY=1 once the port accepts, RELOADING=1 with
MONOTONIC_USEC then READY=1 around SIGHUP, STATUS= with the session
counts, STOPPING=1 at SIGTERM), read on an AF_UNIX datagram socket the
test binds (NOTIFY_SOCKET); socket activation through
systemd-socket-activate (a plain and an implicit-TLS socket); the units
pass `systemd-analyze verify`. PID 1 is not systemd here, so the unit's
hardening directives cannot be applied as systemd would: what is tested
is that its CapabilityBoundingSet covers every capability the code
keeps, and that the server logs in, uploads and speaks TLS under that
bounding set with no_new_privs (setpriv), which is what those two
directives do to the process.

Item 4: SIGTERM drains: idle and pre-login sessions get 421 at once,
running (paced) transfers finish within shutdown_grace, then the rest is
cut with 426 and a partial STOR is not kept; a second SIGTERM cuts at
once; the log counts finished and cut transfers.
"""

import ftplib
import hashlib
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import (BIN, IS_ROOT, REPO, TIMEOUT, RawClient, build_server, free_port,
                      pasv_port, requires_root, wait_for)
from tls_helpers import certs, implicit_connect, tls_conf, tls_login  # noqa: F401

# libsystemd is opened at run time (src/priv/notify.c): --version says
# whether the build has it
HAVE_LIBSYSTEMD = "libsystemd.so.0" in subprocess.run(
    [BIN, "--version"], capture_output=True, text=True).stdout
# KF_REQUIRE_SYSTEMD=1 (CI on Debian): run them even if the binary looks
# built without it, so that a build that lost the feature fails
needs_libsystemd = pytest.mark.skipif(
    not HAVE_LIBSYSTEMD and not os.environ.get("KF_REQUIRE_SYSTEMD"),
    reason="built without libsystemd (-Dsystemd)")

MIB = 1 << 20


# ---------------------------------------------------------------------------
# the notify socket

class NotifySocket:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="kf-notify-")
        self.path = os.path.join(self.dir, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.seen = []

    def wait(self, field, timeout=5):
        """The next datagram holding field (a line such as READY=1); the
        ones before it are kept in self.seen."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {field} within {timeout}s; saw {self.seen}")
            self.sock.settimeout(left)
            try:
                msg = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            self.seen.append(msg)
            if field in msg.split("\n"):
                return msg

    def close(self):
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def notify(monkeypatch):
    n = NotifySocket()
    monkeypatch.setenv("NOTIFY_SOCKET", n.path)
    yield n
    n.close()


def accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


@needs_libsystemd
@requires_root
def test_notify_ready_reload_status_stopping(start_server, notify):
    srv = start_server(mode="config")
    notify.wait("READY=1")
    assert accepts(srv.port)            # ready means bound
    f = srv.login()
    notify.wait("STATUS=1 session(s), 1 logged in")
    before = time.monotonic_ns() // 1000
    os.kill(srv.pid, signal.SIGHUP)
    msg = notify.wait("RELOADING=1")
    after = time.monotonic_ns() // 1000
    usec = int(re.search(r"^MONOTONIC_USEC=(\d+)$", msg, re.M).group(1))
    assert before <= usec <= after, (before, usec, after)
    notify.wait("READY=1")
    assert srv.wait_log(r"configuration reloaded")
    assert f.voidcmd("NOOP").startswith("200")
    os.kill(srv.pid, signal.SIGTERM)
    msg = notify.wait("STOPPING=1")
    assert "STATUS=stopping: 1 session(s) to end" in msg
    assert srv.proc.wait(10) == 0
    f.close()


@needs_libsystemd
@requires_root
def test_ready_only_after_bind(start_server, notify):
    """READY=1 comes after the start-up: nothing before it, and the listen
    port accepts when it arrives (a failed bind never sends it)."""
    srv = build_server(mode="config")
    busy = socket.socket()
    busy.bind(("127.0.0.1", srv.port))
    busy.listen(1)
    try:
        p = subprocess.run(srv.argv, capture_output=True, text=True, timeout=20)
    finally:
        busy.close()
        shutil.rmtree(srv.base, ignore_errors=True)
    assert p.returncode != 0
    notify.sock.settimeout(0.2)
    with pytest.raises(socket.timeout):
        notify.sock.recv(4096)


# ---------------------------------------------------------------------------
# socket activation

def activated(srv, specs, fdnames=None):
    """Runs srv under systemd-socket-activate with -l for each spec."""
    argv = ["systemd-socket-activate"]
    for s in specs:
        argv += ["-l", s]
    if fdnames:
        argv += [f"--fdname={fdnames}"]
    srv.argv = argv + ["--"] + srv.argv
    with open(srv.stdout_path, "wb") as out, open(srv.stderr_path, "wb") as err:
        srv.proc = subprocess.Popen(srv.argv, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=err, cwd=str(srv.cwd))
    assert srv.wait_log(r"Listening on .*" + re.escape(specs[-1].split(":")[-1])), srv.log()
    return srv


@pytest.fixture
def cleanup():
    servers = []
    yield servers
    for s in servers:
        s.stop()
        print(s.log()[-4000:])
        shutil.rmtree(s.base, ignore_errors=True)


@needs_libsystemd
@requires_root
def test_socket_activation_serves(cleanup):
    aport = free_port()
    srv = build_server(mode="config")
    cleanup.append(srv)
    activated(srv, [f"127.0.0.1:{aport}"])
    srv.port = aport
    f = srv.login()                     # the first connection starts it
    assert f.pwd() == "/"
    buf = io.BytesIO()
    f.retrbinary("RETR hello.txt", buf.write)
    assert buf.getvalue() == b"hello world\n"
    f.storbinary("STOR up.txt", io.BytesIO(b"activated\n"))
    assert (srv.home / "up.txt").read_bytes() == b"activated\n"
    f.quit()
    assert srv.wait_log(rf"listening on 127\.0\.0\.1 port {aport} \(passed by the "
                        r"service manager\)")
    # the passed socket replaced the listen line: its port is not bound
    assert not accepts(int(re.search(r"listen = 127\.0\.0\.1:(\d+)",
                                     srv.conf.read_text()).group(1)))
    os.kill(srv.proc.pid, signal.SIGTERM)
    assert srv.proc.wait(10) == 0


@needs_libsystemd
@requires_root
def test_socket_activation_implicit_tls(cleanup, certs):  # noqa: F811
    plain, implicit = free_port(), free_port()
    srv = build_server(mode="config", conf_extra=tls_conf(certs["cert"], certs["key"]))
    cleanup.append(srv)
    activated(srv, [f"127.0.0.1:{plain}", f"127.0.0.1:{implicit}"], "ftp:implicit")
    srv.port = plain
    with socket.create_connection(("127.0.0.1", plain), timeout=TIMEOUT) as c:
        assert c.recv(4096).startswith(b"220")   # starts it: plain greeting
    s = implicit_connect(implicit)
    s.settimeout(TIMEOUT)
    greeting = s.recv(4096).decode()
    assert greeting.startswith("220"), greeting
    s.sendall(f"USER {srv.user}\r\n".encode())
    assert s.recv(4096).startswith(b"331")
    s.sendall(f"PASS {srv.password}\r\n".encode())
    assert s.recv(4096).startswith(b"230")
    s.close()
    assert srv.wait_log(rf"listening on 127\.0\.0\.1 port {implicit} \(implicit TLS\)")
    assert srv.wait_log(r"connect \(implicit TLS\)")
    # and explicit AUTH TLS on the plain one
    t = tls_login(srv)
    assert t.voidcmd("NOOP").startswith("200")
    t.quit()


# ---------------------------------------------------------------------------
# the units

UNIT_DIR = REPO / "data" / "systemd"


def unit_text(name):
    return (UNIT_DIR / name).read_text()


def test_units_verify(tmp_path):
    """systemd-analyze verify on both units, ExecStart pointing at the
    build (man pages are checked by test_install.py, not here)."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed")
    names = sorted(p.name for p in UNIT_DIR.iterdir())
    assert "keepftpd.service" in names and "keepftpd.socket" in names
    for n in names:
        (tmp_path / n).write_text(unit_text(n).replace("/usr/sbin/keepftpd", BIN))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no"] + names,
                       cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr
    # and it does find faults: a misspelt directive is reported
    (tmp_path / "keepftpd.service").write_text(
        unit_text("keepftpd.service").replace("/usr/sbin/keepftpd", BIN)
        .replace("ProtectKernelLogs=", "ProtectKernelLog="))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", "keepftpd.service"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert "ProtectKernelLog" in r.stderr


def unit_directives(name):
    out = {}
    for line in unit_text(name).splitlines():
        if line.startswith("#") or "=" not in line:
            continue
        k, v = line.split("=", 1)
        out.setdefault(k.strip(), []).append(v.strip())
    return out


def test_service_directives():
    d = unit_directives("keepftpd.service")
    assert d["Type"] == ["notify"]
    assert d["NotifyAccess"] == ["main"]
    assert d["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert d["KillMode"] == ["mixed"]
    for k in ("ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
              "ProtectControlGroups", "LockPersonality", "RestrictRealtime",
              "NoNewPrivileges"):
        assert d[k] == ["yes"], k
    # one kind of namespace: the listener's IPC one (the login cap)
    assert d["RestrictNamespaces"] == ["ipc"]
    assert d["ProtectSystem"] == ["strict"]
    assert d["SystemCallArchitectures"] == ["native"]
    assert set(d["RestrictAddressFamilies"][0].split()) == {
        "AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"}
    # never what would take chroot/setuid away from the server
    for k in ("User", "DynamicUser", "PrivateUsers", "ProtectHome"):
        assert k not in d, k
    # systemd's stop timeout leaves room for the default shutdown_grace
    grace = int(subprocess.run([BIN, "--config-example"], capture_output=True,
                               text=True).stdout.split("shutdown_grace = ")[1].split()[0])
    assert int(d["TimeoutStopSec"][0]) >= grace + 10


def linux_capabilities():
    text = Path("/usr/include/linux/capability.h").read_text()
    return set(re.findall(r"^#define (CAP_[A-Z_]+)\s+\d+\s*$", text, re.M)) - {
        "CAP_LAST_CAP"}


def code_capabilities():
    """Every capability named in the sources that keep or use them."""
    caps = linux_capabilities()
    found = set()
    for f in sorted((REPO / "src").rglob("*.c")):
        code = re.sub(r"/\*.*?\*/", "", f.read_text(), flags=re.S)   # not comments
        found |= set(re.findall(r"\bCAP_[A-Z_]+\b", code)) & caps
    return found


def unit_bounding_set():
    return set(unit_directives("keepftpd.service")["CapabilityBoundingSet"][0].split())


def test_bounding_set_covers_the_code():
    if not Path("/usr/include/linux/capability.h").exists():
        pytest.skip("linux/capability.h not installed")
    code = code_capabilities()
    assert {"CAP_SETUID", "CAP_SYS_CHROOT", "CAP_KILL"} <= code   # the parse works
    unit = unit_bounding_set()
    # CAP_SYS_ADMIN: only shared folders as root use it (each session's
    # bind mounts), added with the drop-in of docs/PERMISSIONS.md; without
    # it the server serves and leaves the folders out (test_folders.py)
    missing = code - unit - {"CAP_SYS_ADMIN"}
    assert not missing, f"used in src/ but not in CapabilityBoundingSet: {missing}"
    # and the listener binds privileged ports itself
    assert "CAP_NET_BIND_SERVICE" in unit
    # exactly: nothing the code does not use (the listener's own
    # bounding set at start, sb_priv.c server_caps, names each one)
    assert unit - code == set(), unit - code


@requires_root
def test_serves_under_the_units_bounding_set_and_no_new_privs(cleanup, certs):  # noqa: F811
    """What CapabilityBoundingSet= and NoNewPrivileges= do to the process,
    applied with setpriv: login, upload, download and TLS still work."""
    caps = ",".join("+" + c[4:].lower() for c in sorted(unit_bounding_set()))
    srv = build_server(mode="config", conf_extra=tls_conf(certs["cert"], certs["key"]))
    cleanup.append(srv)
    srv.argv = ["setpriv", "--no-new-privs", f"--bounding-set=-all,{caps}",
                f"--inh-caps=-all"] + srv.argv
    srv.start()
    f = tls_login(srv)
    f.storbinary("STOR hard.bin", io.BytesIO(b"x" * 100000))
    buf = io.BytesIO()
    f.retrbinary("RETR hard.bin", buf.write)
    assert buf.getvalue() == b"x" * 100000
    f.quit()
    g = srv.anon_login()
    assert "hello.txt" in g.nlst()
    g.quit()
    kids = wait_for(lambda: [p for p in os.listdir("/proc") if p.isdigit() and
                             _ppid(p) == srv.pid])
    assert kids
    status = Path(f"/proc/{srv.pid}/status").read_text()
    assert re.search(r"^NoNewPrivs:\s+1$", status, re.M)
    nums = dict(re.findall(r"^#define (CAP_[A-Z_]+)\s+(\d+)\s*$",
                           Path("/usr/include/linux/capability.h").read_text(), re.M))
    want = sum(1 << int(nums[c]) for c in unit_bounding_set())
    assert int(re.search(r"^CapBnd:\s+([0-9a-f]+)$", status, re.M).group(1), 16) == want


def _ppid(pid):
    try:
        return int(re.search(r"^PPid:\s+(\d+)", Path(f"/proc/{pid}/status").read_text(),
                             re.M).group(1))
    except (OSError, AttributeError):
        return -1


# ---------------------------------------------------------------------------
# the draining stop

def big_file(path, size=64 * MIB):
    data = os.urandom(size)
    path.write_bytes(data)
    os.chmod(path, 0o644)
    return hashlib.sha256(data).hexdigest()


def drain_server(start_server, **conf):
    extra = {"download_rate": str(16 * MIB), "upload_rate": str(16 * MIB),
             "data_min_rate": "0"}
    extra.update({k: str(v) for k, v in conf.items()})
    return start_server(mode="config", conf_extra=extra, rootless=not IS_ROOT)


class Transfer(threading.Thread):
    """A RETR or STOR in its own thread through ftplib."""

    def __init__(self, srv, cmd, data=None):
        super().__init__(daemon=True)
        self.f = srv.login(timeout=30)
        self.cmd, self.data = cmd, data
        self.sha = hashlib.sha256()
        self.moved = 0
        self.result = self.error = None

    def _got(self, chunk):
        self.sha.update(chunk)
        self.moved += len(chunk)

    def run(self):
        try:
            if self.data is None:
                self.result = self.f.retrbinary(self.cmd, self._got)
            else:
                self.result = self.f.storbinary(self.cmd, io.BytesIO(self.data))
        except Exception as e:  # noqa: BLE001  the reply is the assertion
            self.error = e


def test_sigterm_drains_running_transfers(start_server):
    srv = drain_server(start_server)
    want_down = big_file(srv.home / "big.bin")
    up = os.urandom(64 * MIB)
    want_up = hashlib.sha256(up).hexdigest()
    down_t = Transfer(srv, "RETR big.bin")
    up_t = Transfer(srv, "STOR up.bin", up)
    idle = RawClient(srv.port)
    assert idle.reply().startswith("220")
    assert idle.cmd("USER anonymous").startswith("331")
    assert idle.cmd("PASS x@y").startswith("230")
    pre = RawClient(srv.port)
    assert pre.reply().startswith("220")
    down_t.start()
    up_t.start()
    assert wait_for(lambda: down_t.moved > MIB, timeout=10)
    time.sleep(0.5)
    t0 = time.monotonic()
    os.kill(srv.pid, signal.SIGTERM)
    # idle and pre-login sessions: 421 at once, then closed
    assert idle.reply().startswith("421")
    assert pre.reply().startswith("421")
    assert time.monotonic() - t0 < 1.0
    assert idle.closed(timeout=2) and pre.closed(timeout=2)
    # accepting stopped at once
    assert wait_for(lambda: not accepts(srv.port), timeout=1)
    down_t.join(30)
    up_t.join(30)
    assert down_t.error is None and down_t.result.startswith("226"), down_t.error
    assert up_t.error is None and up_t.result.startswith("226"), up_t.error
    assert down_t.sha.hexdigest() == want_down
    assert hashlib.sha256((srv.home / "up.bin").read_bytes()).hexdigest() == want_up
    assert time.monotonic() - t0 > 1.0     # they really ran into the drain
    assert srv.proc.wait(15) == 0
    assert srv.wait_log(r"drain: 2 transfer\(s\) finished, 0 cut")
    for c in (idle, pre, down_t.f, up_t.f):
        c.close()


def raw_stor(srv, name):
    """A STOR on a raw control connection: (control, data socket)."""
    c = RawClient(srv.port, timeout=10)
    assert c.reply().startswith("220")
    assert c.cmd(f"USER {srv.user}").startswith("331")
    assert c.cmd(f"PASS {srv.password}").startswith("230")
    assert c.cmd("TYPE I").startswith("200")
    port = pasv_port(c.cmd("PASV"))
    d = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.send(f"STOR {name}\r\n")
    assert c.reply().startswith("150")
    return c, d


class Feeder(threading.Thread):
    def __init__(self, sock):
        super().__init__(daemon=True)
        self.sock, self.sent, self.stopped = sock, 0, False

    def run(self):
        chunk = b"u" * 65536
        try:
            while not self.stopped and self.sent < 256 * MIB:
                self.sock.sendall(chunk)
                self.sent += len(chunk)
        except OSError:
            pass


def test_grace_over_cuts_and_drops_the_partial_upload(start_server):
    srv = drain_server(start_server, shutdown_grace=1, upload_rate=MIB)
    before = sorted(os.listdir(srv.home))
    c, d = raw_stor(srv, "cut.bin")
    feed = Feeder(d)
    feed.start()
    assert wait_for(lambda: feed.sent > MIB, timeout=10)
    t0 = time.monotonic()
    os.kill(srv.pid, signal.SIGTERM)
    r = c.reply()
    took = time.monotonic() - t0
    assert r.startswith("426"), r
    assert 0.8 < took < 4, took          # at shutdown_grace, not before
    feed.stopped = True
    assert srv.proc.wait(15) == 0
    assert not (srv.home / "cut.bin").exists()
    assert sorted(os.listdir(srv.home)) == before   # no temporary file either
    assert srv.wait_log(r"shutdown_grace over: cutting 1 session\(s\)")
    assert srv.wait_log(r"drain: 0 transfer\(s\) finished, 1 cut")
    c.close()
    d.close()


def test_second_sigterm_cuts_at_once(start_server):
    srv = drain_server(start_server, shutdown_grace=60, download_rate=MIB)
    big_file(srv.home / "big.bin")
    t = Transfer(srv, "RETR big.bin")
    t.start()
    assert wait_for(lambda: t.moved > MIB // 2, timeout=10)
    os.kill(srv.pid, signal.SIGTERM)
    time.sleep(1)
    # draining: the transfer goes on
    moved = t.moved
    assert wait_for(lambda: t.moved > moved + 256 * 1024, timeout=3)
    assert t.is_alive()
    t0 = time.monotonic()
    os.kill(srv.pid, signal.SIGTERM)
    t.join(5)
    assert time.monotonic() - t0 < 3
    assert isinstance(t.error, ftplib.error_temp) and str(t.error).startswith("426"), \
        t.error
    assert srv.proc.wait(10) == 0
    assert srv.wait_log(r"SIGTERM again: cutting 1 session\(s\) now")
    assert srv.wait_log(r"drain: 0 transfer\(s\) finished, 1 cut")
    t.f.close()


# ---------------------------------------------------------------------------
# socket activation of a proxy listener (issue 17 item 1)

@needs_libsystemd
@requires_root
@pytest.mark.parametrize("how", ["line", "name"])
def test_socket_activation_proxy(cleanup, how):
    """A passed socket is a proxy listener when a `listen = ... proxy` line
    names its address (how=line: the line's own address is passed) or when
    FileDescriptorName=proxy (how=name: the line is elsewhere). A PROXY v2
    header is honoured (the claimed address is the session's), and a
    connection without one gets no FTP: a plain listener would greet it,
    and take the header for FTP."""
    from proxy_helpers import Conn, v2
    from test_proxy import CLAIM
    srv = build_server(mode="config", conf_extra={"proxy_from": "127.0.0.1"},
                       listen_flags=" proxy" if how == "line" else "")
    cleanup.append(srv)
    aport = srv.port if how == "line" else free_port()
    activated(srv, [f"127.0.0.1:{aport}"], "proxy" if how == "name" else None)
    srv.port = aport
    c = Conn(aport, v2(CLAIM, sport=43210))
    assert c.reply().startswith("220")
    assert c.cmd(f"USER {srv.user}").startswith("331")
    assert c.cmd(f"PASS {srv.password}").startswith("230")
    c.close()
    assert srv.wait_log(rf"listening on 127\.0\.0\.1 port {aport} \(proxy\) "
                        r"\(passed by the service manager\)"), srv.log()
    assert srv.wait_log(rf"\[s\d+ {re.escape(CLAIM)}\] connect via proxy "
                        r"127\.0\.0\.1: client port 43210"), srv.log()
    bare = Conn(aport, b"USER anonymous\r\n")
    assert bare.rest() == b""  # no 220: the header is required
    bare.close()
    assert srv.wait_log(r"PROXY header: invalid")


@needs_libsystemd
@requires_root
def test_socket_activation_proxy_needs_proxy_from(cleanup):
    """FileDescriptorName=proxy without proxy_from: the server does not
    start (no balancer could ever connect), and says why."""
    aport = free_port()
    srv = build_server(mode="config")
    cleanup.append(srv)
    srv.argv = ["systemd-socket-activate", "-l", f"127.0.0.1:{aport}",
                "--fdname=proxy", "--"] + srv.argv
    with open(srv.stdout_path, "wb") as out, open(srv.stderr_path, "wb") as err:
        srv.proc = subprocess.Popen(srv.argv, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=err, cwd=str(srv.cwd))
    assert srv.wait_log(rf"Listening on .*{aport}"), srv.log()
    with socket.create_connection(("127.0.0.1", aport), timeout=TIMEOUT) as s:
        s.settimeout(TIMEOUT)
        try:
            assert s.recv(100) == b""
        except ConnectionResetError:
            pass
    assert srv.wait_log(rf"passed socket 127\.0\.0\.1 port {aport} is a proxy "
                        r"listener but proxy_from is empty"), srv.log()
