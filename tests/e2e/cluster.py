"""A keepftpd cluster for tests: Debian's haproxy with send-proxy-v2 in
front of three keepftpd nodes sharing one root directory and one users
file (issue 17, item 6; docs/SCALE-OUT-TEST.md).

Addresses are loopback addresses, so that every party has its own:

    127.0.0.10          haproxy: clients connect here (LB_ADDR), and
                        haproxy connects to the nodes from here too
                        (`source`), the nodes' proxy_from
    127.0.0.11, .12, .13  the nodes: a `proxy` listener each, and their
                        passive ports (PASV announces the node's own
                        address: data connections go straight to it)
    127.0.0.20 and up   clients, each bound to its own source address
                        (client(src)), which is the address the nodes
                        see in the PROXY header

Each node is a `keepftpd -c` process in its own process group (so a
test can SIGKILL a whole node), with its own configuration, log, admin
socket and passive port range. Everything lives in one temporary
directory and every process is stopped by its PID.

With pasv_proxy=True the passive ports pass through haproxy too
(topology (b) of docs/SCALE-OUT.md): each node's range is forwarded to
it with a PROXY v2 header, and PASV announces haproxy's address.

Hooks for more: node_conf (a dict of options for every node, or a
function of the node's index returning one: e.g. users_backend and
pg_conninfo, pasv_proxy) and haproxy_extra (lines appended to haproxy's
configuration: e.g. one passive-port section per node).
"""
import ftplib
import json
import os
import shutil
import signal
import subprocess

from conftest import (BIN, IS_ROOT, NOBODY, PASSWORD, SANITIZER_MARKS,
                      SETPRIV, TIMEOUT, USER, Server, admin_dir, chown_tree,
                      free_port, make_base, pasv_range, seed_tree, user_add,
                      wait_for)
from haproxy import HAProxy

LB_ADDR = "127.0.0.10"
NODE_ADDRS = ("127.0.0.11", "127.0.0.12", "127.0.0.13")


class Node(Server):
    """One keepftpd node: a Server in its own process group."""

    def __init__(self, index, addr, **kw):
        super().__init__(**kw)
        self.index = index
        self.addr = addr
        self.name = f"n{index + 1}"

    def start(self):
        with open(self.stdout_path, "wb") as out, \
                open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=err,
                                         cwd=str(self.cwd),
                                         start_new_session=True)
        self._wait_ready()
        return self

    def group(self):
        """PIDs of the node's process group (the listener's PID is its
        id): the listener, spawners, monitors, workers, relays."""
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                stat = open(f"/proc/{d}/stat").read()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            # fields[0] state, [1] ppid, [2] pgrp; zombies are gone
            if int(fields[2]) == self.proc.pid and fields[0] != "Z":
                pids.append(int(d))
        return pids

    def kill(self):
        """SIGKILL to the whole process group, as a crash or an OOM kill
        of the node would; waits until none of it is left."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(5)
        assert wait_for(lambda: not self.group(), timeout=5), self.group()

    def who(self):
        """keepftpd who --json: the node's sessions, one dict each."""
        r = subprocess.run([BIN, "who", "--json", "-s",
                            str(self.admin_socket)],
                           capture_output=True, text=True, timeout=TIMEOUT)
        assert r.returncode == 0, r.stderr
        return [json.loads(ln) for ln in r.stdout.splitlines()]


class Cluster:
    def __init__(self, nodes=3, node_conf=None, haproxy_extra="",
                 rootless=None, pasv_proxy=False):
        self.base = make_base()
        self.rootless = (not IS_ROOT) if rootless is None else rootless
        self.node_conf = node_conf
        self.pasv_proxy = pasv_proxy
        self.haproxy_extra = haproxy_extra
        shared = self.base / "shared"
        shared.mkdir()
        shared.chmod(0o755)
        self.home = shared / "home"
        seed_tree(self.home)
        chown_tree(self.home)
        self.users = shared / "users"
        r = user_add(self.users, USER, PASSWORD, self.home)
        if r.returncode != 0:
            raise RuntimeError(f"keepftpd user add failed: {r.stderr}")
        if self.rootless and IS_ROOT:
            os.chown(self.users, NOBODY, NOBODY)
        self.nodes = [self._node(i, NODE_ADDRS[i]) for i in range(nodes)]
        if pasv_proxy:
            haproxy_extra = self._pasv_sections() + haproxy_extra
        self.lb_port = free_port()
        self.haproxy = HAProxy(self.base, (LB_ADDR, self.lb_port),
                               [(n.name, n.addr, n.port) for n in self.nodes],
                               source=LB_ADDR, extra=haproxy_extra)

    def _pasv_sections(self):
        """Topology (b), pasv_proxy: every node's own passive range is
        forwarded by haproxy to that node, with a PROXY v2 header, from
        LB_ADDR (the nodes' proxy_from); PASV announces LB_ADDR."""
        return "".join(f"""listen pasv-{n.name}
    bind {LB_ADDR}:{n.pasv[0]}-{n.pasv[1]}
    server {n.name} {n.addr} send-proxy-v2 source {LB_ADDR}
""" for n in self.nodes)

    def _extra(self, index):
        if callable(self.node_conf):
            return self.node_conf(index) or {}
        return dict(self.node_conf or {})

    def _node(self, index, addr):
        base = self.base / f"n{index + 1}"
        base.mkdir()
        base.chmod(0o755)
        port = free_port()
        pasv = pasv_range()
        settings = {
            "listen": f"{addr}:{port} proxy",
            "proxy_from": LB_ADDR,
            "pasv_min_port": str(pasv[0]),
            "pasv_max_port": str(pasv[1]),
            "anonymous_enable": "no",
            "users_file": str(self.users),
            "login_fail_delay_ms": "50",
            "log": "stderr",
            "log_level": "info",
            "admin_socket": str(admin_dir(base, self.rootless)),
        }
        if self.pasv_proxy:
            settings.update(pasv_proxy="yes", pasv_address=LB_ADDR)
        settings.update(self._extra(index))
        conf = base / "keepftpd.conf"
        conf.write_text(f"# node n{index + 1}, tests/e2e/cluster.py\n" +
                        "".join(f"{k} = {v}\n" for k, v in settings.items()))
        conf.chmod(0o644)
        prefix = SETPRIV if (self.rootless and IS_ROOT) else []
        return Node(index, addr, base=base, mode="config",
                    rootless=self.rootless, argv=prefix + [BIN, "-c", str(conf)],
                    port=port, pasv=pasv, conf=conf, users=self.users,
                    home=self.home, admin_socket=settings["admin_socket"])

    def start(self):
        for n in self.nodes:
            n.start()
        self.haproxy.start()
        return self

    def stop(self):
        """Stops haproxy and the nodes; returns the first sanitizer
        report found in a node's log, or None."""
        self.haproxy.stop()
        report = None
        for n in self.nodes:
            rc = n.stop()
            print(f"--- node {n.name} {n.addr}:{n.port} exit {rc}; log:\n"
                  f"{n.log()[-4000:]}")
            text = n.log()
            if report is None and any(m in text for m in SANITIZER_MARKS):
                report = text
        print(f"--- haproxy:\n{self.haproxy.log()[-2000:]}")
        return report

    def cleanup(self):
        shutil.rmtree(self.base, ignore_errors=True)

    # -- clients ------------------------------------------------------------

    def client(self, src, timeout=TIMEOUT):
        """An ftplib client from source address src, connected through
        haproxy. It trusts PASV's address: the data connection goes to
        the node, from src as well."""
        f = ftplib.FTP(timeout=timeout, source_address=(src, 0))
        f.trust_server_pasv_ipv4_address = True
        f.connect(LB_ADDR, self.lb_port)
        return f

    def login(self, src, user=USER, password=PASSWORD, timeout=TIMEOUT):
        f = self.client(src, timeout)
        f.login(user, password)
        return f

    def node_of(self, ftp, timeout=TIMEOUT):
        """The node serving an ftplib session: the one whose `who` has a
        row with the client's address (from the PROXY header); a test
        gives each open session its own address."""
        src = ftp.sock.getsockname()[0]

        def find():
            found = [n for n in self.up() if any(r["addr"] == src
                                                 for r in n.who())]
            assert len(found) <= 1, f"sessions from {src} on {found}"
            return found[0] if found else None
        n = wait_for(find, timeout=timeout, interval=0.05)
        assert n is not None, f"no node has a session from {src}"
        return n

    def up(self):
        return [n for n in self.nodes if n.proc.poll() is None]

    def login_on(self, src, want, tries=6):
        """A session from src on a node for which want(node) is true
        (haproxy balances round robin: a few tries find one)."""
        for _ in range(tries):
            f = self.login(src)
            n = self.node_of(f)
            if want(n):
                return f, n
            f.quit()
            assert wait_for(lambda: not any(r["addr"] == src
                                            for r in n.who())), src
        raise AssertionError(f"no session from {src} on a wanted node "
                             f"after {tries} logins")
