"""FTPS, explicit (AUTH TLS, RFC 4217): the relay process, PBSZ/PROT, the
login policy, pipelined bytes after AUTH TLS (CVE-2011-1575), and data
connections bound to the control connection's TLS session by resumption,
with ftplib, curl and lftp, over TLS 1.2 and TLS 1.3."""

import ftplib
import hashlib
import io
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from clients import need, run
from conftest import (BIN, IS_ROOT, NOBODY, PASSWORD, USER, descendants_named, is_sanitized,
                      make_base, memory_holds, proc_status, wait_for)
from tls_helpers import (certs, TLS12, TLS13, ReuseFTP, TLSRaw, add_user, client_ctx, make_cert,
                         retr, tls_conf, tls_login, tls_server)

VERSIONS = [pytest.param(TLS12, id="tls1.2"), pytest.param(TLS13, id="tls1.3")]


MODES = ["root", "rootless"] if IS_ROOT else ["rootless"]


@pytest.fixture(params=MODES)
def tsrv(request, start_server, certs):
    return start_server(conf_extra=tls_conf(certs["cert"], certs["key"]),
                        rootless=request.param == "rootless")


# ---------------------------------------------------------------------------
# keepftpd -t

def check_conf(tmp, **settings):
    conf = tmp / "k.conf"
    conf.write_text("listen = 127.0.0.1:2121\n" +
                    "".join(f"{k} = {v}\n" for k, v in settings.items()))
    return subprocess.run([BIN, "-t", "-c", str(conf)], capture_output=True, text=True,
                          timeout=30)


def test_check_mode_loads_and_matches_the_key(certs, tmp_path):
    r = check_conf(tmp_path, tls_cert=certs["cert"], tls_key=certs["key"])
    assert r.returncode == 0, r.stderr
    assert "TLS certificate and key load and match" in r.stdout
    r = check_conf(tmp_path, tls_cert=certs["cert"], tls_key=certs["other_key"])
    assert r.returncode == 1
    assert "does not match" in r.stderr
    r = check_conf(tmp_path, tls_cert=str(tmp_path / "missing.crt"))
    assert r.returncode == 1 and "tls_cert" in r.stderr
    r = check_conf(tmp_path, tls_cert=certs["cert"], tls_key=certs["key"],
                   tls_ciphers="NOT-A-CIPHER")
    assert r.returncode == 1 and "tls_ciphers" in r.stderr
    r = check_conf(tmp_path, tls_min="1.1", tls_cert=certs["cert"])
    assert r.returncode == 1 and "tls_min" in r.stderr
    r = check_conf(tmp_path, tls_required_users="yes")
    assert r.returncode == 1 and "tls_cert is empty" in r.stderr


def test_bad_certificate_at_start_is_an_error(start_server, certs):
    with pytest.raises(RuntimeError, match="does not match"):
        start_server(conf_extra=tls_conf(certs["cert"], certs["other_key"]),
                     rootless=not IS_ROOT)


# ---------------------------------------------------------------------------
# AUTH TLS and the relay

def test_auth_tls_then_login_and_transfer(tsrv):
    f = tls_login(tsrv)
    assert isinstance(f.sock, ssl.SSLSocket)
    assert retr(f, "hello.txt") == b"hello world\n"
    f.storbinary("STOR up.bin", io.BytesIO(b"x" * 100000))
    assert (tsrv.home / "up.bin").read_bytes() == b"x" * 100000
    assert "hello.txt" in f.nlst()
    f.quit()
    assert tsrv.wait_log(r"TLS control connection: TLSv1\.3 ")
    assert tsrv.wait_log(r'STOR path="/up.bin" bytes=100000 .*status=ok')


def test_feat_lists_auth_pbsz_prot(tsrv):
    f = tsrv.connect()
    feat = f.sendcmd("FEAT")
    for want in (" AUTH TLS", " PBSZ", " PROT"):
        assert want in feat
    f.quit()


def test_auth_without_tls_configured(srv):
    c = srv.raw()
    c.reply()
    assert c.cmd("AUTH TLS").startswith("502 ")
    assert c.cmd("PBSZ 0").startswith("503 ")
    assert "AUTH" not in srv.connect().sendcmd("FEAT")
    c.close()


def test_auth_ssl_alias_and_refusals(tsrv):
    c = TLSRaw(tsrv.port)
    c.reply()
    assert c.cmd("PBSZ 0").startswith("503 ")
    assert c.cmd("PROT P").startswith("503 ")
    assert c.cmd("AUTH KERBEROS").startswith("504 ")
    assert c.cmd("AUTH SSL").startswith("234 ")
    c.starttls()
    assert c.cmd("AUTH TLS").startswith("503 ")
    assert c.cmd("PROT P").startswith("503 ")       # PBSZ first
    assert c.cmd("PBSZ 0").startswith("200 ")
    assert c.cmd("PROT S").startswith("536 ")
    assert c.cmd("PROT P").startswith("200 ")
    assert c.cmd("CCC").startswith("533 ")
    assert c.cmd("USER anonymous").startswith("331 ")
    assert c.cmd("PASS x").startswith("230 ")
    assert c.cmd("AUTH TLS").startswith("503 ")
    assert c.cmd("NOOP").startswith("200 ")
    assert c.cmd("QUIT").startswith("221 ")
    c.close()


def test_relay_process_is_confined(tsrv):
    c = TLSRaw(tsrv.port)
    c.reply()
    pre = wait_for(lambda: descendants_named(tsrv.pid, "kf-prelogin"))
    assert c.cmd("AUTH TLS").startswith("234 ")
    c.starttls()
    assert c.cmd("NOOP").startswith("200 ")
    relays = wait_for(lambda: descendants_named(tsrv.pid, "kf-tls-relay"))
    assert len(relays) == 1
    st = proc_status(relays[0])
    uid = NOBODY if IS_ROOT else os.getuid()
    if IS_ROOT and not tsrv.rootless:
        assert st["Uid"].split() == [str(uid)] * 4
        assert os.readlink(f"/proc/{relays[0]}/root") == "/run/keepftpd/empty"
    assert st["CapEff"] == "0000000000000000"
    assert st["NoNewPrivs"] == "1"
    assert st["Seccomp"] == "2"
    # a new pre-login worker serves the encrypted connection
    pre2 = wait_for(lambda: descendants_named(tsrv.pid, "kf-prelogin"))
    assert pre2 and pre2 != pre
    # the relay survives the login: the same TLS session goes on
    assert c.cmd("USER anonymous").startswith("331 ")
    assert c.cmd("PASS x").startswith("230 ")
    assert descendants_named(tsrv.pid, "kf-tls-relay") == relays
    assert c.cmd("PWD").startswith("257 ")
    assert c.cmd("REIN").startswith("220 ")
    assert c.cmd("USER anonymous").startswith("331 ")
    assert c.cmd("PASS x").startswith("230 ")
    assert descendants_named(tsrv.pid, "kf-tls-relay") == relays
    c.cmd("QUIT")
    c.close()
    assert wait_for(lambda: not descendants_named(tsrv.pid, "kf-tls-relay"))


def test_pipelined_commands_after_auth_are_not_executed(tsrv):
    """CVE-2011-1575: USER sent in the same packet as AUTH TLS must not
    count once TLS is up."""
    c = TLSRaw(tsrv.port)
    c.reply()
    c.send(b"AUTH TLS\r\nUSER anonymous\r\nPASS x\r\n")
    assert c.reply().startswith("234 ")
    c.starttls()
    # USER was never executed: PASS is out of sequence
    assert c.cmd("PASS x").startswith("503 ")
    assert c.cmd("USER anonymous").startswith("331 ")
    assert c.cmd("PASS x").startswith("230 ")
    c.close()
    assert tsrv.wait_log(r"AUTH TLS: \d+ byte\(s\) sent after AUTH before the 234 "
                         r"reply were dropped, not executed")


def test_plain_bytes_after_234_end_the_session(tsrv):
    c = TLSRaw(tsrv.port)
    c.reply()
    assert c.cmd("AUTH TLS").startswith("234 ")
    c.send(b"USER anonymous\r\nPASS x\r\n")   # not a ClientHello
    assert c.closed()
    assert tsrv.wait_log(r"TLS handshake failed")
    assert "login ok" not in tsrv.log()


def test_openssl_s_client_starttls(tsrv):
    need("openssl")
    p = subprocess.run(["openssl", "s_client", "-starttls", "ftp", "-connect",
                        f"127.0.0.1:{tsrv.port}", "-quiet"],
                       input=b"USER anonymous\r\nPASS x\r\nPWD\r\nQUIT\r\n",
                       capture_output=True, timeout=30)
    out = p.stdout.decode(errors="replace")
    assert "230 " in out and '257 "/"' in out and "221 " in out, out


# ---------------------------------------------------------------------------
# policy

def test_tls_required_for_users(start_server, certs):
    srv = tls_server(start_server, certs, tls_required_users="yes")
    c = TLSRaw(srv.port)
    c.reply()
    r = c.cmd(f"USER {USER}")
    assert r.startswith("530 ") and "TLS required" in r
    assert c.cmd("USER anonymous").startswith("331 ")     # anonymous: not required
    assert c.cmd("PASS x").startswith("230 ")
    c.close()
    with pytest.raises(ftplib.error_perm, match="530"):
        srv.login()
    f = tls_login(srv)
    assert retr(f, "hello.txt") == b"hello world\n"
    f.quit()


def test_tls_required_for_anonymous(start_server, certs):
    srv = tls_server(start_server, certs, tls_required_anon="yes",
                     tls_required_users="no")
    c = srv.raw()
    c.reply()
    assert c.cmd("USER anonymous").startswith("530 TLS required")
    assert c.cmd("USER ftp").startswith("530 TLS required")
    c.close()
    f = srv.login()          # alice may log in without TLS
    f.quit()
    f = tls_login(srv, "anonymous", "x")
    f.quit()


def test_per_user_tls_flag(start_server, certs):
    srv = tls_server(start_server, certs, tls_required_users="no")
    add_user(srv, "bob", "bob-pass-1", extra=["--tls"])
    assert ":write,tls\n" in srv.users.read_text()
    c = srv.raw()
    c.reply()
    assert c.cmd("USER bob").startswith("331 ")       # nothing leaks at USER
    assert c.cmd("PASS bob-pass-1").startswith("530 ")
    c.close()
    assert srv.wait_log(r'login refused: user="bob" needs TLS on the control connection')
    f = tls_login(srv, "bob", "bob-pass-1")
    f.quit()


def test_prot_p_required(start_server, certs):
    srv = tls_server(start_server, certs, tls_prot_required_users="yes")
    f = tls_login(srv, prot_p=False)
    with pytest.raises(ftplib.error_perm, match="521"):
        f.nlst()
    f.prot_p()
    assert "hello.txt" in f.nlst()
    f.prot_c()
    with pytest.raises(ftplib.error_perm, match="521"):
        retr(f, "hello.txt")
    f.quit()
    # anonymous is not covered by the users' option
    f = tls_login(srv, "anonymous", "x", prot_p=False)
    assert retr(f, "hello.txt") == b"hello world\n"
    f.quit()


def test_prot_before_login_carries_over(tsrv):
    f = ReuseFTP(context=client_ctx(), timeout=5)
    f.connect("127.0.0.1", tsrv.port)
    f.auth()
    f.voidcmd("PBSZ 0")
    f.voidcmd("PROT P")
    f._prot_p = True
    f.login(USER, PASSWORD)
    assert retr(f, "hello.txt") == b"hello world\n"
    f.quit()
    assert tsrv.wait_log(r'RETR path="/hello.txt" bytes=12 .*status=ok')


# ---------------------------------------------------------------------------
# data connections bound to the control session

@pytest.mark.parametrize("version", VERSIONS)
def test_resumed_data_connections(tsrv, version):
    f = tls_login(tsrv, ctx=client_ctx(max_version=version))
    assert f.sock.version() == ("TLSv1.2" if version == TLS12 else "TLSv1.3")
    for _ in range(3):
        assert retr(f, "digits.bin") == bytes(range(256)) * 40
    f.storbinary("STOR v.bin", io.BytesIO(b"v" * 70000))
    assert (tsrv.home / "v.bin").read_bytes() == b"v" * 70000
    f.quit()


@pytest.mark.parametrize("version", VERSIONS)
def test_fresh_data_session_is_refused(tsrv, version):
    """Plain ftplib does not resume: a clear alert and 522, not a hang."""
    f = tls_login(tsrv, cls=ftplib.FTP_TLS, ctx=client_ctx(max_version=version))
    t0 = time.monotonic()
    with pytest.raises(ssl.SSLError, match="ACCESS_DENIED"):
        retr(f, "hello.txt")
    with pytest.raises(ftplib.error_perm, match="^522 "):
        f.getresp()
    assert time.monotonic() - t0 < 3
    f.voidcmd("NOOP")                 # the session goes on
    f.quit()
    assert tsrv.wait_log(r"data connection refused: the data connection offered no "
                         r"TLS session to resume")


def test_another_sessions_ticket_is_refused(tsrv, certs):
    """A ticket from session A does not open a data connection of session B
    (each session has its own ticket key): B's data side falls back to a
    full handshake, where it shows only the decoy certificate, then
    refuses the connection with 522."""
    a = tls_login(tsrv)
    b = tls_login(tsrv)
    retr(a, "hello.txt")            # A's client now holds a ticket
    host, port = ftplib.parse227(b.sendcmd("PASV"))
    b.putcmd("RETR hello.txt")
    assert b.getline().startswith("150 ")
    raw = socket.create_connection((host, port), timeout=5)
    try:
        s = a.context.wrap_socket(raw, session=a.sock.session)
        assert not s.session_reused
        der = s.getpeercert(binary_form=True)
        real = ssl.PEM_cert_to_DER_cert(open(certs["cert"]).read())
        assert der != real
        assert b"keepftpd data decoy" in der
        assert s.recv(10) == b""
    except (ssl.SSLError, ConnectionResetError):
        pass
    assert b.getline().startswith("522 ")
    b.voidcmd("NOOP")
    a.quit()
    b.quit()
    assert tsrv.wait_log(r"did not resume the control connection's TLS session")


def test_reuse_check_off_lets_plain_ftplib_in(start_server, certs):
    srv = tls_server(start_server, certs, tls_data_reuse_required="no")
    f = tls_login(srv, cls=ftplib.FTP_TLS)
    assert retr(f, "hello.txt") == b"hello world\n"
    f.quit()


# ---------------------------------------------------------------------------
# real clients

def curl(srv, *args, home=None):
    return run(["curl", "-sS", "--ssl-reqd", "-k", "--max-time", "20", *args],
               cwd=home or srv.base)


@pytest.mark.parametrize("tlsmax", ["1.2", "1.3"])
def test_curl_ssl_reqd(tsrv, tlsmax):
    need("curl")
    url = f"ftp://{USER}:{PASSWORD}@127.0.0.1:{tsrv.port}"
    r = curl(tsrv, "--tls-max", tlsmax, f"{url}/digits.bin")
    assert r.returncode == 0, r.stderr
    assert r.stdout == bytes(range(256)) * 40
    src = tsrv.base / "c.bin"
    src.write_bytes(os.urandom(300000))
    r = curl(tsrv, "--tls-max", tlsmax, "-T", str(src), f"{url}/c.bin")
    assert r.returncode == 0, r.stderr
    assert (tsrv.home / "c.bin").read_bytes() == src.read_bytes()
    r = curl(tsrv, "--tls-max", tlsmax, "-l", f"{url}/")
    assert b"digits.bin" in r.stdout
    assert tsrv.wait_log(rf"TLS control connection: TLSv1\.{tlsmax[-1]} ")
    assert "data connection refused" not in tsrv.log()


@pytest.mark.parametrize("tlsmax", ["1.2", "1.3"])
def test_lftp_ssl_force(tsrv, tlsmax):
    need("lftp")
    src = tsrv.base / "l.bin"
    src.write_bytes(os.urandom(200000))
    prio = ("NORMAL:-VERS-ALL:+VERS-TLS1.2" if tlsmax == "1.2" else
            "NORMAL:-VERS-ALL:+VERS-TLS1.3")
    script = (f"set ssl:verify-certificate no; set ftp:ssl-force true; "
              f"set ftp:ssl-protect-data true; set ssl:priority {prio}; "
              f"set net:max-retries 1; set net:timeout 10; "
              f"open -u {USER},{PASSWORD} -p {tsrv.port} 127.0.0.1; "
              f"get digits.bin -o got.bin; put {src} -o l.bin; ls; bye")
    r = run(["lftp", "-c", script], cwd=tsrv.base)
    assert r.returncode == 0, (r.stdout, r.stderr, tsrv.log()[-3000:])
    assert (tsrv.base / "got.bin").read_bytes() == bytes(range(256)) * 40
    assert (tsrv.home / "l.bin").read_bytes() == src.read_bytes()
    assert b"hello.txt" in r.stdout
    assert tsrv.wait_log(rf"TLS control connection: TLSv1\.{tlsmax[-1]} ")
    assert "data connection refused" not in tsrv.log()


# ---------------------------------------------------------------------------
# volume

def test_256mib_prot_p_both_directions(start_server, certs):
    srv = tls_server(start_server, certs)
    size = 256 * 1024 * 1024
    block = os.urandom(1 << 20)
    big = srv.home / "big.bin"
    h = hashlib.sha256()
    with open(big, "wb") as out:
        for i in range(size // len(block)):
            chunk = bytes([i & 0xff]) + block[1:]
            out.write(chunk)
            h.update(chunk)
    if IS_ROOT:
        os.chown(big, NOBODY, NOBODY)
    want = h.hexdigest()
    f = tls_login(srv, timeout=60)
    got = hashlib.sha256()
    n = [0]

    def take(b):
        got.update(b)
        n[0] += len(b)
    t0 = time.monotonic()
    f.retrbinary("RETR big.bin", take, blocksize=1 << 20)
    down = time.monotonic() - t0
    assert n[0] == size and got.hexdigest() == want

    class Src(io.RawIOBase):
        def __init__(self):
            self.i = 0

        def readable(self):
            return True

        def read(self, k=-1):
            if self.i >= size // len(block):
                return b""
            chunk = bytes([self.i & 0xff]) + block[1:]
            self.i += 1
            return chunk
    t0 = time.monotonic()
    f.storbinary("STOR back.bin", Src(), blocksize=1 << 20)
    up = time.monotonic() - t0
    f.quit()
    h2 = hashlib.sha256()
    with open(srv.home / "back.bin", "rb") as fin:
        for chunk in iter(lambda: fin.read(1 << 20), b""):
            h2.update(chunk)
    assert h2.hexdigest() == want
    print(f"256 MiB PROT P: RETR {size / down / 1e6:.0f} MB/s, "
          f"STOR {size / up / 1e6:.0f} MB/s")


# ---------------------------------------------------------------------------
# who holds the private key



def ec_private_scalar(key_path):
    out = subprocess.run(["openssl", "pkey", "-in", str(key_path), "-text", "-noout"],
                         capture_output=True, text=True, check=True).stdout
    hexpart = out.split("priv:")[1].split("pub:")[0]
    return bytes.fromhex("".join(hexpart.split()).replace(":", ""))[-32:]


def prelogin_holds_no_key(srv, needles):
    """A new connection's pre-login worker does not hold the key."""
    c = TLSRaw(srv.port)
    c.reply()
    pre = wait_for(lambda: descendants_named(srv.pid, "kf-prelogin"))
    assert len(pre) == 1
    assert not memory_holds(pre[0], needles), "pre-login worker holds the key"
    c.close()


@pytest.mark.skipif(not IS_ROOT, reason="reads other processes' memory")
def test_only_the_relay_holds_the_private_key(start_server, certs):
    if is_sanitized():
        pytest.skip("ASan's shadow memory is too large to scan")
    srv = start_server(conf_extra=tls_conf(certs["cert"], certs["key"]), rootless=False)
    scalar = ec_private_scalar(certs["key"])
    needles = [scalar, scalar[::-1]]
    f = tls_login(srv, prot_p=True)
    assert retr(f, "hello.txt") == b"hello world\n"
    relay = descendants_named(srv.pid, "kf-tls-relay")
    session = descendants_named(srv.pid, "kf-session")
    assert len(relay) == 1 and len(session) == 1
    assert memory_holds(relay[0], needles), "the scan does not find the key at all"
    assert not memory_holds(session[0], needles), "post-login worker holds the key"
    prelogin_holds_no_key(srv, needles)
    f.quit()


def pem_body_lines(key_path):
    """The key file's base64 lines: the PEM text itself, wherever it went."""
    return [ln.encode() for ln in key_path.read_text().splitlines()
            if ln and not ln.startswith("-----")]


@pytest.mark.skipif(not IS_ROOT, reason="reads other processes' memory")
def test_listener_and_monitor_hold_no_private_key(start_server, certs):
    """Issue 13: only the relay spawner loads the certificate and key; the
    listener (at start and after SIGHUP) and the monitors forked from it
    never held them. The relay spawner reported to the listener that TLS
    loads; the session's workers hold no key either."""
    if is_sanitized():
        pytest.skip("ASan's shadow memory is too large to scan")
    srv = start_server(conf_extra=tls_conf(certs["cert"], certs["key"]), rootless=False)
    scalar = ec_private_scalar(certs["key"])
    needles = [scalar, scalar[::-1]]
    text = pem_body_lines(Path(certs["key"]))
    spawner = descendants_named(srv.pid, "kf-spawn-relay")
    assert len(spawner) == 1
    assert memory_holds(spawner[0], needles), "the scan does not find the key at all"
    for reload in (False, True):
        if reload:
            before = len(srv.log())
            os.kill(srv.pid, signal.SIGHUP)
            assert wait_for(lambda: "configuration reloaded" in srv.log()[before:])
        f = tls_login(srv, prot_p=True)
        assert retr(f, "hello.txt") == b"hello world\n"
        monitor = descendants_named(srv.pid, "kf-monitor")
        session = descendants_named(srv.pid, "kf-session")
        assert len(monitor) == 1 and len(session) == 1
        assert not memory_holds(srv.pid, needles + text), "the listener holds the key"
        assert not memory_holds(monitor[0], needles + text), "the monitor holds the key"
        assert not memory_holds(session[0], needles), "post-login worker holds the key"
        prelogin_holds_no_key(srv, needles)
        f.quit()
        assert wait_for(lambda: not descendants_named(srv.pid, "kf-monitor"))


def rsa_prime(key_path):
    out = subprocess.run(["openssl", "pkey", "-in", str(key_path), "-text", "-noout"],
                         capture_output=True, text=True, check=True).stdout
    hexpart = out.split("prime1:")[1].split("prime2:")[0]
    return bytes.fromhex("".join(hexpart.split()).replace(":", "")).lstrip(b"\0")


@pytest.mark.skipif(not IS_ROOT, reason="reads other processes' memory")
@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_plain_sessions_of_a_tls_server_hold_no_key(start_server, tmp_path, kind):
    """A session without TLS on a server with a certificate: neither of its
    workers holds the private key, nor its monitor, nor the listener, nor
    the post-login spawner they are forked from (executed afresh, it read
    only the certificate); the relay spawner alone loaded it."""
    if is_sanitized():
        pytest.skip("ASan's shadow memory is too large to scan")
    cert, key = make_cert(tmp_path / "k", kind=kind)
    if kind == "ec":
        scalar = ec_private_scalar(key)
        needles = [scalar, scalar[::-1]]
    else:
        prime = rsa_prime(key)
        # BIGNUM words are little-endian: look for a 16-byte run of the
        # prime either way round
        needles = [prime[8:24], prime[::-1][8:24]]
    srv = start_server(conf_extra=tls_conf(cert, key, {"tls_required_users": "no"}),
                       rootless=False)
    f = srv.login()
    assert f.pwd() == "/"
    session = descendants_named(srv.pid, "kf-session")
    assert len(session) == 1
    monitors = descendants_named(srv.pid, "kf-monitor")
    assert len(monitors) == 1
    # the scan itself works: the relay spawner loaded the key
    relay = descendants_named(srv.pid, "kf-spawn-relay")
    assert len(relay) == 1
    assert memory_holds(relay[0], needles), "the scan does not find the key at all"
    # the listener and the monitor forked from it never loaded it
    assert not memory_holds(srv.pid, needles), "the listener holds the key"
    assert not memory_holds(monitors[0], needles), "the monitor holds the key"
    assert not memory_holds(session[0], needles), "post-login worker holds the key"
    spawner = descendants_named(srv.pid, "kf-spawn-post")
    assert len(spawner) == 1
    assert not memory_holds(spawner[0], needles), "post-login spawner holds the key"
    prelogin_holds_no_key(srv, needles)
    f.quit()


def test_host_before_auth_tls_carries_over(start_server, certs):
    """RFC 7151 puts HOST before AUTH: the choice survives the switch to the
    worker behind the TLS relay."""
    d = make_base()
    try:
        (d / "v.txt").write_bytes(b"vhost\n")
        srv = tls_server(start_server, certs, vhost=f"ftp.example.test {d}")
        c = TLSRaw(srv.port)
        c.reply()
        assert c.cmd("HOST ftp.example.test").startswith("220")
        assert c.cmd("AUTH TLS").startswith("234 ")
        c.starttls()
        assert c.cmd("HOST other.example.test").startswith("503 ")
        assert c.cmd("USER anonymous").startswith("331 ")
        assert c.cmd("PASS x").startswith("230 ")
        assert c.cmd("SIZE v.txt").startswith("213 6")
        assert c.cmd("REIN").startswith("220 ")
        assert c.cmd("HOST ftp.example.test").startswith("220")   # REIN resets HOST
        c.close()
        assert srv.wait_log(r'login ok: user="anonymous" host="ftp\.example\.test"')
    finally:
        shutil.rmtree(d, ignore_errors=True)
