"""Listeners on IPv4 and IPv6 at once, transfers over IPv6 (EPSV and EPRT),
and the passive address announced for NAT."""

import ftplib
import io
import re
import socket

import pytest

from conftest import HELLO, MODES, free_port, port_free


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_port6():
    """A port from conftest's range (never an ephemeral one) that is
    also free on ::1."""
    for _ in range(100):
        port = free_port()
        if port_free(port, "::1"):
            return port
    raise RuntimeError("no free port on ::1")


@pytest.mark.skipif(not have_ipv6_loopback(), reason="no IPv6 loopback")
@pytest.mark.parametrize("flavour", MODES)
def test_ipv4_and_ipv6_listeners(start_server, flavour):
    p4, p6 = free_port(), free_port6()
    srv = start_server(mode="config", rootless=flavour == "rootless",
                       conf_extra={"listen": f"127.0.0.1:{p4}, [::1]:{p6}"})
    f4 = ftplib.FTP(timeout=5)
    f4.connect("127.0.0.1", p4)
    f4.login(srv.user, srv.password)
    out = io.BytesIO()
    f4.retrbinary("RETR hello.txt", out.write)
    assert out.getvalue() == HELLO
    f4.quit()

    f6 = ftplib.FTP(timeout=5)
    f6.connect("::1", p6)
    assert f6.af == socket.AF_INET6
    f6.login(srv.user, srv.password)
    # PASV cannot describe an IPv6 address
    with pytest.raises(ftplib.Error, match=r"^4\d\d .*EPSV"):
        f6.sendcmd("PASV")
    out = io.BytesIO()
    f6.retrbinary("RETR hello.txt", out.write)      # EPSV
    assert out.getvalue() == HELLO
    f6.set_pasv(False)
    f6.storbinary("STOR v6.bin", io.BytesIO(b"6" * 5000))   # EPRT |2|::1|...
    assert (srv.home / "v6.bin").read_bytes() == b"6" * 5000
    f6.quit()
    assert srv.wait_log(r"\[s\d+ ::1\] connect")


def test_pasv_address_announced(start_server):
    srv = start_server(mode="config", rootless=True,
                       conf_extra={"pasv_address": "10.1.2.3"})
    f = srv.login()
    r = f.sendcmd("PASV")
    m = re.match(r"227 .*\(10,1,2,3,(\d+),(\d+)\)", r)
    assert m, r
    port = int(m.group(1)) * 256 + int(m.group(2))
    assert srv.pasv[0] <= port <= srv.pasv[1]
    # EPSV carries no address; the port comes from the same range
    r = f.sendcmd("EPSV")
    port = int(re.search(r"\(\|\|\|(\d+)\|\)", r).group(1))
    assert srv.pasv[0] <= port <= srv.pasv[1]
    f.quit()
