"""Implicit FTPS (a TLS listener beside the explicit one, in one process),
ALPN (ALPACA) and strict SNI, quick mode with TLS, and real clients
(curl, lftp) over implicit TLS."""

import ftplib
import os
import socket
import ssl

import pytest

from clients import need, run
from conftest import IS_ROOT, PASSWORD, USER, free_port
from tls_helpers import (certs, TLSRaw, client_ctx, implicit_connect, retr,  # noqa: F401
                         tls_login, tls_server)  # certs: a fixture


def reply(sock):
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.decode()


MODES = ["root", "rootless"] if IS_ROOT else ["rootless"]


@pytest.fixture(params=MODES)
def isrv(request, start_server, certs):
    """Explicit on one port, implicit on another, one process."""
    explicit, implicit = free_port(), free_port()
    srv = tls_server(start_server, certs, rootless=request.param == "rootless",
                     listen=f"127.0.0.1:{explicit}, 127.0.0.1:{implicit} implicit")
    srv.port, srv.iport = explicit, implicit
    return srv


def test_implicit_beside_explicit(isrv):
    s = implicit_connect(isrv.iport)
    assert reply(s).startswith("220 ")
    s.sendall(b"USER anonymous\r\n")
    assert reply(s).startswith("331 ")
    s.sendall(b"PASS x\r\n")
    assert reply(s).startswith("230 ")
    s.sendall(b"AUTH TLS\r\n")
    assert reply(s).startswith("503 ")
    s.sendall(b"QUIT\r\n")
    assert reply(s).startswith("221 ")
    s.close()
    f = tls_login(isrv)             # explicit, same process
    assert retr(f, "hello.txt") == b"hello world\n"
    f.quit()
    assert isrv.wait_log(r"connect \(implicit TLS\)")
    # a plain client on the implicit port gets no greeting, only a failed handshake
    c = socket.create_connection(("127.0.0.1", isrv.iport), timeout=5)
    c.sendall(b"USER anonymous\r\n")
    c.settimeout(5)
    try:
        assert b"220" not in c.recv(100)
    except (ConnectionResetError, socket.timeout):
        pass
    c.close()


@pytest.mark.parametrize("tlsmax", ["1.2", "1.3"])
def test_curl_implicit_ftps(isrv, tlsmax):
    need("curl")
    url = f"ftps://{USER}:{PASSWORD}@127.0.0.1:{isrv.iport}"
    r = run(["curl", "-sS", "-k", "--tls-max", tlsmax, "--max-time", "20",
             f"{url}/digits.bin"], cwd=isrv.base)
    assert r.returncode == 0, r.stderr
    assert r.stdout == bytes(range(256)) * 40
    src = isrv.base / "i.bin"
    src.write_bytes(os.urandom(123457))
    r = run(["curl", "-sS", "-k", "--tls-max", tlsmax, "--max-time", "20", "-T",
             str(src), f"{url}/i.bin"], cwd=isrv.base)
    assert r.returncode == 0, r.stderr
    assert (isrv.home / "i.bin").read_bytes() == src.read_bytes()
    assert "data connection refused" not in isrv.log()


def test_implicit_listener_needs_a_certificate(start_server):
    port = free_port()
    with pytest.raises(RuntimeError, match="implicit but tls_cert is empty"):
        start_server(conf_extra={"listen": f"127.0.0.1:{port} implicit"},
                     rootless=not IS_ROOT)


def test_alpn(isrv):
    s = implicit_connect(isrv.iport, ctx=client_ctx(alpn=["h2", "ftp"]))
    assert s.selected_alpn_protocol() == "ftp"
    assert reply(s).startswith("220 ")
    s.close()
    s = implicit_connect(isrv.iport)            # no ALPN: served
    assert s.selected_alpn_protocol() is None
    assert reply(s).startswith("220 ")
    s.close()
    for protos in (["http/1.1"], ["h2", "smtp"]):
        with pytest.raises(ssl.SSLError, match="(?i)no.application.protocol"):
            implicit_connect(isrv.iport, ctx=client_ctx(alpn=protos)).recv(10)
    # explicit: the same
    c = TLSRaw(isrv.port)
    c.reply()
    assert c.cmd("AUTH TLS").startswith("234 ")
    with pytest.raises(ssl.SSLError, match="(?i)no.application.protocol"):
        c.starttls(ctx=client_ctx(alpn=["http/1.1"]))
    c.close()
    assert isrv.wait_log(r"TLS handshake failed")


def test_strict_sni(start_server, certs):
    port, iport = free_port(), free_port()
    srv = tls_server(start_server, certs, tls_sni_host="FTP.example.test",
                     listen=f"127.0.0.1:{port}, 127.0.0.1:{iport} implicit")
    s = implicit_connect(iport, server_hostname="ftp.example.test")
    assert reply(s).startswith("220 ")
    s.close()
    for name in ("other.example.test", None):
        with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME"):
            implicit_connect(iport, server_hostname=name).recv(10)
    assert srv.wait_log(r'TLS control connection: .* sni="ftp\.example\.test"')


def test_quick_mode_with_tls(start_server, certs):
    srv = start_server(mode="quick", rootless=not IS_ROOT, quick_args=(
        "-o", f"tls_cert={certs['cert']}", "-o", f"tls_key={certs['key']}",
        "-o", "tls_required_users=yes"))
    with pytest.raises(ftplib.error_perm, match="530 TLS required"):
        srv.login()
    f = tls_login(srv)
    assert retr(f, "hello.txt") == b"hello world\n"
    f.quit()


def test_lftp_implicit_ftps(isrv):
    need("lftp")
    script = (f"set ssl:verify-certificate no; set ftp:ssl-protect-data true; "
              f"set net:max-retries 1; set net:timeout 10; "
              f"open -u {USER},{PASSWORD} ftps://127.0.0.1:{isrv.iport}; "
              f"get digits.bin -o got.bin; ls; bye")
    r = run(["lftp", "-c", script], cwd=isrv.base)
    assert r.returncode == 0, (r.stdout, r.stderr, isrv.log()[-3000:])
    assert (isrv.base / "got.bin").read_bytes() == bytes(range(256)) * 40
    assert b"hello.txt" in r.stdout
    assert "data connection refused" not in isrv.log()
