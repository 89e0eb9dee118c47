"""Before login: banner_file (multi-line 220), HOST (RFC 7151) and virtual
hosts, and REIN (back to the pre-login worker on the same connection).
"""

import ftplib
import os
import shutil
import subprocess

import pytest

from conftest import (BIN, IS_ROOT, MODES, TIMEOUT, descendants_named, make_base,
                      retr_bytes, seed_tree, wait_for)

BANNER = ["Welcome to the test server.", "", "\tIndented line, caf\u00e9.",
          "Last line"]
VHOST_BANNER = ["Virtual host A", "second line of A"]
ONLY_A = b"only in the vhost root\n"



@pytest.fixture
def files():
    """A 0755 directory (readable by uid 65534) for banners and vhost roots."""
    d = make_base()
    yield d
    shutil.rmtree(d, ignore_errors=True)


def write_banner(path, lines, crlf=False):
    sep = "\r\n" if crlf else "\n"
    path.write_bytes((sep.join(lines) + sep).encode("utf-8"))
    path.chmod(0o644)
    return path


def vhost_root(base):
    root = base / "vroot"
    root.mkdir()
    root.chmod(0o755)
    (root / "only-a.txt").write_bytes(ONLY_A)
    (root / "only-a.txt").chmod(0o644)
    return root


def wire(lines):
    """Lines as RawClient shows them (it decodes the UTF-8 bytes as latin-1)."""
    return [s.encode("utf-8").decode("latin-1") for s in lines]


def reply_lines(reply, code):
    """The texts of a multi-line reply, checked for RFC 959 form."""
    lines = reply.split("\n")
    for ln in lines[:-1]:
        assert ln.startswith(code + "-"), reply
    assert lines[-1].startswith(code + " "), reply
    return [ln[4:] for ln in lines]


def expect_perm(f, cmd, code):
    with pytest.raises(ftplib.error_perm, match=rf"^{code} "):
        f.sendcmd(cmd)


@pytest.fixture(params=MODES)
def vsrv(request, start_server, files):
    """A server with one vhost (a.example.test, with a banner file) and a
    greeting from banner_file; as root and rootless."""
    root = vhost_root(files)
    vb = write_banner(files / "a.banner", VHOST_BANNER)
    gb = write_banner(files / "greeting", BANNER, crlf=True)
    srv = start_server(mode="config", rootless=request.param == "rootless", conf_extra={
        "banner_file": str(gb),
        "vhost": f"A.Example.Test {root} {vb}",
    })
    srv.vroot = root
    return srv


# ---------------------------------------------------------------------------
# banner_file

def test_banner_file_multiline(start_server, files):
    b = write_banner(files / "banner", BANNER, crlf=True)
    srv = start_server(mode="config", conf_extra={"banner_file": str(b)})
    c = srv.raw()
    greeting = c.reply()
    assert reply_lines(greeting, "220") == wire(BANNER)
    assert c.cmd("NOOP").startswith("200 ")
    c.close()
    # a real client copes with it
    f = srv.login()
    assert f.getwelcome().startswith("220-Welcome")
    assert f.pwd() == "/"
    f.quit()


def test_banner_single_line_default(srv):
    c = srv.raw()
    assert c.reply() == "220 keepftpd ready."
    c.close()


def check(conf):
    return subprocess.run([BIN, "-t", "-c", str(conf)], capture_output=True, text=True,
                          timeout=TIMEOUT)


def test_banner_file_check_errors(files):
    bad = files / "bad.banner"
    bad.write_bytes(b"fine\n\x1b[31mred\n")
    conf = files / "k.conf"
    conf.write_text("listen = 127.0.0.1:2121\n"
                    f"banner_file = {bad}\n"
                    f"vhost = a.test /srv/a {files / 'missing'}\n"
                    "vhost = A.TEST /srv/b\n"
                    "hide_patterns = *.tmp, sub/x\n"
                    "hash_max_mib = 1048577\n")
    r = check(conf)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert lines == [
        f"{conf}:2: banner_file: '{bad}': control character on line 2",
        f"{conf}:3: vhost: '{files / 'missing'}': cannot read: No such file or directory",
        f"{conf}:5: hide_patterns: pattern 'sub/x' holds '/' (patterns match one name)",
        f"{conf}:6: hash_max_mib: 1048577 is out of range (0..1048576)",
    ], r.stderr
    # line 4 is fine on its own: the duplicate is a.test of line 3, which failed
    conf.write_text("listen = 127.0.0.1:2121\n"
                    "vhost = a.test /srv/a\n"
                    "vhost = A.TEST /srv/b\n")
    r = check(conf)
    assert r.returncode == 1
    assert r.stderr == f"{conf}:3: vhost: virtual host 'a.test' is given twice\n"


def test_new_options_check_ok(files):
    b = write_banner(files / "b", ["hi"])
    conf = files / "k.conf"
    conf.write_text("listen = 127.0.0.1:2121\n"
                    f"banner_file = {b}\n"
                    "message_enable = yes\n"
                    "list_recursive = yes\n"
                    "hash_max_mib = 0\n"
                    "hide_patterns = *.tmp, .git\n"
                    "deny_patterns = .htpasswd\n"
                    f"vhost = ftp.example.com /srv/ftp {b}\n"
                    "vhost = [2001:db8::1] /srv/v6\n")
    r = check(conf)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{conf}: configuration OK\n"


# ---------------------------------------------------------------------------
# HOST

def test_host_known_vhost_banner_and_anon_root(vsrv):
    c = vsrv.raw()
    assert reply_lines(c.reply(), "220") == wire(BANNER)
    # compared without case, the vhost's own banner as a multi-line 220
    assert reply_lines(c.cmd("HOST a.EXAMPLE.test"), "220") == VHOST_BANNER
    assert c.cmd("USER anonymous").startswith("331 ")
    assert c.cmd("PASS guest@example.com").startswith("230 ")
    c.close()
    assert vsrv.wait_log(r'login ok: user="anonymous" host="a\.example\.test" root="' +
                         str(vsrv.vroot) + '"')

    f = vsrv.connect()
    assert f.sendcmd("HOST a.example.test").startswith("220")
    f.login("anonymous", "guest@example.com")
    assert retr_bytes(f, "only-a.txt") == ONLY_A
    expect_perm(f, "SIZE hello.txt", "550")    # the default anon root's file
    f.quit()


def test_anon_without_host_uses_default_root(vsrv):
    f = vsrv.anon_login()
    assert retr_bytes(f, "hello.txt") == b"hello world\n"
    expect_perm(f, "SIZE only-a.txt", "550")
    f.quit()


def test_host_unknown_504_session_continues(vsrv):
    c = vsrv.raw()
    c.reply()
    assert c.cmd("HOST nowhere.test").startswith("504 ")
    assert c.cmd("NOOP").startswith("200 ")
    # still before USER: a known host may follow
    assert reply_lines(c.cmd("HOST a.example.test"), "220") == VHOST_BANNER
    assert c.cmd("QUIT").startswith("221 ")
    c.close()
    # and a login after the 504 gets the default host
    f = vsrv.connect()
    expect_perm(f, "HOST nowhere.test", "504")
    f.login("anonymous", "x@y")
    assert retr_bytes(f, "hello.txt") == b"hello world\n"
    f.quit()


def test_host_after_user_503_and_only_once(vsrv):
    c = vsrv.raw()
    c.reply()
    assert c.cmd("USER anonymous").startswith("331 ")
    assert c.cmd("HOST a.example.test").startswith("503 ")
    c.close()

    c = vsrv.raw()
    c.reply()
    assert c.cmd("HOST a.example.test").startswith("220")
    assert c.cmd("HOST a.example.test").startswith("503 ")
    # a failed login does not reopen HOST
    assert c.cmd("USER nosuchuser").startswith("331 ")
    assert c.cmd("PASS wrong").startswith("530 ")
    assert c.cmd("HOST a.example.test").startswith("503 ")
    c.close()


@pytest.mark.parametrize("arg", ["a_b.test", "a b", "x/y", "caf\u00e9.test",
                                 "h" * 256])
def test_host_bad_argument_501(vsrv, arg):
    c = vsrv.raw()
    c.reply()
    c.send(("HOST " + arg + "\r\n").encode("utf-8"))
    assert c.reply().startswith("501 ")
    assert c.cmd("HOST").startswith("501 ")
    assert c.cmd("HOST a.example.test").startswith("220")
    c.close()


@pytest.mark.parametrize("cmd", ["RETR only-a.txt", "LIST", "CWD /", "STOR x",
                                 "PASV", "REIN", "MLSD", "HASH only-a.txt"])
def test_host_does_not_log_in(vsrv, cmd):
    c = vsrv.raw()
    c.reply()
    assert c.cmd("HOST a.example.test").startswith("220")
    assert c.cmd(cmd).startswith("530 ")
    assert c.cmd("NOOP").startswith("200 ")
    c.close()
    assert not (vsrv.vroot / "x").exists()


def test_host_without_vhosts(srv):
    c = srv.raw()
    c.reply()
    assert c.cmd("HOST whatever.example") == "220 keepftpd ready."
    assert c.cmd("HOST other.example").startswith("503 ")
    assert c.cmd("USER anonymous").startswith("331 ")
    assert c.cmd("PASS x@y").startswith("230 ")
    c.close()
    assert srv.wait_log(r'login ok: user="anonymous" host=- root="')
    assert "is not a configured vhost" not in srv.log()


def test_feat_lists_host_and_utf8_before_login(srv):
    c = srv.raw()
    c.reply()
    feat = c.cmd("FEAT").split("\n")
    assert feat[0].startswith("211-") and feat[-1].startswith("211 ")
    lines = [ln.strip() for ln in feat[1:-1]]
    for want in ("HOST", "UTF8", "EPSV"):
        assert want in lines, feat
    assert c.cmd("OPTS UTF8 ON").startswith("200 ")
    assert c.cmd("OPTS NOSUCH").startswith("501 ")
    assert c.cmd("ACCT x").startswith("202 ")
    c.close()


# ---------------------------------------------------------------------------
# REIN

def sessions_of(srv, name):
    return set(descendants_named(srv.pid, name))


def test_rein_back_to_login(vsrv):
    f = vsrv.login()
    first = wait_for(lambda: sessions_of(vsrv, "kf-session"))
    assert first
    assert f.sendcmd("REIN").startswith("220 ")
    # a new pre-login worker, no new greeting; the old session is gone
    assert wait_for(lambda: sessions_of(vsrv, "kf-prelogin"))
    assert wait_for(lambda: not (sessions_of(vsrv, "kf-session") & first))
    expect_perm(f, "RETR hello.txt", "530")
    assert f.sendcmd("NOOP").startswith("200 ")
    # HOST is allowed again, and the anonymous login lands in the vhost
    assert f.sendcmd("HOST a.example.test").startswith("220")
    f.login("anonymous", "guest@example.com")
    second = wait_for(lambda: sessions_of(vsrv, "kf-session"))
    assert second and not (second & first)
    assert not sessions_of(vsrv, "kf-prelogin")
    assert retr_bytes(f, "only-a.txt") == ONLY_A
    f.quit()
    assert vsrv.wait_log(r'rein: user="alice" logged out, back to login \(rein 1')
    assert vsrv.wait_log(r'login ok: user="anonymous" host="a\.example\.test"')


def test_rein_keeps_failure_count(start_server):
    srv = start_server(mode="config", rootless=not IS_ROOT,
                       conf_extra={"max_login_failures": "3"})
    c = srv.raw()
    c.reply()
    for _ in range(2):
        assert c.cmd("USER alice").startswith("331 ")
        assert c.cmd("PASS wrong").startswith("530 ")
    assert c.cmd("USER alice").startswith("331 ")
    assert c.cmd(f"PASS {srv.password}").startswith("230 ")
    assert c.cmd("REIN").startswith("220 ")
    # the third failure of the connection ends it, REIN or not
    assert c.cmd("USER alice").startswith("331 ")
    reply = c.cmd("PASS wrong")
    assert reply.startswith("530 ")
    assert c.reply().startswith("421 ")
    assert c.closed()
    c.close()


def test_rein_repeated(srv):
    c = srv.raw()
    c.reply()
    for i in range(3):
        assert c.cmd("USER alice").startswith("331 ")
        assert c.cmd(f"PASS {srv.password}").startswith("230 ")
        assert c.cmd("PWD").startswith("257 ")
        assert c.cmd("REIN").startswith("220 ")
        assert c.cmd("PWD").startswith("530 ")
    assert c.cmd("QUIT").startswith("221 ")
    c.close()
    assert srv.wait_log(r'rein: user="alice" logged out, back to login \(rein 3')


def test_rein_bounded(rsrv):
    c = rsrv.raw()
    c.reply()
    for _ in range(100):
        c.send("USER anonymous\r\nPASS x@y\r\n")
        assert c.reply().startswith("331 ")
        assert c.reply().startswith("230 ")
        assert c.cmd("REIN").startswith("220 ")
    c.send("USER anonymous\r\nPASS x@y\r\n")
    assert c.reply().startswith("331 ")
    assert c.reply().startswith("230 ")
    # the 101st REIN is answered by the worker, then the monitor ends it
    assert c.cmd("REIN").startswith("220 ")
    assert c.reply().startswith("421 ")
    assert c.closed()
    c.close()
    assert rsrv.wait_log(r"more than 100 REIN, session ended")
