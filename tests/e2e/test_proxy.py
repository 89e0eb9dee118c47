"""PROXY protocol v1 and v2 on `proxy` listeners (issue 17, item 1).

A raw client plays the load balancer: it sends a v1 or v2 header
claiming a client address, then speaks FTP. The claimed address is the
session's everywhere: log lines, max_per_ip, bans, deny_from, and the
PASV peer check. Connections without a valid header, slow ones, and
those from outside proxy_from get no FTP at all. Then the real thing:
Debian's haproxy with `send-proxy-v2` in front of the server.

Every socket has a timeout and every wait a deadline.
"""
import ftplib
import ipaddress
import re
import socket
import struct
import subprocess
import time

import pytest

from conftest import PASSWORD, TIMEOUT, USER, free_port, pasv_port
from haproxy import MISSING, HAProxy, have_haproxy

SIG = b"\r\n\r\n\x00\r\nQUIT\n"
CLAIM = "198.51.100.7"
CLAIM2 = "198.51.100.8"
CLAIM6 = "2001:db8::7"


def v1(src, dst=None, sport=40000, dport=21):
    fam = "TCP6" if ":" in src else "TCP4"
    dst = dst or ("2001:db8::1" if ":" in src else "192.0.2.1")
    return f"PROXY {fam} {src} {dst} {sport} {dport}\r\n".encode()


def v2(src, dst=None, sport=40000, dport=21, local=False, tlv=b""):
    if local:
        return SIG + bytes([0x20, 0x00]) + struct.pack("!H", 0)
    a = ipaddress.ip_address(src)
    if a.version == 4:
        d = ipaddress.ip_address(dst or "192.0.2.1")
        body = a.packed + d.packed + struct.pack("!HH", sport, dport)
        fam = 0x11
    else:
        d = ipaddress.ip_address(dst or "2001:db8::1")
        body = a.packed + d.packed + struct.pack("!HH", sport, dport)
        fam = 0x21
    body += tlv
    return SIG + bytes([0x21, fam]) + struct.pack("!H", len(body)) + body


class Conn:
    """A control connection through the 'balancer': header first."""

    def __init__(self, port, header, src=None, timeout=TIMEOUT):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        if src:
            self.s.bind((src, 0))
        self.s.connect(("127.0.0.1", port))
        if header:
            self.s.sendall(header)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            c = self.s.recv(4096)
            if not c:
                raise EOFError(self.buf)
            self.buf += c
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln.decode("latin-1")

    def reply(self):
        first = self.line()
        if first[3:4] == "-":
            while not self.line().startswith(first[:3] + " "):
                pass
        return first

    def cmd(self, text):
        self.s.sendall(text.encode() + b"\r\n")
        return self.reply()

    def rest(self):
        """Everything until the server closes (b'' when it sends nothing)."""
        data = self.buf
        try:
            while True:
                c = self.s.recv(4096)
                if not c:
                    return data
                data += c
        except (ConnectionResetError, socket.timeout):
            return data

    def close(self):
        self.s.close()


@pytest.fixture
def psrv(start_server):
    """A server whose listener is a proxy listener for 127.0.0.1."""
    def make(rootless=False, **extra):
        conf = {"proxy_from": "127.0.0.1"}
        conf.update(extra)
        srv = start_server(mode="config", conf_extra=conf, rootless=rootless,
                           listen_flags=" proxy")
        return srv
    return make


def login(c, user=USER, password=PASSWORD):
    assert c.cmd(f"USER {user}").startswith("331")
    return c.cmd(f"PASS {password}")


@pytest.mark.parametrize("header", ["v1", "v2"])
@pytest.mark.parametrize("rootless", [False, True])
def test_claimed_address_in_logs(psrv, header, rootless):
    srv = psrv(rootless=rootless)
    c = Conn(srv.port, v1(CLAIM) if header == "v1" else v2(CLAIM))
    assert c.reply().startswith("220")
    assert login(c).startswith("230")
    c.cmd("QUIT")
    c.close()
    assert srv.wait_log(rf"\[s\d+ {CLAIM}\] .*login ok|\[s\d+ {CLAIM}\] "
                        rf".*user={USER}")
    assert srv.wait_log(rf"\[s\d+ {CLAIM}\] connect via proxy 127\.0\.0\.1")


@pytest.mark.parametrize("header", ["v1", "v2"])
def test_ipv6_claim(psrv, header):
    srv = psrv()
    c = Conn(srv.port, v1(CLAIM6) if header == "v1" else v2(CLAIM6))
    assert c.reply().startswith("220")
    assert login(c).startswith("230")
    c.close()
    assert srv.wait_log(rf"\[s\d+ {CLAIM6}\] connect via proxy")


def test_max_per_ip_counts_claimed(psrv):
    srv = psrv(max_per_ip="1")
    a = Conn(srv.port, v2(CLAIM))
    assert a.reply().startswith("220")
    b = Conn(srv.port, v1(CLAIM))
    assert b.reply() == "421 Too many connections from your address."
    # another claimed address through the same balancer: admitted
    d = Conn(srv.port, v2(CLAIM2))
    assert d.reply().startswith("220")
    for c in (a, b, d):
        c.close()
    assert srv.wait_log(rf"refused {CLAIM} \(via proxy 127\.0\.0\.1\): "
                        r"Too many connections from your address")


def test_deny_and_ban_use_claimed(psrv):
    srv = psrv(deny_from="198.51.100.66")
    c = Conn(srv.port, v1("198.51.100.66"))
    assert c.reply() == "421 Access denied."
    c.close()
    r = srv.ban("add", CLAIM2)
    assert r.returncode == 0, r.stderr
    c = Conn(srv.port, v2(CLAIM2))
    assert c.reply() == "421 Your address is banned; try again later."
    c.close()
    # the balancer itself is neither denied nor banned
    c = Conn(srv.port, v2(CLAIM))
    assert c.reply().startswith("220")
    c.close()


def test_failed_logins_ban_claimed(psrv):
    srv = psrv(ban_failures="2", ban_window="60", ban_seconds="60")
    for _ in range(2):
        c = Conn(srv.port, v2(CLAIM))
        assert c.reply().startswith("220")
        assert login(c, password="wrong").startswith("530")
        c.close()
    assert srv.wait_log(rf"ban: {CLAIM} banned")
    c = Conn(srv.port, v2(CLAIM))
    assert c.reply().startswith("421 Your address is banned")
    c.close()
    c = Conn(srv.port, v2(CLAIM2))
    assert c.reply().startswith("220")
    c.close()


BAD = {
    "none": b"USER anonymous\r\n",
    "garbage": b"GET / HTTP/1.0\r\n\r\n",
    "v1-bad-port": b"PROXY TCP4 198.51.100.7 192.0.2.1 99999 21\r\n",
    "v1-overlong": b"PROXY UNKNOWN " + b"x" * 200 + b"\r\n",
    "v2-overlong": SIG + b"\x21\x11\xff\xff" + b"\x00" * 64,
    "v2-unix": SIG + b"\x21\x31\x00\xd8" + b"\x00" * 216,
}


@pytest.mark.parametrize("what", sorted(BAD))
def test_bad_header_refused_before_ftp(psrv, what):
    srv = psrv()
    c = Conn(srv.port, BAD[what])
    assert c.rest() == b""  # no 220, no 421: nothing
    c.close()
    assert srv.wait_log(r"PROXY header: invalid")


def test_silent_and_slow_header(psrv):
    srv = psrv()
    silent = Conn(srv.port, b"", timeout=15)
    slow = Conn(srv.port, b"PROXY TCP4 198.51", timeout=15)
    t0 = time.monotonic()
    assert silent.rest() == b""
    assert slow.rest() == b""
    took = time.monotonic() - t0
    assert 4 <= took < 10, took
    assert srv.wait_log(r"PROXY header: not complete after 5000 ms "
                        r"\(17 byte")
    silent.close()
    slow.close()


def test_outside_proxy_from_refused(start_server):
    srv = start_server(mode="config", conf_extra={
        "proxy_from": "127.0.0.9"}, listen_flags=" proxy")
    c = Conn(srv.port, v2(CLAIM))
    assert c.rest() == b""
    c.close()
    assert srv.wait_log(r"refused 127\.0\.0\.1: not in proxy_from")


def test_local_health_check(psrv):
    srv = psrv()
    c = Conn(srv.port, v2(None, local=True))
    assert c.reply().startswith("220")
    assert login(c).startswith("230")
    c.close()
    assert srv.wait_log(r"PROXY header: LOCAL")
    # v1 UNKNOWN likewise: the connection's address
    c = Conn(srv.port, b"PROXY UNKNOWN\r\n")
    assert c.reply().startswith("220")
    c.close()
    # a health check that just closes after LOCAL
    c = Conn(srv.port, v2(None, local=True))
    c.close()


def test_header_bytes_then_ftp_in_one_packet(psrv):
    srv = psrv()
    c = Conn(srv.port, v2(CLAIM, tlv=b"\x01\x00\x03ftp") +
             f"USER {USER}\r\n".encode())
    assert c.reply().startswith("220")
    assert c.reply().startswith("331")
    assert c.cmd(f"PASS {PASSWORD}").startswith("230")
    c.close()


def test_pasv_peer_check_uses_claimed(psrv):
    """The data connection comes from 127.0.0.1, the session's client is
    198.51.100.7: the PASV peer check refuses it."""
    srv = psrv()
    c = Conn(srv.port, v2(CLAIM))
    assert c.reply().startswith("220")
    assert login(c).startswith("230")
    r = c.cmd("PASV")
    assert r.startswith("227"), r
    d = socket.create_connection(("127.0.0.1", pasv_port(r)), timeout=TIMEOUT)
    c.s.sendall(b"LIST\r\n")
    assert srv.wait_log(rf"\[s\d+ {CLAIM}\] worker kf-session: data "
                        r"connection from foreign address 127\.0\.0\.1 "
                        r"refused")
    try:
        assert d.recv(100) == b""  # closed by the server, nothing sent
    except ConnectionResetError:
        pass
    d.close()
    c.close()


def test_normal_listener_ignores_proxy_from(start_server):
    """On a listener without `proxy`, proxy_from addresses are ordinary
    clients: no header expected, 220 at once."""
    srv = start_server(mode="config", conf_extra={"proxy_from": "127.0.0.1"})
    f = srv.login()
    f.quit()


def test_config_checks(start_server, tmp_path):
    from conftest import BIN
    for body, msg in (("listen = 127.0.0.1:2121 proxy\n",
                       "proxy but proxy_from is empty"),
                      ("listen = 127.0.0.1:2121 proxy\nproxy_from = x\n",
                       "proxy_from"),):
        p = tmp_path / "k.conf"
        p.write_text(body)
        r = subprocess.run([BIN, "-t", "-c", str(p)], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode != 0 and msg in r.stdout + r.stderr, r


@pytest.fixture
def haproxy(tmp_path):
    """Starts haproxy in front of a port: haproxy(node_port) -> its port."""
    procs = []

    def start(node_port):
        if not have_haproxy():
            pytest.skip(MISSING)
        port = free_port()
        procs.append(HAProxy(tmp_path, ("127.0.0.1", port),
                             [("s1", "127.0.0.1", node_port)]).start())
        return port

    yield start
    for p in procs:
        p.stop()


def test_haproxy_send_proxy_v2(psrv, haproxy):
    """Debian's haproxy with send-proxy-v2: the client's own loopback
    address (127.0.0.5) is the session's, in the log and for the data
    connection (PASV straight to the node, from that same address);
    haproxy's health checks (LOCAL) are accepted."""
    srv = psrv()
    hport = haproxy(srv.port)
    src = "127.0.0.5"
    f = ftplib.FTP(timeout=TIMEOUT, source_address=(src, 0))
    f.connect("127.0.0.1", hport)
    f.login(USER, PASSWORD)
    names = f.nlst()
    assert names, names
    lines = []
    f.retrlines("LIST", lines.append)
    assert lines
    f.quit()
    assert srv.wait_log(rf"\[s\d+ {src}\] connect via proxy 127\.0\.0\.1")
    assert srv.wait_log(rf"\[s\d+ {src}\] login ok: user=\"{USER}\"")
    assert not re.search(r"data connection from foreign address", srv.log())
    # the health checks: LOCAL, then haproxy closes
    assert srv.wait_log(r"PROXY header: LOCAL", timeout=5)


def test_port_target_uses_claimed(psrv):
    """PORT/EPRT may only name the session's client: the claimed address,
    not the balancer's (127.0.0.1)."""
    srv = psrv()
    c = Conn(srv.port, v2(CLAIM))
    assert c.reply().startswith("220")
    assert login(c).startswith("230")
    r = c.cmd("PORT 127,0,0,1,200,10")
    assert r.startswith("5"), r
    r = c.cmd("EPRT |1|127.0.0.1|51210|")
    assert r.startswith("5"), r
    # the claimed address itself is accepted as a target
    assert c.cmd("PORT 198,51,100,7,200,10").startswith("200")
    c.close()
    # a direct client of a normal listener may name 127.0.0.1: control
    # (tests/e2e/test_network.py)


def test_user_allow_from_uses_claimed(psrv):
    from conftest import user_add
    srv = psrv()
    r = user_add(srv.users, "carol", "secret-pw", srv.home,
                 extra=["--allow-from", CLAIM])
    assert r.returncode == 0, r.stderr
    c = Conn(srv.port, v2(CLAIM))
    assert c.reply().startswith("220")
    assert login(c, "carol", "secret-pw").startswith("230")
    c.close()
    c = Conn(srv.port, v2(CLAIM2))
    assert c.reply().startswith("220")
    assert login(c, "carol", "secret-pw").startswith("530")
    c.close()
    assert srv.wait_log(rf"\[s\d+ {CLAIM2}\] login failed: from={CLAIM2} "
                        r".*reason=user-allow-from user=\"carol\"")


def test_rein_reads_no_second_header(psrv):
    """After REIN the next pre-login worker reads no header: the session
    keeps its claimed address and logs in again."""
    srv = psrv()
    c = Conn(srv.port, v2(CLAIM))
    assert c.reply().startswith("220")
    assert login(c).startswith("230")
    assert c.cmd("REIN").startswith("220")
    assert login(c).startswith("230")
    c.close()
    assert srv.wait_log(rf"\[s\d+ {CLAIM}\] rein: user=")
    assert len(re.findall(rf"\[s\d+ {CLAIM}\] login ok", srv.log())) == 2
