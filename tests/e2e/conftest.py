"""End-to-end fixtures: start the real keepftpd binary and talk to it.

The binary is $KEEPFTPD (default: build/keepftpd in the repository). Every
server gets its own free control port and its own passive port range, logs
to a file (stderr), and is stopped by PID at teardown (SIGTERM, which drains; SIGTERM
again after 2 s, which cuts; SIGKILL after 5 s). A sanitizer report in a server's log fails the test.

Run as root, the suite starts servers both as root and rootless (through
setpriv as uid/gid 65534); run as another user, only rootless servers are
started and root-only tests are skipped.
"""

import ftplib
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = os.path.abspath(os.environ.get("KEEPFTPD") or str(REPO / "build" / "keepftpd"))
# the unprivileged image the spawners run: found next to keepftpd
WORKER_BIN = os.path.join(os.path.dirname(BIN), "keepftpd-worker")
IS_ROOT = os.geteuid() == 0
NOBODY = 65534
SETPRIV = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

USER = "alice"
PASSWORD = "Al1ce-e2e-S3cret"
HELLO = b"hello world\n"
TIMEOUT = 5

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer")

requires_root = pytest.mark.skipif(not IS_ROOT, reason="needs root")


def pytest_configure(config):
    config.addinivalue_line("markers", "root: needs root")


def pytest_report_header(config):
    return f"keepftpd binary: {BIN} (root: {IS_ROOT})"


@pytest.fixture(scope="session", autouse=True)
def _binary_exists():
    if not os.access(BIN, os.X_OK):
        pytest.fail(f"keepftpd binary not found: {BIN} (build it or set KEEPFTPD)")


# ---------------------------------------------------------------------------
# ports

# Every port a test binds by number comes from below the kernel's
# ephemeral range (32768-60999 on Debian): a port the kernel handed out
# with bind(0) and that the test then closed can be taken again by any
# outgoing connection before haproxy or the server binds it (CI saw
# haproxy fail with "Address already in use" that way). The kernel never
# picks these ports on its own, so only another explicit bind can take
# one, and each test process walks its own numbers.
_CTL_LO, _CTL_HI = 10000, 19999
_ctl_next = [_CTL_LO + (os.getpid() % 100) * 100]


def port_free(port, addr="0.0.0.0"):
    """Nothing holds port at addr; at the wildcard (the default),
    nothing holds it on any IPv4 address (a bind without SO_REUSEADDR
    fails if any socket holds the port)."""
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((addr, port))
        except OSError:
            return False
    return True


def free_port():
    for _ in range(_CTL_HI - _CTL_LO + 1):
        port = _ctl_next[0]
        _ctl_next[0] = port + 1 if port < _CTL_HI else _CTL_LO
        if port_free(port):
            return port
    raise RuntimeError("no free control port")


# Passive ranges come from above the control ports and below the
# ephemeral range; each server gets its own.
_PASV_WIDTH = 8
_pasv_next = [20000 + (os.getpid() % 100) * 120]


def pasv_range():
    for _ in range(2000):
        lo = _pasv_next[0]
        _pasv_next[0] += _PASV_WIDTH
        if _pasv_next[0] + _PASV_WIDTH > 32000:
            _pasv_next[0] = 20000
        if all(port_free(p) for p in range(lo, lo + _PASV_WIDTH)):
            return lo, lo + _PASV_WIDTH - 1
    raise RuntimeError("no free passive port range")


# ---------------------------------------------------------------------------
# files

def make_base():
    """A 0755 temporary directory that uid 65534 can traverse."""
    base = Path(tempfile.mkdtemp(prefix="kf-e2e-", dir="/tmp"))
    base.chmod(0o755)
    return base


def chown_tree(path, uid=NOBODY, gid=NOBODY):
    if not IS_ROOT:
        return
    os.lchown(path, uid, gid)
    for dirpath, dirnames, filenames in os.walk(path):
        for n in dirnames + filenames:
            os.lchown(os.path.join(dirpath, n), uid, gid)


def seed_tree(root):
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    (root / "hello.txt").write_bytes(HELLO)
    (root / ".hidden").write_bytes(b"dot\n")
    (root / "sub").mkdir()
    (root / "sub" / "inner.txt").write_bytes(b"inner\n")
    (root / "digits.bin").write_bytes(bytes(range(256)) * 40)  # 10240 bytes
    os.utime(root / "hello.txt", (1700000000, 1700000000))  # 2023-11-14 22:13:20 UTC


def user_add(users_file, name, password, home, write=True, uid=None, gid=None,
             extra=()):
    """keepftpd user add, the password piped on stdin. As root the ids
    default to 65534 (nobody)."""
    argv = [BIN, "user", "-f", str(users_file), "add", name, "--home", str(home),
            "--opslimit", "1", "--memlimit-kib", "8192"]
    if IS_ROOT:
        uid = NOBODY if uid is None else uid
        gid = NOBODY if gid is None else gid
    if uid is not None:
        argv += ["--uid", str(uid)]
    if gid is not None:
        argv += ["--gid", str(gid)]
    if write:
        argv.append("--write")
    argv += list(extra)
    return subprocess.run(argv, input=password + "\n", capture_output=True, text=True,
                          timeout=TIMEOUT)


# ---------------------------------------------------------------------------
# the server

def admin_dir(base, rootless):
    """A directory for the server's own admin socket (admin_socket), owned
    by the account the server runs as."""
    run = base / "run"
    run.mkdir(mode=0o700)
    if rootless and IS_ROOT:
        os.chown(run, NOBODY, NOBODY)
    return run / "admin.sock"


class Server:
    def __init__(self, base, mode, rootless, argv, port, pasv, conf=None, users=None,
                 home=None, anon=None, cwd=None, admin_socket=None):
        self.base = base
        self.admin_socket = admin_socket
        self.mode = mode
        self.rootless = rootless
        self.argv = argv
        self.port = port
        self.pasv = pasv
        self.conf = conf
        self.users = users
        self.home = home
        self.anon = anon
        self.cwd = cwd or base
        self.user = USER
        self.password = PASSWORD
        self.stdout_path = base / "stdout.log"
        self.stderr_path = base / "stderr.log"
        self.proc = None
        self.stdout = ""

    @property
    def pid(self):
        return self.proc.pid

    def start(self):
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, cwd=str(self.cwd))
        self._wait_ready()
        return self

    def _wait_ready(self):
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.mode == "quick":
                self.stdout = self.stdout_path.read_text(errors="replace")
                if "serving" in self.stdout and "login:" in self.stdout:
                    m = re.search(r"login:\s+(\S+) / (\S+)", self.stdout)
                    if m:
                        self.user, self.password = m.group(1), m.group(2)
                    return
            else:
                if " started" in self.log():
                    return
            if self.proc.poll() is not None:
                raise RuntimeError(f"keepftpd exited with {self.proc.returncode}:\n"
                                   f"{self.stdout_path.read_text(errors='replace')}\n"
                                   f"{self.log()}")
            time.sleep(0.02)
        raise RuntimeError(f"keepftpd not ready after {TIMEOUT}s:\n{self.log()}")

    def log(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=5):
        """Wait until the log matches a regex; returns the match or None."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.log())
            if m or time.monotonic() > deadline:
                return m
            time.sleep(0.02)

    def stop(self):
        """SIGTERM (a drain), SIGTERM again after 2 s (the cut), SIGKILL
        after 5 s; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                # a transfer still draining (shutdown_grace): cut it
                os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        return self.proc.returncode

    def connect(self, timeout=TIMEOUT):
        f = ftplib.FTP(timeout=timeout)
        f.connect("127.0.0.1", self.port)
        return f

    def login(self, user=None, password=None, timeout=TIMEOUT):
        f = self.connect(timeout)
        f.login(user or self.user, self.password if password is None else password)
        return f

    def anon_login(self):
        return self.login("anonymous", "guest@example.com")

    def raw(self, timeout=TIMEOUT):
        return RawClient(self.port, timeout)

    def ban(self, *args, as_nobody=False):
        """keepftpd ban ARGS against this server's admin socket."""
        argv = [BIN, "ban", "-s", str(self.admin_socket)] + list(args)
        if as_nobody and IS_ROOT:
            argv = SETPRIV + argv
        return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)

    def sanitizer_report(self):
        text = self.log()
        for mark in SANITIZER_MARKS:
            if mark in text:
                return text
        return None


class RawClient:
    """A bare control connection: send raw bytes, read whole replies."""

    def __init__(self, port, timeout=TIMEOUT, src=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if src:
            self.sock.bind((src, 0))
        self.sock.connect(("127.0.0.1", port))
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                if self.buf:
                    line, self.buf = self.buf, b""
                    return line
                raise EOFError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"

    def reply(self):
        """One full reply (multi-line aware) as text, CRLF stripped per line."""
        first = self._line().decode("latin-1").rstrip("\r\n")
        lines = [first]
        if len(first) >= 4 and first[3] == "-":
            code = first[:3]
            while True:
                line = self._line().decode("latin-1").rstrip("\r\n")
                lines.append(line)
                if line.startswith(code + " "):
                    break
        return "\n".join(lines)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def closed(self, timeout=TIMEOUT):
        """True when the server closes the connection (EOF) within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False


def build_server(mode="config", rootless=False, conf_extra=None, anon=True,
                 quick_args=(), seed=True, quick_cwd=False, listen_flags=""):
    base = make_base()
    home = base / "home"
    anon_dir = base / "anon"
    if seed:
        seed_tree(home)
        seed_tree(anon_dir)
    else:
        home.mkdir()
        anon_dir.mkdir()
    chown_tree(home)
    port = free_port()
    pasv = pasv_range()
    prefix = SETPRIV if (rootless and IS_ROOT) else []
    admin_socket = admin_dir(base, rootless)
    if mode == "quick":
        # quick_cwd: no DIR argument, started in home (the default DIR)
        argv = prefix + [BIN, "serve"] + ([] if quick_cwd else [str(home)]) + [
            "--listen", f"127.0.0.1:{port}", "--pasv-ports", f"{pasv[0]}-{pasv[1]}",
            "--user", USER, "-o", "login_fail_delay_ms=50",
            "-o", f"admin_socket={admin_socket}"] + list(quick_args)
        srv = Server(base, mode, rootless, argv, port, pasv, home=home, anon=home,
                     cwd=home if quick_cwd else None, admin_socket=admin_socket)
    else:
        etc = base / "etc"
        etc.mkdir()
        etc.chmod(0o755)
        users = etc / "users"
        r = user_add(users, USER, PASSWORD, home)
        if r.returncode != 0:
            raise RuntimeError(f"keepftpd user add failed: {r.stderr}")
        if rootless and IS_ROOT:
            os.chown(users, NOBODY, NOBODY)
        settings = {
            "listen": f"127.0.0.1:{port}{listen_flags}",
            "pasv_min_port": str(pasv[0]),
            "pasv_max_port": str(pasv[1]),
            "anonymous_enable": "yes" if anon else "no",
            "anon_root": str(anon_dir),
            "users_file": str(users),
            "login_fail_delay_ms": "50",
            "max_login_failures": "3",
            "log": "stderr",
            "log_level": "info",
            "admin_socket": str(admin_socket),
        }
        settings.update(conf_extra or {})
        conf = etc / "keepftpd.conf"
        conf.write_text("# generated by tests/e2e/conftest.py\n" +
                        "".join(f"{k} = {v}\n" for k, v in settings.items()))
        conf.chmod(0o644)
        argv = prefix + [BIN, "-c", str(conf)]
        srv = Server(base, mode, rootless, argv, port, pasv, conf=conf, users=users,
                     home=home, anon=anon_dir, admin_socket=admin_socket)
    return srv


@pytest.fixture
def start_server(request):
    """Factory: start_server(mode='config'|'quick', rootless=False, ...)."""
    started = []

    def start(**kw):
        srv = build_server(**kw)
        started.append(srv)
        return srv.start()

    yield start
    reports = []
    for srv in started:
        rc = srv.stop()
        # shown by pytest only when the test fails
        print(f"--- server {srv.argv} exit {rc}; log:\n{srv.log()[-6000:]}")
        rep = srv.sanitizer_report()
        if rep:
            reports.append(rep)
    for srv in started:
        shutil.rmtree(srv.base, ignore_errors=True)
    if reports:
        pytest.fail("sanitizer report in server log:\n" + reports[0][-4000:])


MODES = ["root", "rootless"] if IS_ROOT else ["rootless"]


@pytest.fixture(params=MODES)
def srv(request, start_server):
    """A config-mode server (anonymous read-only + read-write user alice),
    started as root and rootless."""
    return start_server(mode="config", rootless=request.param == "rootless")


@pytest.fixture
def rsrv(start_server):
    """One config-mode server (as root when possible), for tests that need
    only one flavour."""
    return start_server(mode="config", rootless=not IS_ROOT)


# ---------------------------------------------------------------------------
# helpers for tests

def retr_bytes(ftp, path):
    out = io.BytesIO()
    ftp.retrbinary(f"RETR {path}", out.write)
    return out.getvalue()


def stor_bytes(ftp, path, data, cmd="STOR"):
    return ftp.storbinary(f"{cmd} {path}", io.BytesIO(data))


def is_sanitized():
    """True when BIN was built with AddressSanitizer (slower, more memory)."""
    with open(BIN, "rb") as f:
        return b"__asan_init" in f.read()


def proc_table():
    """{pid: (ppid, name)} in one pass over /proc."""
    table = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        table[int(d)] = (ppid, name)
    return table


def children(pid):
    """PIDs whose parent is pid."""
    return [c for c, (ppid, _) in proc_table().items() if ppid == pid]


def proc_status(pid):
    st = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        st[k] = v.strip()
    return st


def descendants_named(pid, name):
    found = []
    todo = [pid]
    while todo:
        p = todo.pop()
        for c in children(p):
            try:
                if proc_status(c).get("Name") == name:
                    found.append(c)
            except OSError:
                continue
            todo.append(c)
    return found


def memory_holds(pid, needles):
    """True when any needle is in the process's readable private memory."""
    found = False
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            parts = line.split()
            if "r" not in parts[1] or (len(parts) > 5 and parts[5].startswith("[v")):
                continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            try:
                mem.seek(lo)
                blob = mem.read(hi - lo)
            except (OSError, ValueError, OverflowError):
                continue
            if any(n in blob for n in needles):
                found = True
    return found


def wait_for(fn, timeout=5, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


def pasv_port(resp):
    """The port of a 227 reply: (h1,h2,h3,h4,p1,p2)."""
    nums = re.search(r"\((\d+(?:,\d+){5})\)", resp).group(1).split(",")
    return int(nums[4]) * 256 + int(nums[5])


def epsv_port(resp):
    """The port of a 229 reply: (|||port|)."""
    return int(re.search(r"\(\|\|\|(\d+)\|\)", resp).group(1))


def recv_all(sock, until_timeout=False):
    """Everything until EOF; with until_timeout, a timeout or reset ends it too."""
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        if not until_timeout:
            raise
    return data


# ---------------------------------------------------------------------------
# The FTP clients' versions (tests/e2e/clients.py), one line each: in the
# header (runs without -q) and in the terminal summary, which -q runs such
# as scripts/test.sh still print, so that they appear in the CI log.

_report_header_without_clients = pytest_report_header


def pytest_report_header(config):
    from clients import client_versions
    base = _report_header_without_clients(config)
    base = [base] if isinstance(base, str) else list(base or [])
    return base + list(client_versions())


def pytest_terminal_summary(terminalreporter):
    from clients import client_versions
    terminalreporter.write_sep("-", "FTP clients")
    for line in client_versions():
        terminalreporter.write_line(line)


def code(f, cmd):
    """The reply code of cmd, error or not."""
    try:
        return f.sendcmd(cmd)[:3]
    except ftplib.Error as e:
        return str(e)[:3]


def pss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
