"""What becomes of a TLS connection: truncated uploads (no close_notify)
refused or kept by configuration, kernel TLS or its user-space fallback,
CCC back to plain text (and no TLS again after it)."""

import ftplib
import io
import os
import socket

import pytest

from clients import need, run
from conftest import PASSWORD, USER
from tls_helpers import (certs, TLS12, TLS13, client_ctx, retr, tls_login,  # noqa: F401
                         tls_server)  # certs: a fixture


def truncated_upload(f, name, data):
    conn = f.transfercmd(f"STOR {name}")
    conn.sendall(data)
    # SSLSocket.shutdown drops the TLS layer: TCP FIN, no close_notify
    conn.shutdown(socket.SHUT_RDWR)
    conn.close()
    return f.getresp


@pytest.mark.parametrize("version", [TLS12, TLS13], ids=["tls1.2", "tls1.3"])
def test_truncated_upload_is_not_kept(start_server, certs, version):
    srv = tls_server(start_server, certs)
    (srv.home / "keep.bin").write_bytes(b"old content")
    f = tls_login(srv, ctx=client_ctx(max_version=version))
    getresp = truncated_upload(f, "keep.bin", b"n" * 200000)
    with pytest.raises(ftplib.error_temp, match="^451 .*close_notify"):
        getresp()
    assert (srv.home / "keep.bin").read_bytes() == b"old content"
    assert not [p for p in os.listdir(srv.home) if p.startswith(".kf-upload")]
    assert srv.wait_log(r'STOR path="/keep.bin" bytes=200000 .*status=truncated')
    # a proper upload still works in the same session
    f.storbinary("STOR keep.bin", io.BytesIO(b"new"))
    assert (srv.home / "keep.bin").read_bytes() == b"new"
    f.quit()


def test_truncated_upload_accepted_when_configured(start_server, certs):
    srv = tls_server(start_server, certs, tls_accept_truncated="yes")
    f = tls_login(srv)
    getresp = truncated_upload(f, "t.bin", b"t" * 50000)
    assert getresp().startswith("226 ")
    assert (srv.home / "t.bin").read_bytes() == b"t" * 50000
    f.quit()


def test_ktls_or_user_space_fallback(start_server, certs):
    """SSL_OP_ENABLE_KTLS is set on data connections; where the kernel has
    no TLS ULP (this build machine) the download takes the user-space path,
    which must be correct and say so at debug level."""
    srv = tls_server(start_server, certs, log_level="debug")
    data = os.urandom(5 << 20)
    (srv.home / "k.bin").write_bytes(data)
    f = tls_login(srv)
    assert retr(f, "k.bin") == data
    f.quit()
    m = srv.wait_log(r"TLS download: (kernel TLS, SSL_sendfile|no kernel TLS on this "
                     r"socket; user-space TLS records)")
    assert m
    have_ulp = os.path.exists("/sys/module/tls")
    print("kernel TLS module loaded:", have_ulp, "->", m.group(0))


@pytest.mark.parametrize("version", [TLS12, TLS13], ids=["tls1.2", "tls1.3"])
def test_ccc_back_to_plain_text(start_server, certs, version):
    srv = tls_server(start_server, certs, tls_ccc_enable="yes")
    f = tls_login(srv, ctx=client_ctx(max_version=version))
    assert retr(f, "hello.txt") == b"hello world\n"
    assert f.ccc().startswith("200 ")
    assert f.sock._sslobj is None         # ftplib unwrapped the TLS layer
    assert f.pwd() == "/"
    # data connections keep PROT P and still resume the control session
    assert retr(f, "digits.bin") == bytes(range(256)) * 40
    f.storbinary("STOR ccc.bin", io.BytesIO(b"c" * 70000))
    assert (srv.home / "ccc.bin").read_bytes() == b"c" * 70000
    with pytest.raises(ftplib.error_perm, match="^533 "):
        f.sendcmd("CCC")
    f.quit()
    assert srv.wait_log(r"CCC: TLS closed on both sides; plain text")
    assert srv.wait_log(r"CCC: the control connection is in plain text")


def test_ccc_off_by_default(start_server, certs):
    srv = tls_server(start_server, certs, tls_required_users="no")
    f = tls_login(srv)
    with pytest.raises(ftplib.error_perm, match="^534 "):
        f.sendcmd("CCC")
    f.voidcmd("NOOP")            # still TLS, still fine
    f.quit()
    f = srv.login()
    with pytest.raises(ftplib.error_perm, match="^533 "):
        f.sendcmd("CCC")         # nothing to clear
    f.quit()


def test_no_tls_again_after_ccc_and_rein(start_server, certs):
    srv = tls_server(start_server, certs, tls_ccc_enable="yes",
                     tls_required_users="yes")
    f = tls_login(srv)
    f.ccc()
    assert f.sendcmd("REIN").startswith("220 ")
    with pytest.raises(ftplib.error_perm, match="^534 "):
        f.sendcmd("AUTH TLS")
    with pytest.raises(ftplib.error_perm, match="^530 TLS required"):
        f.sendcmd(f"USER {USER}")
    assert f.sendcmd("USER anonymous").startswith("331 ")
    assert f.sendcmd("PASS x").startswith("230 ")
    f.quit()


def test_curl_ftp_ssl_ccc(start_server, certs):
    need("curl")
    srv = tls_server(start_server, certs, tls_ccc_enable="yes")
    # curl forgets its TLS session at CCC, so its data connections go in
    # clear (--ftp-ssl-control: TLS for the login, PROT C)
    r = run(["curl", "-sS", "--ftp-ssl-control", "-k", "--ftp-ssl-ccc", "--max-time", "20",
             f"ftp://{USER}:{PASSWORD}@127.0.0.1:{srv.port}/digits.bin"], cwd=srv.base)
    assert r.returncode == 0, (r.stderr, srv.log()[-2000:])
    assert r.stdout == bytes(range(256)) * 40
    assert srv.wait_log(r"CCC: (TLS closed on both sides|the client went on without "
                        r"close_notify)")
