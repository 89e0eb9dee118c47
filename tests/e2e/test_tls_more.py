"""FTPS beyond AUTH TLS: implicit TLS beside explicit in one process,
truncated uploads (no close_notify), ALPN (ALPACA) and strict SNI,
certificate reload on SIGHUP, and the user-space fallback of kernel TLS."""

import ftplib
import hashlib
import io
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading

import pytest

from clients import need, run
from conftest import (IS_ROOT, NOBODY, PASSWORD, USER, free_port, is_sanitized, make_base,
                      wait_for)
from tls_helpers import (certs, TLS12, TLS13, ReuseFTP, TLSRaw, client_ctx, implicit_connect,
                         make_cert, retr, tls_conf, tls_login)


def tls_server(start_server, certs, rootless=None, **extra):
    return start_server(conf_extra=tls_conf(certs["cert"], certs["key"],
                                            {k: str(v) for k, v in extra.items()}),
                        rootless=(not IS_ROOT) if rootless is None else rootless)


def reply(sock):
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.decode()


# ---------------------------------------------------------------------------
# implicit TLS

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


# ---------------------------------------------------------------------------
# truncation

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


# ---------------------------------------------------------------------------
# ALPN and SNI

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


# ---------------------------------------------------------------------------
# SIGHUP

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


# ---------------------------------------------------------------------------
# kernel TLS

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


# ---------------------------------------------------------------------------
# CCC

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


# ---------------------------------------------------------------------------
# client certificates

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


# ---------------------------------------------------------------------------
# many TLS sessions at once


def pss_kib(pid):
    for line in open(f"/proc/{pid}/smaps_rollup"):
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def test_many_tls_sessions(start_server, certs):
    """N logged-in TLS sessions at once (each: monitor, relay, worker) all
    answer, transfer under PROT P, and leave no relay behind."""
    from conftest import descendants_named
    n = 30 if is_sanitized() else 150
    srv = tls_server(start_server, certs, max_clients=n + 10, max_per_ip=n + 10)
    sessions = []
    try:
        for _ in range(n):
            sessions.append(tls_login(srv, timeout=30))
        relays = descendants_named(srv.pid, "kf-tls-relay")
        assert len(relays) == n
        if IS_ROOT:
            print(f"relay PSS: {sum(pss_kib(p) for p in relays) / n:.0f} KiB each")
        for f in sessions:
            f.voidcmd("NOOP")
        for f in sessions[:: max(1, n // 10)]:
            assert retr(f, "digits.bin") == bytes(range(256)) * 40
    finally:
        for f in sessions:
            try:
                f.quit()
            except (OSError, EOFError, ftplib.Error):
                f.close()
    assert wait_for(lambda: not descendants_named(srv.pid, "kf-tls-relay"), timeout=20)
    assert "data connection refused" not in srv.log()
