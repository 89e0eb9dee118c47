"""Debian's haproxy, started by a test in front of keepftpd listeners.

One `listen ftp` section in TCP mode: every server line gets
`send-proxy-v2` and a health check that sends a PROXY v2 LOCAL header
(`check check-send-proxy`), which a keepftpd `proxy` listener accepts.
`source` makes haproxy connect to the servers from one fixed address
(the nodes' `proxy_from`); `extra` is appended to the configuration
as is (more sections, e.g. passive port forwards). haproxy runs in the
foreground (-db), one process, stopped by its PID. A test that needs
another layout gives its own configuration text instead (`text`).
"""
import os
import shutil
import socket
import subprocess

from conftest import wait_for

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
MISSING = ("haproxy is not installed (Debian package haproxy, "
           "scripts/deps.sh)")


def have_haproxy():
    return os.access(HAPROXY, os.X_OK)


class HAProxy:
    """haproxy listening on bind=(host, port), balancing to servers, a
    list of (name, host, port)."""

    def __init__(self, workdir, bind, servers=(), source=None, extra="",
                 balance="roundrobin", maxconn=256, text=None,
                 name="haproxy"):
        self.workdir = workdir
        self.text = text
        self.bind = bind
        self.servers = servers
        self.source = source
        self.extra = extra
        self.balance = balance
        self.maxconn = maxconn
        self.cfg = workdir / f"{name}.cfg"
        self.out = workdir / f"{name}.out"
        self.proc = None

    def config(self):
        if self.text is not None:
            return self.text
        src = f" source {self.source}" if self.source else ""
        lines = "".join(f"    server {name} {host}:{port}\n"
                        for name, host, port in self.servers)
        # redispatch + retries: a connection refused by a dead node is
        # sent to another one before the health check marks it down
        return f"""global
    maxconn {self.maxconn}
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    retries 2
    option redispatch
listen ftp
    bind {self.bind[0]}:{self.bind[1]}
    balance {self.balance}
    default-server send-proxy-v2 check check-send-proxy inter 500ms fall 2 rise 1{src}
{lines}{self.extra}"""

    def start(self, timeout=10):
        self.cfg.write_text(self.config())
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen([HAPROXY, "-db", "-f", str(self.cfg)],
                                         stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT,
                                         cwd=str(self.workdir))

        def up():
            if self.proc.poll() is not None:
                return True
            try:
                socket.create_connection(self.bind, 0.2).close()
                return True
            except OSError:
                return False
        ok = wait_for(up, timeout=timeout)
        assert ok and self.proc.poll() is None, self.log()
        return self

    def log(self):
        try:
            return self.out.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
