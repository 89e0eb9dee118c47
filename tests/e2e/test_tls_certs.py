"""Certificates: the server certificate reloaded on SIGHUP, client
certificates required or used to log in (tls_client_ca,
tls_client_cert_login), with Python and curl."""

import ftplib
import hashlib
import io
import os
import shutil
import signal
import ssl

import pytest

from clients import need, run
from conftest import IS_ROOT, NOBODY, USER, make_base
from tls_helpers import (certs, TLS12, TLS13, TLSRaw, cert_ctx, client_ctx,  # noqa: F401
                         pki, retr, tls_conf, tls_login, tls_server)  # certs, pki: fixtures


def peer_der(f):
    return f.sock.getpeercert(binary_form=True)


def der_of(path):
    return ssl.PEM_cert_to_DER_cert(open(path).read())


def test_sighup_reloads_certificate(start_server, certs):
    d = make_base()
    try:
        cert, key = d / "live.crt", d / "live.key"
        shutil.copy(certs["cert"], cert)
        shutil.copy(certs["key"], key)
        cert.chmod(0o644)
        key.chmod(0o640 if IS_ROOT else 0o600)
        if IS_ROOT:
            os.chown(key, 0, NOBODY)
        srv = start_server(conf_extra=tls_conf(cert, key), rootless=not IS_ROOT)
        size = 48 << 20
        blob = os.urandom(1 << 20) * (size >> 20)
        (srv.home / "big.bin").write_bytes(blob)
        old = tls_login(srv, timeout=30)
        assert peer_der(old) == der_of(certs["cert"])
        # a download runs across the reload
        conn = old.transfercmd("RETR big.bin")
        got = hashlib.sha256()
        first = conn.recv(1 << 16)
        got.update(first)
        n = len(first)
        shutil.copy(certs["other_cert"], cert)
        shutil.copy(certs["other_key"], key)
        os.kill(srv.pid, signal.SIGHUP)
        assert srv.wait_log(r"TLS certificate reloaded")
        new = tls_login(srv)
        assert peer_der(new) == der_of(certs["other_cert"])
        assert retr(new, "hello.txt") == b"hello world\n"
        while True:
            b = conn.recv(1 << 20)
            if not b:
                break
            got.update(b)
            n += len(b)
        conn.close()
        old.voidresp()
        assert n == size and got.hexdigest() == hashlib.sha256(blob).hexdigest()
        # the old session goes on transferring after the reload
        old.storbinary("STOR after.bin", io.BytesIO(b"a" * 100000))
        assert retr(old, "after.bin") == b"a" * 100000
        assert peer_der(old) == der_of(certs["cert"])
        old.quit()
        new.quit()
        # a bad certificate keeps the one loaded before
        cert.write_text("not a certificate\n")
        os.kill(srv.pid, signal.SIGHUP)
        assert srv.wait_log(r"TLS: tls_cert ")
        assert srv.wait_log(r"keeping the whole old configuration")
        f = tls_login(srv)
        assert peer_der(f) == der_of(certs["other_cert"])
        f.quit()
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("version", [TLS12, TLS13], ids=["tls1.2", "tls1.3"])
def test_client_certificate_required(start_server, certs, pki, version):
    srv = tls_server(start_server, certs, tls_client_ca=pki["ca"],
                     tls_client_cert_required="yes")
    # with the CA's certificate: in, and the password is still needed
    f = tls_login(srv, ctx=cert_ctx(pki["cert"], pki["key"], version))
    assert retr(f, "hello.txt") == b"hello world\n"
    f.quit()
    assert srv.wait_log(rf'TLS client certificate verified: CN="{USER}"')
    with pytest.raises(ftplib.error_perm, match="530"):
        tls_login(srv, password="", ctx=cert_ctx(pki["cert"], pki["key"], version))
    # no certificate, or one from another CA: the handshake fails
    for ctx in (client_ctx(max_version=version),
                cert_ctx(pki["other_cert"], pki["other_key"], version)):
        c = TLSRaw(srv.port)
        c.reply()
        assert c.cmd("AUTH TLS").startswith("234 ")
        with pytest.raises((ssl.SSLError, ConnectionResetError, EOFError)):
            c.starttls(ctx=ctx)
            c.cmd("NOOP")           # TLS 1.3: the alert comes after the handshake
        c.close()


def test_client_certificate_login_without_password(start_server, certs, pki):
    srv = tls_server(start_server, certs, tls_client_ca=pki["ca"],
                     tls_client_cert_login="yes")
    f = tls_login(srv, password="", ctx=cert_ctx(pki["cert"], pki["key"]))
    assert retr(f, "hello.txt") == b"hello world\n"
    f.quit()
    assert srv.wait_log(rf'login ok: user="{USER}" .*\(client certificate\)')
    # no certificate: asked for but optional; then the password counts
    f = tls_login(srv)
    f.quit()
    with pytest.raises(ftplib.error_perm, match="530"):
        tls_login(srv, password="")
    # the certificate names alice only: another user needs a password
    c = TLSRaw(srv.port)
    c.reply()
    assert c.cmd("AUTH TLS").startswith("234 ")
    c.starttls(ctx=cert_ctx(pki["cert"], pki["key"]))
    assert c.cmd("USER anonymous").startswith("331 ")
    assert c.cmd("PASS x").startswith("230 ")      # anonymous as usual
    c.close()


def test_client_ca_needs_tls_cert(tmp_path):
    from test_tls import check_conf
    r = check_conf(tmp_path, tls_client_cert_login="yes")
    assert r.returncode == 1 and "need tls_client_ca" in r.stderr


def test_curl_client_certificate_login(start_server, certs, pki):
    need("curl")
    srv = tls_server(start_server, certs, tls_client_ca=pki["ca"],
                     tls_client_cert_required="yes", tls_client_cert_login="yes")
    r = run(["curl", "-sS", "--ssl-reqd", "-k", "--max-time", "20", "--cert",
             str(pki["cert"]), "--key", str(pki["key"]), "-u", f"{USER}:",
             f"ftp://127.0.0.1:{srv.port}/digits.bin"], cwd=srv.base)
    assert r.returncode == 0, (r.stderr, srv.log()[-2000:])
    assert r.stdout == bytes(range(256)) * 40
    r = run(["curl", "-sS", "--ssl-reqd", "-k", "--max-time", "20", "-u", f"{USER}:",
             f"ftp://127.0.0.1:{srv.port}/digits.bin"], cwd=srv.base)
    assert r.returncode != 0
