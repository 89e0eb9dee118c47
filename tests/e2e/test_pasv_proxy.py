"""Data connections behind HAProxy (issue 17, item 2), with Debian's
haproxy and send-proxy-v2 in front of a node, clients on their own
loopback addresses (127.0.0.5 the client, 127.0.0.6 another one).

(a) pasv_proxy = no: only the control port goes through the balancer
(127.0.0.2); PASV announces the node's own address (127.0.0.1) and the
data connection goes straight there, checked against the address in the
control connection's PROXY header. EPSV would lead to the balancer: 502.

(b) pasv_proxy = yes: the balancer also forwards the node's passive
range, with a PROXY header on each data connection; PASV announces the
balancer (pasv_address), EPSV's port is reached at the balancer. The
node takes a passive connection only from proxy_from with a header
naming the session's client.

Every socket has a timeout and every wait a deadline."""
import ftplib
import hashlib
import io
import re
import socket
import subprocess
import time

import pytest

from conftest import BIN, PASSWORD, TIMEOUT, USER, free_port, pasv_port
from proxy_helpers import HAPROXY_GLOBAL, haproxy_run, v2  # noqa: F401

BALANCER = "127.0.0.2"
NODE = "127.0.0.1"  # the node's address; haproxy connects from it too
CLIENT = "127.0.0.5"
OTHER = "127.0.0.6"
PAYLOAD = hashlib.sha256(b"pasv").digest() * 4096  # 128 KiB


class FTP(ftplib.FTP):
    """ftplib from a source address, taking PASV's address as given (the
    default would use the control connection's peer) or using EPSV."""
    epsv = False
    trust_server_pasv_ipv4_address = True

    def makepasv(self):
        if not self.epsv:
            return super().makepasv()
        peer = self.sock.getpeername()
        return ftplib.parse229(self.sendcmd("EPSV"), peer)


def client(port, src=CLIENT, epsv=False):
    f = FTP(timeout=TIMEOUT, source_address=(src, 0))
    f.epsv = epsv
    f.connect(BALANCER, port)
    f.login(USER, PASSWORD)
    return f


@pytest.fixture
def topo(start_server, haproxy_run):
    """topo(pasv_proxy): a node behind haproxy; returns (srv, port) with
    port the balancer's control port."""
    def make(pasv_proxy, rootless=False, **extra):
        conf = {"proxy_from": NODE, "data_timeout": "5"}
        if pasv_proxy:
            conf.update(pasv_proxy="yes", pasv_address=BALANCER)
        else:
            conf.update(pasv_address=NODE)  # each node announces its own
        conf.update(extra)
        srv = start_server(mode="config", conf_extra=conf,
                           listen_flags=" proxy", rootless=rootless)
        port = free_port()
        cfg = HAPROXY_GLOBAL + f"""listen ftp
    bind {BALANCER}:{port}
    server node1 {NODE}:{srv.port} send-proxy-v2 check check-send-proxy inter 2s
"""
        if pasv_proxy:
            lo, hi = srv.pasv
            # no port on the server: the port the client connected to
            cfg += f"""listen ftp-pasv
    bind {BALANCER}:{lo}-{hi}
    server node1 {NODE} send-proxy-v2
"""
        haproxy_run(cfg, up=(BALANCER, port))
        return srv, port
    return make


def roundtrip(f, name):
    f.storbinary(f"STOR {name}", io.BytesIO(PAYLOAD))
    got = io.BytesIO()
    f.retrbinary(f"RETR {name}", got.write)
    assert got.getvalue() == PAYLOAD
    assert name in f.nlst()


@pytest.mark.parametrize("rootless", [False, True], ids=["root", "rootless"])
@pytest.mark.parametrize("epsv", [False, True], ids=["pasv", "epsv"])
def test_b_transfer_through_balancer(topo, epsv, rootless):
    srv, port = topo(True, rootless=rootless)
    f = client(port, epsv=epsv)
    if not epsv:
        r = f.sendcmd("PASV")
        assert f"({BALANCER.replace('.', ',')}," in r, r  # the balancer's
        f.sendcmd("ABOR")
    roundtrip(f, "b.bin")
    f.quit()
    assert srv.wait_log(rf"\[s\d+ {CLIENT}\] worker kf-session: STOR "
                        r'path="/b\.bin" bytes=131072 ')
    assert not re.search(r"data connection .*refused", srv.log())


def test_a_transfer_straight_to_node(topo):
    srv, port = topo(False)
    f = client(port)
    r = f.sendcmd("PASV")
    assert f"({NODE.replace('.', ',')}," in r, r  # the node's own
    f.sendcmd("ABOR")
    roundtrip(f, "a.bin")
    f.quit()
    assert srv.wait_log(rf"\[s\d+ {CLIENT}\] connect via proxy {NODE}")
    assert not re.search(r"data connection .*refused", srv.log())


def test_a_epsv_refused_pasv_used(topo):
    """EPSV names no address: the client would connect to the balancer,
    which forwards no passive port in (a). 502, and curl falls back to
    PASV by itself (told to use PASV's address: since 7.74 it takes the
    control connection's by default, which is the balancer's)."""
    srv, port = topo(False)
    f = client(port)
    with pytest.raises(ftplib.error_perm, match="^502 EPSV is not"):
        f.sendcmd("EPSV")
    with pytest.raises(ftplib.error_perm, match="^502"):
        f.sendcmd("EPSV ALL")
    assert f.sendcmd("PASV").startswith("227")  # EPSV ALL did not stick
    f.quit()
    out = subprocess.run(
        ["curl", "-sS", "--max-time", "20", "--interface", CLIENT,
         "--no-ftp-skip-pasv-ip",
         f"ftp://{USER}:{PASSWORD}@{BALANCER}:{port}/hello.txt"],
        capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout == b"hello world\n"


def steal_then_transfer(srv, port, thief, epsv=False):
    """The session's client (CLIENT) asks for a passive port; the thief
    connects to it first; then the client lists. The thief gets nothing,
    the client its listing."""
    f = client(port, epsv=epsv)
    host, dport = f.makepasv()
    t = thief(host, dport)
    time.sleep(0.3)  # the thief's connection is first in the queue
    f.makepasv = lambda: (host, dport)
    lines = []
    f.retrlines("LIST", lines.append)
    assert any("hello.txt" in ln for ln in lines), lines
    t.settimeout(TIMEOUT)
    try:
        assert t.recv(100) == b""  # closed, not one byte sent
    except ConnectionResetError:
        pass
    t.close()
    f.quit()


def connect_from(src, header=b""):
    def go(host, port):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(TIMEOUT)
        s.bind((src, 0))
        s.connect((host, port))
        if header:
            s.sendall(header)
        return s
    return go


def test_a_other_client_refused(topo):
    srv, port = topo(False)
    steal_then_transfer(srv, port, connect_from(OTHER))
    assert srv.wait_log(rf"\[s\d+ {CLIENT}\] worker kf-session: data "
                        rf"connection from foreign address {OTHER} refused")


@pytest.mark.parametrize("epsv", [False, True], ids=["pasv", "epsv"])
def test_b_other_client_refused(topo, epsv):
    """Through the balancer from another address: the header says
    127.0.0.6, the session's client is 127.0.0.5."""
    srv, port = topo(True)
    steal_then_transfer(srv, port, connect_from(OTHER), epsv=epsv)
    assert srv.wait_log(rf"\[s\d+ {CLIENT}\] worker kf-session: data "
                        rf"connection from foreign address {OTHER} "
                        rf"\(via proxy {NODE}\) refused")


BAD_DATA = {
    # straight to the node from outside proxy_from, a forged header
    # naming the session's client: not a balancer, not read
    "forged-direct": (CLIENT, v2(CLIENT),
                      rf"data connection from {CLIENT} refused: not in "
                      r"proxy_from \(pasv_proxy\)"),
    # from a balancer address but garbage instead of a header
    "garbled": (NODE, b"GET / HTTP/1.0\r\n\r\n",
                r"refused: invalid PROXY header"),
    # a LOCAL header names no client
    "local": (NODE, v2(None, local=True),
              r"refused: PROXY header without a client"),
    # nothing at all, within KF_DATA_PROXY_HDR_MS
    "none": (NODE, b"", r"refused: PROXY header not complete \(0 byte"),
}


@pytest.mark.parametrize("what", sorted(BAD_DATA))
def test_b_bad_header_refused(topo, what):
    src, header, msg = BAD_DATA[what]
    srv, port = topo(True)
    f = client(port)
    _, dport = f.makepasv()
    t = connect_from(src, header)(NODE, dport)  # the node's port itself
    t0 = time.monotonic()
    assert srv.wait_log(r"data connection .*" + msg, timeout=1) is None
    f.putcmd("LIST")
    assert srv.wait_log(msg, timeout=TIMEOUT), srv.log()[-2000:]
    assert time.monotonic() - t0 < 4.5
    try:
        assert t.recv(100) == b""
    except ConnectionResetError:
        pass
    t.close()
    # nobody else came: 150, then 425 at data_timeout (5 s)
    f.sock.settimeout(15)  # data_timeout runs from the 150
    assert f.getresp().startswith("150")
    with pytest.raises(ftplib.error_temp, match="^425"):
        f.getresp()
    f.quit()


def test_b_header_then_data_byte_in_one_packet(topo):
    """Header and upload bytes in one write: the header's bytes are read,
    the upload's stay for the file."""
    srv, port = topo(True, proxy_from=f"{NODE},{OTHER}")
    f = client(port)
    _, dport = f.makepasv()
    f.putcmd("STOR one.bin")
    d = connect_from(OTHER, v2(CLIENT) + b"abc")(NODE, dport)
    assert f.getresp().startswith("150")
    d.sendall(b"def")
    d.close()
    assert f.getresp().startswith("226")
    assert (srv.home / "one.bin").read_bytes() == b"abcdef"
    f.quit()


def test_pasv_proxy_needs_a_proxy_listener(tmp_path):
    p = tmp_path / "k.conf"
    p.write_text("listen = 127.0.0.1:2121\npasv_proxy = yes\n")
    r = subprocess.run([BIN, "-t", "-c", str(p)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode != 0
    assert "pasv_proxy is set but no listen address is proxy" in \
        r.stdout + r.stderr


def test_b_direct_listener_unaffected(start_server):
    """pasv_proxy applies to sessions that came through the balancer: a
    direct client on another listen line uses PASV as usual."""
    direct = free_port()
    proxied = free_port()
    srv = start_server(mode="config", conf_extra={
        "proxy_from": "127.0.0.9", "pasv_proxy": "yes",
        "listen": f"127.0.0.1:{direct}\nlisten = 127.0.0.1:{proxied} proxy"})
    f = FTP(timeout=TIMEOUT)
    f.connect("127.0.0.1", direct)
    f.login(USER, PASSWORD)
    r = f.sendcmd("EPSV")
    assert r.startswith("229"), r
    f.sendcmd("ABOR")
    roundtrip(f, "d.bin")
    f.quit()
    assert not re.search(r"data connection .*refused", srv.log())
