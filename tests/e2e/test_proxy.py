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
import json
import re
import shutil
import socket
import subprocess
import time

import pytest

from conftest import (PASSWORD, TIMEOUT, USER, free_port, pasv_port,
                      wait_for)
from proxy_helpers import (HAPROXY_GLOBAL, SIG, Conn, haproxy_run,  # noqa: F401
                           v1, v2)

CLAIM = "198.51.100.7"
CLAIM2 = "198.51.100.8"
CLAIM6 = "2001:db8::7"


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


def who_json(srv):
    from conftest import BIN
    r = subprocess.run([BIN, "who", "--json", "-s", str(srv.admin_socket)],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines()]


@pytest.mark.parametrize("header,claim,sport", [
    ("v1", CLAIM, 45678), ("v2", CLAIM, 51234), ("v2", CLAIM6, 1)])
def test_claimed_port_in_who_and_log(psrv, tmp_path, header, claim, sport):
    """The header's source port is the session's peer port: in `keepftpd
    who --json` (the listener's row; it was 0) and in the JSON log's
    client_port of every line with the claimed address."""
    from conftest import build_server
    log = tmp_path / "keepftpd.log"
    srv = build_server(mode="config", listen_flags=" proxy", conf_extra={
        "proxy_from": "127.0.0.1", "log_file": str(log),
        "log_format": "json"})
    srv.log = lambda: log.read_text(errors="replace") if log.exists() else ""
    try:
        srv.start()
        hdr = (v1 if header == "v1" else v2)(claim, sport=sport)
        c = Conn(srv.port, hdr)
        assert c.reply().startswith("220")
        assert login(c).startswith("230")
        bal = c.s.getsockname()[1]  # the balancer's own port
        assert wait_for(lambda: [r["port"] for r in who_json(srv)
                                 if r["addr"] == claim] == [sport]), \
            who_json(srv)
        assert all(r["port"] != bal for r in who_json(srv))
        c.cmd("QUIT")
        c.close()

        def logged():
            objs = [json.loads(x) for x in srv.log().splitlines() if x]
            mine = [o for o in objs if o.get("client") == claim]
            events = {o.get("event") for o in mine}
            return ({"connect_via_proxy", "login_ok", "disconnect"} <= events
                    and {o["client_port"] for o in mine} == {sport})
        assert wait_for(logged), srv.log()[-3000:]
    finally:
        srv.stop()
        shutil.rmtree(srv.base, ignore_errors=True)


@pytest.mark.parametrize("header", ["v1", "v2"])
def test_source_port_zero_refused(psrv, header):
    """A source port 0 is no TCP client's: the header is invalid."""
    srv = psrv()
    c = Conn(srv.port, (v1 if header == "v1" else v2)(CLAIM, sport=0))
    assert c.rest() == b""
    c.close()
    assert srv.wait_log(r"PROXY header: invalid")


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
def haproxy(haproxy_run):
    """Starts haproxy in front of a port: haproxy(node_port) -> its port."""
    def start(node_port):
        port = free_port()
        haproxy_run(HAPROXY_GLOBAL + f"""listen ftp
    bind 127.0.0.1:{port}
    server s1 127.0.0.1:{node_port} send-proxy-v2 check check-send-proxy inter 500ms
""", up=("127.0.0.1", port))
        return port
    return start


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
