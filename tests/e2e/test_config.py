"""Config mode: -t, -o, SIGHUP, SIGTERM."""

import os
import re
import signal
import subprocess

import pytest

from conftest import (BIN, IS_ROOT, REPO, TIMEOUT, RawClient, descendants_named,
                      make_base, proc_status, wait_for)


def check(conf, *extra):
    return subprocess.run([BIN, "-t", "-c", str(conf), *extra], capture_output=True,
                          text=True, timeout=TIMEOUT)


@pytest.fixture
def cdir():
    d = make_base()
    yield d
    import shutil
    shutil.rmtree(d, ignore_errors=True)


def test_check_good(cdir):
    conf = cdir / "good.conf"
    conf.write_text("# a comment\n"
                    "\n"
                    "listen = 127.0.0.1:2121\n"
                    "listen = [::1]:2121\n"
                    "max_clients = 10\n"
                    "pasv_min_port = 40000\n"
                    "pasv_max_port = 40100\n"
                    "anonymous_enable = no\n"
                    "banner = \"  hi  \"\n"
                    "log = stderr\n"
                    "log_level = debug\n")
    r = check(conf)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{conf}: configuration OK\n"
    assert r.stderr == ""


def test_check_example_config(cdir):
    example = cdir / "keepftpd.conf"
    example.write_text((REPO / "keepftpd.conf.example").read_text())
    r = check(example)
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith(": configuration OK\n")


# ---------------------------------------------------------------------------
# issue 12 item 20: the example's defaults come from the option table

def doc_defaults():
    """{option: default} from the table `keepftpd --config-doc` prints."""
    r = subprocess.run([BIN, "--config-doc"], capture_output=True, text=True,
                       timeout=TIMEOUT)
    out = {}
    for m in re.finditer(r"^\| `(\w+)` \| [^|]+ \| (?:`([^`]*)`|\*\(empty\)\*) \|",
                         r.stdout, re.M):
        out[m.group(1)] = m.group(2) or ""
    assert len(out) > 60
    return out


def test_example_is_generated_from_the_table():
    r = subprocess.run([BIN, "--config-example"], capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert r.returncode == 0
    assert (REPO / "keepftpd.conf.example").read_text() == r.stdout, \
        "regenerate: keepftpd --config-example > keepftpd.conf.example"


def test_example_commented_lines_hold_the_defaults(cdir):
    defaults = doc_defaults()
    text = (REPO / "keepftpd.conf.example").read_text()
    shown, chosen = {}, {}
    for line in text.splitlines():
        m = re.match(r"^#(\w+) =(?: (.*))?$", line)
        if m and m.group(1) in defaults:
            assert m.group(1) not in shown, line
            shown[m.group(1)] = m.group(2) or ""
        m = re.match(r"^(\w+) = (.*)$", line)
        if m:
            chosen[m.group(1)] = m.group(2)
    # every option once, commented with its default or set and explained
    assert set(shown) | set(chosen) == set(defaults)
    assert not set(shown) & set(chosen)
    for key, value in shown.items():
        assert value == defaults[key], (key, value, defaults[key])
    for key in chosen:
        assert f"# default: {defaults[key]}\n{key} = " in text
    # the cases of the issue: these are not `yes` by default
    assert shown["tls_prot_required_users"] == "no"
    assert shown["tls_required_users"] == "auto"
    # uncommented as they stand, the lines change nothing and pass -t
    conf = cdir / "all.conf"
    conf.write_text("".join(f"{k} = {v}\n" for k, v in shown.items()))
    r = check(conf)
    assert r.returncode == 0, r.stderr


# ---------------------------------------------------------------------------
# issue 12 item 20, the decision: a server with a certificate takes
# password logins only over TLS unless told otherwise

def test_certificate_requires_tls_for_password_logins_by_default(start_server):
    from tls_helpers import make_cert, tls_login
    d = make_base()
    try:
        cert, key = make_cert(d)
        srv = start_server(conf_extra={"tls_cert": str(cert), "tls_key": str(key)},
                           rootless=not IS_ROOT)
        c = RawClient(srv.port)
        c.reply()
        assert c.cmd(f"USER {srv.user}").startswith("530 TLS required")
        assert c.cmd("USER anonymous").startswith("331")
        assert c.cmd("PASS x").startswith("230")
        c.close()
        f = tls_login(srv)
        assert f.pwd() == "/"
        f.quit()
        # `no` allows plain-text logins beside FTPS
        plain = start_server(conf_extra={"tls_cert": str(cert), "tls_key": str(key),
                                         "tls_required_users": "no"},
                             rootless=not IS_ROOT)
        f = plain.login()
        f.quit()
    finally:
        import shutil
        shutil.rmtree(d, ignore_errors=True)


def test_tls_required_users_auto_without_certificate_is_no(cdir):
    conf = cdir / "plain.conf"
    conf.write_text("listen = 127.0.0.1:2121\ntls_required_users = auto\n")
    assert check(conf).returncode == 0
    conf.write_text("listen = 127.0.0.1:2121\ntls_required_users = yes\n")
    r = check(conf)
    assert r.returncode == 1 and "tls_cert is empty" in r.stderr


def test_check_bad_value_line_numbers(cdir):
    conf = cdir / "bad.conf"
    conf.write_text("# line 1\n"
                    "listen = 127.0.0.1:2121\n"
                    "max_clients = abc\n"
                    "frobnicate = 1\n"
                    "pasv_min_port = 80\n")
    r = check(conf)
    assert r.returncode == 1
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 3, r.stderr
    assert lines[0].startswith(f"{conf}:3: ") and "max_clients" in lines[0]
    assert lines[1].startswith(f"{conf}:4: ") and "frobnicate" in lines[1]
    assert lines[2].startswith(f"{conf}:5: ") and "pasv_min_port" in lines[2]


def test_check_unknown_key(cdir):
    conf = cdir / "unknown.conf"
    conf.write_text("listen = 127.0.0.1:2121\nno_such_option = yes\n")
    r = check(conf)
    assert r.returncode == 1
    assert r.stderr.startswith(f"{conf}:2: ")
    assert "no_such_option" in r.stderr


@pytest.mark.parametrize("line", [
    "pasv_max_port = 70000",
    "pasv_min_port = 1023",
    "max_clients = 0",
    "idle_timeout = 0",
    "listen = 127.0.0.1:99999",
    "anon_write = maybe",
    "umask = 0999",
    "log_level = loud",
    "log = nowhere",
])
def test_check_out_of_range(cdir, line):
    conf = cdir / "range.conf"
    conf.write_text(f"# x\n{line}\n")
    r = check(conf)
    assert r.returncode == 1
    assert r.stdout == ""
    key = line.split()[0]
    assert r.stderr.startswith(f"{conf}:2: "), r.stderr
    assert key in r.stderr


def test_check_command_line_errors(cdir):
    conf = cdir / "ok.conf"
    conf.write_text("listen = 127.0.0.1:2121\n")
    r = check(conf, "-o", "max_clients=0")
    assert r.returncode == 1
    assert r.stderr.startswith("command line: ")
    assert "max_clients" in r.stderr
    r = check(conf, "-o", "bogus_key=1")
    assert r.returncode == 1
    assert r.stderr.startswith("command line: ")
    r = check(conf, "-o", "max_clients=7")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{conf}: configuration OK\n"


def test_config_doc():
    r = subprocess.run([BIN, "--config-doc"], capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0
    for key in ("listen", "max_clients", "pasv_min_port", "anon_root", "users_file",
                "login_fail_delay_ms", "pwhash_memlimit_kib", "log_level"):
        assert f"`{key}`" in r.stdout


def greeting(srv):
    c = RawClient(srv.port)
    g = c.reply()
    c.send("QUIT\r\n")
    c.close()
    return g


def set_conf(srv, key, value):
    lines = [ln for ln in srv.conf.read_text().splitlines()
             if not ln.startswith(f"{key} ")]
    lines.append(f"{key} = {value}")
    srv.conf.write_text("\n".join(lines) + "\n")


def test_sighup_reload_banner(start_server):
    srv = start_server(conf_extra={"banner": "first banner"})
    assert greeting(srv) == "220 first banner"
    # a session open across the reload keeps working
    f = srv.login()
    set_conf(srv, "banner", "second banner")
    os.kill(srv.pid, signal.SIGHUP)
    assert wait_for(lambda: greeting(srv) == "220 second banner", timeout=5)
    assert f.sendcmd("NOOP").startswith("200 ")
    f.quit()
    assert srv.proc.poll() is None


def anon_session_uid(srv):
    f = srv.anon_login()
    workers = wait_for(lambda: descendants_named(srv.pid, "kf-session"))
    uid = int(proc_status(workers[0])["Uid"].split()[0])
    f.quit()
    wait_for(lambda: not descendants_named(srv.pid, "kf-session"))
    return uid


@pytest.mark.skipif(not IS_ROOT, reason="anon_user applies when started as root")
def test_sighup_looks_anon_user_up_again(start_server):
    """The listener looks anon_user up once (monitors inherit the ids);
    SIGHUP with another name gives new anonymous sessions its identity."""
    import pwd
    srv = start_server(rootless=False, conf_extra={"anon_user": "nobody"})
    assert anon_session_uid(srv) == pwd.getpwnam("nobody").pw_uid
    set_conf(srv, "anon_user", "daemon")
    os.kill(srv.pid, signal.SIGHUP)
    assert srv.wait_log(r"configuration reloaded")
    assert anon_session_uid(srv) == pwd.getpwnam("daemon").pw_uid


def test_sighup_bad_config_keeps_serving(start_server):
    srv = start_server(conf_extra={"banner": "good banner"})
    assert greeting(srv) == "220 good banner"
    before = srv.log()
    srv.conf.write_text(srv.conf.read_text() + "banner = duplicate\nwhat_is_this = 1\n")
    os.kill(srv.pid, signal.SIGHUP)
    assert wait_for(lambda: len(srv.log()) > len(before) and
                    "error" in srv.log()[len(before):], timeout=5), srv.log()
    assert srv.proc.poll() is None
    assert greeting(srv) == "220 good banner"
    f = srv.login()
    assert f.sendcmd("NOOP").startswith("200 ")
    f.quit()


def test_sigterm_ends_sessions_with_421(start_server):
    srv = start_server()
    c = RawClient(srv.port)
    assert c.reply().startswith("220")
    assert c.cmd(f"USER {srv.user}").startswith("331")
    assert c.cmd(f"PASS {srv.password}").startswith("230")
    pre = RawClient(srv.port)  # a session still before login
    assert pre.reply().startswith("220")
    os.kill(srv.pid, signal.SIGTERM)
    assert c.reply().startswith("421")
    assert c.closed(timeout=5)
    assert pre.reply().startswith("421")
    assert pre.closed(timeout=5)
    assert srv.proc.wait(10) == 0
    c.close()
    pre.close()


def test_sigterm_idle_listener_exits_0(start_server):
    srv = start_server(mode="quick")
    os.kill(srv.pid, signal.SIGTERM)
    assert srv.proc.wait(10) == 0


# ---------------------------------------------------------------------------
# issue 12 item 4: v4-mapped entries in address lists are IPv4 entries

def first_reply_from(srv, src):
    c = RawClient(srv.port, src=src)
    try:
        return c.reply()
    except (EOFError, ConnectionResetError):
        return "closed"
    finally:
        c.close()


@pytest.mark.parametrize("conf,ok_from,refused", [
    ({"deny_from": "::ffff:127.0.0.5"}, "127.0.0.1", "127.0.0.5"),
    ({"deny_from": "::ffff:127.0.0.4/126"}, "127.0.0.3", "127.0.0.6"),
    ({"allow_from": "::ffff:127.0.0.0/120"}, "127.0.0.9", "127.0.1.1"),
])
def test_v4mapped_address_list_entries_match_ipv4_clients(start_server, conf,
                                                          ok_from, refused):
    srv = start_server(conf_extra=conf)
    assert first_reply_from(srv, refused) == "421 Access denied."
    assert first_reply_from(srv, ok_from).startswith("220")


def test_v4mapped_user_deny_from_matches_ipv4_client(start_server):
    import ftplib
    from conftest import PASSWORD, user_add
    srv = start_server()
    r = user_add(srv.users, "mapped", PASSWORD, srv.home,
                 extra=["--deny-from", "::ffff:127.0.0.1"])
    assert r.returncode == 0, r.stderr
    f = srv.connect()
    with pytest.raises(ftplib.error_perm, match="^530"):
        f.login("mapped", PASSWORD)
    f.close()
    assert srv.wait_log(r"reason=user-deny-from user=\"mapped\"")
    f = ftplib.FTP(timeout=TIMEOUT, source_address=("127.0.0.2", 0))
    f.connect("127.0.0.1", srv.port)
    assert f.login("mapped", PASSWORD).startswith("230")
    f.quit()


# ---------------------------------------------------------------------------
# issue 12 item 5: a SIGHUP whose TLS part does not load keeps the whole
# old configuration (never old TLS contexts beside new options)

def _tls_reload_server(start_server, tls, extra):
    conf = {"tls_cert": str(tls["cert"]), "tls_key": str(tls["key"]),
            "banner": "old banner"}
    conf.update(extra)
    return start_server(conf_extra=conf, rootless=not IS_ROOT)


def _rewrite(srv, drop, **settings):
    lines = [ln for ln in srv.conf.read_text().splitlines()
             if ln.split(" ")[0] not in set(drop) | set(settings)]
    lines += [f"{k} = {v}" for k, v in settings.items()]
    srv.conf.write_text("\n".join(lines) + "\n")


def _hup(srv, pattern):
    before = len(srv.log())
    os.kill(srv.pid, signal.SIGHUP)
    assert wait_for(lambda: re.search(pattern, srv.log()[before:]), timeout=5), \
        srv.log()[before:]
    return srv.log()[before:]


def _tls12_handshake(srv):
    """True when a TLS 1.2 client completes AUTH TLS."""
    import ssl
    from tls_helpers import TLS12, TLSRaw, client_ctx
    c = TLSRaw(srv.port)
    try:
        c.reply()
        assert c.cmd("AUTH TLS").startswith("234 ")
        c.starttls(ctx=client_ctx(max_version=TLS12))
        return c.cmd("NOOP").startswith("200")
    except (ssl.SSLError, ConnectionResetError, EOFError):
        return False
    finally:
        c.close()


def _cert_login(srv, pki):
    """The reply to PASS (empty password) after a handshake with alice's
    client certificate."""
    from tls_helpers import TLSRaw, client_ctx
    ctx = client_ctx()
    ctx.load_cert_chain(str(pki["cert"]), str(pki["key"]))
    c = TLSRaw(srv.port)
    try:
        c.reply()
        assert c.cmd("AUTH TLS").startswith("234 ")
        c.starttls(ctx=ctx)
        r = c.cmd(f"USER {srv.user}")
        if r.startswith("230"):
            return r
        return c.cmd("PASS ")
    finally:
        c.close()


@pytest.fixture(scope="module")
def tls_files():
    from tls_helpers import make_ca_and_client, make_cert
    d = make_base()
    cert, key = make_cert(d / "a", cn="localhost")
    _, other_key = make_cert(d / "b", cn="other")
    ca, ccert, ckey = make_ca_and_client(d / "ca", "alice")
    yield {"cert": cert, "key": key, "other_key": other_key, "ca": ca,
           "pki": {"cert": ccert, "key": ckey}}
    import shutil
    shutil.rmtree(d, ignore_errors=True)


def test_sighup_bad_key_keeps_client_ca_and_whole_old_config(start_server, tls_files):
    srv = _tls_reload_server(start_server, tls_files,
                             {"tls_client_ca": str(tls_files["ca"]),
                              "tls_client_cert_login": "yes"})
    assert _cert_login(srv, tls_files["pki"]).startswith("230")
    # the new file drops the client CA, changes the banner, and names a
    # key that does not match the certificate
    _rewrite(srv, ["tls_client_ca", "tls_client_cert_login"],
             tls_key=tls_files["other_key"], banner="new banner")
    _hup(srv, r"does not match")
    assert greeting(srv) == "220 old banner"
    assert _cert_login(srv, tls_files["pki"]).startswith("230")
    assert srv.wait_log(r"keeping the whole old configuration")
    assert not srv.wait_log(r"configuration reloaded", timeout=0.2)
    # with the right key the new configuration applies as a whole
    _rewrite(srv, [], tls_key=tls_files["key"])
    _hup(srv, r"configuration reloaded")
    assert greeting(srv) == "220 new banner"
    assert _cert_login(srv, tls_files["pki"]).startswith("530")


def test_sighup_bad_key_keeps_tls_min_and_whole_old_config(start_server, tls_files):
    srv = _tls_reload_server(start_server, tls_files, {})
    assert _tls12_handshake(srv)
    _rewrite(srv, [], tls_min="1.3", tls_key=tls_files["other_key"],
             banner="new banner")
    _hup(srv, r"does not match")
    assert greeting(srv) == "220 old banner"
    assert _tls12_handshake(srv)
    assert srv.wait_log(r"keeping the whole old configuration")
    _rewrite(srv, [], tls_key=tls_files["key"])
    _hup(srv, r"configuration reloaded")
    assert greeting(srv) == "220 new banner"
    assert not _tls12_handshake(srv)
