"""FTPS helpers for the test_tls*.py files: certificates made with
`openssl req` in a temporary directory, a TLS server fixture, an ftplib
client whose data connections resume the control connection's TLS
session, and TLS-wrapped raw control connections."""

import ftplib
import io
import os
import shutil
import socket
import ssl
import subprocess
from pathlib import Path

import pytest

from conftest import IS_ROOT, NOBODY, TIMEOUT, RawClient, make_base, user_add, USER


def make_cert(directory, cn="localhost", kind="ec", name="server"):
    """A self-signed certificate and key (PEM) in directory; returns paths.
    kind: "ec" (P-256, fast) or "rsa" (2048)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    d.chmod(0o755)
    cert, key = d / f"{name}.crt", d / f"{name}.key"
    newkey = (["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if kind == "ec"
              else ["-newkey", "rsa:2048"])
    subprocess.run(["openssl", "req", "-x509", "-nodes", "-days", "2", *newkey,
                    "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={cn}",
                    "-addext", f"subjectAltName=DNS:{cn}"],
                   check=True, capture_output=True, timeout=60)
    # owned by root, the key readable by group 65534 only: a server as
    # root and a rootless one (uid/gid 65534) both accept and read it
    cert.chmod(0o644)
    key.chmod(0o640 if IS_ROOT else 0o600)
    if IS_ROOT:
        os.chown(key, 0, NOBODY)
    return cert, key


def tls_conf(cert, key, extra=None):
    conf = {"tls_cert": str(cert), "tls_key": str(key)}
    conf.update(extra or {})
    return conf


def client_ctx(max_version=None, min_version=None, alpn=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if max_version is not None:
        ctx.maximum_version = max_version
    if min_version is not None:
        ctx.minimum_version = min_version
    if alpn is not None:
        ctx.set_alpn_protocols(alpn)
    return ctx


TLS12 = ssl.TLSVersion.TLSv1_2
TLS13 = ssl.TLSVersion.TLSv1_3


class ReuseFTP(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control connection's
    TLS session (what curl and lftp do by themselves)."""

    _saved_session = None

    def _session(self):
        if getattr(self.sock, "_sslobj", None) is not None:
            return self.sock.session
        return self._saved_session       # after CCC

    def ccc(self):
        self._saved_session = self.sock.session
        return super().ccc()

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host,
                                            session=self._session())
        return conn, size


def tls_login(srv, user=None, password=None, cls=ReuseFTP, ctx=None, prot_p=True,
              timeout=TIMEOUT):
    f = cls(context=ctx or client_ctx(), timeout=timeout)
    f.connect("127.0.0.1", srv.port)
    f.auth()
    f.login(user or srv.user, srv.password if password is None else password)
    if prot_p:
        f.prot_p()
    return f


def retr(f, path):
    out = io.BytesIO()
    f.retrbinary(f"RETR {path}", out.write)
    return out.getvalue()


class TLSRaw(RawClient):
    """A raw control connection that can switch to TLS after AUTH TLS."""

    def starttls(self, ctx=None, server_hostname=None):
        assert self.buf == b"", self.buf
        self.sock = (ctx or client_ctx()).wrap_socket(self.sock,
                                                      server_hostname=server_hostname)
        return self.sock


def implicit_connect(port, ctx=None, server_hostname=None, timeout=TIMEOUT):
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return (ctx or client_ctx()).wrap_socket(raw, server_hostname=server_hostname)


def add_user(srv, name, password, extra=()):
    r = user_add(srv.users, name, password, srv.home, extra=extra)
    assert r.returncode == 0, r.stderr
    if IS_ROOT and srv.rootless:
        os.chown(srv.users, NOBODY, NOBODY)


def make_ca_and_client(directory, cn):
    """A CA (ca.crt) and a client certificate it signed for cn
    (client.crt, client.key), EC P-256; returns the three paths."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    d.chmod(0o755)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run = lambda argv: subprocess.run(argv, check=True, capture_output=True, timeout=60)
    run(["openssl", "req", "-x509", *ec, "-days", "2", "-keyout", str(d / "ca.key"),
         "-out", str(d / "ca.crt"), "-subj", f"/CN=keepftpd test CA {d.name}"])
    run(["openssl", "req", *ec, "-keyout", str(d / "client.key"), "-out",
         str(d / "client.csr"), "-subj", f"/CN={cn}"])
    run(["openssl", "x509", "-req", "-in", str(d / "client.csr"), "-CA", str(d / "ca.crt"),
         "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-days", "2",
         "-out", str(d / "client.crt")])
    for p in d.iterdir():
        p.chmod(0o644)
    return d / "ca.crt", d / "client.crt", d / "client.key"


@pytest.fixture(scope="module")
def certs():
    """A server certificate for localhost and a second one (CN other), per
    test module; the modules import this fixture."""
    d = make_base()
    cert, key = make_cert(d / "a", cn="localhost")
    other_cert, other_key = make_cert(d / "b", cn="other")
    yield {"cert": cert, "key": key, "other_cert": other_cert, "other_key": other_key,
           "dir": d}
    shutil.rmtree(d, ignore_errors=True)


def tls_server(start_server, certs, rootless=None, **extra):
    return start_server(conf_extra=tls_conf(certs["cert"], certs["key"],
                                            {k: str(v) for k, v in extra.items()}),
                        rootless=(not IS_ROOT) if rootless is None else rootless)


@pytest.fixture(scope="module")
def pki():
    from tls_helpers import make_ca_and_client
    d = make_base()
    ca, cert, key = make_ca_and_client(d / "ca1", USER)
    _, other_cert, other_key = make_ca_and_client(d / "ca2", USER)
    yield {"ca": ca, "cert": cert, "key": key, "other_cert": other_cert,
           "other_key": other_key}
    shutil.rmtree(d, ignore_errors=True)


def cert_ctx(cert, key, version=None):
    ctx = client_ctx(max_version=version)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx
