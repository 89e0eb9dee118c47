"""The shipped fail2ban filter and jail (data/fail2ban/, issue 12, item 19),
loaded by Debian's fail2ban itself: fail2ban-regex against the log of a
real server with real failed logins, one of them with a user name that
tries to plant another address; fail2ban-client -t on the jail."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO

F2B = Path("/etc/fail2ban")
PLANTED = "10.9.8.7"


def need_fail2ban():
    if not shutil.which("fail2ban-regex") or not (F2B / "filter.d/common.conf").exists():
        pytest.skip("fail2ban not installed (scripts/deps.sh installs it)")


def fail(srv, user, password="wrong"):
    c = srv.raw()
    assert c.reply().startswith("220")
    assert c.cmd(f"USER {user}")[:1] in "35"
    assert c.cmd(f"PASS {password}").startswith("530")
    c.close()


def test_filter_bans_the_client_and_only_it(start_server, tmp_path):
    need_fail2ban()
    srv = start_server(mode="config", conf_extra={"login_fail_delay_ms": "0"})
    fail(srv, srv.user)
    fail(srv, "nosuchuser")
    fail(srv, f"x from={PLANTED} failures=1 reason=bad-credentials user=y")
    fail(srv, f'q" from={PLANTED} \\" from={PLANTED}')
    fail(srv, f"] login failed: from={PLANTED} failures=1")
    srv.login().quit()                  # a good login: not matched
    assert srv.wait_log(r"login ok: ")
    log = tmp_path / "keepftpd.log"
    lines = srv.log().splitlines()
    failed = [l for l in lines if " login failed: " in l]
    assert len(failed) == 5
    log.write_text("\n".join(lines) + "\n")
    # the filter next to Debian's own common.conf, as under /etc/fail2ban
    fdir = tmp_path / "filter.d"
    fdir.mkdir()
    shutil.copy(F2B / "filter.d/common.conf", fdir)
    shutil.copy(REPO / "data/fail2ban/filter.d/keepftpd.conf", fdir)
    r = subprocess.run(["fail2ban-regex", "-o", "ip", str(log),
                        str(fdir / "keepftpd.conf")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["127.0.0.1"] * 5, r.stdout
    assert PLANTED not in r.stdout


def test_jail_loads(tmp_path):
    need_fail2ban()
    if not shutil.which("fail2ban-client"):
        pytest.skip("fail2ban-client not installed")
    conf = tmp_path / "fail2ban"
    shutil.copytree(F2B, conf, symlinks=True)
    # only our jail: Debian's default one (sshd) wants a log file
    for p in (conf / "jail.d").iterdir():
        p.unlink()
    shutil.copy(REPO / "data/fail2ban/filter.d/keepftpd.conf", conf / "filter.d")
    jail = (REPO / "data/fail2ban/jail.d/keepftpd.conf").read_text()
    assert "enabled  = false" in jail           # an example: off until chosen
    (conf / "jail.d/keepftpd.conf").write_text(
        jail.replace("enabled  = false", "enabled  = true"))
    log = tmp_path / "k.log"
    log.write_text("")
    # the test machine has no journal to read: a log file instead
    (conf / "jail.d/zz-test.local").write_text(
        f"[keepftpd]\nbackend = auto\nlogpath = {log}\n")
    r = subprocess.run(["fail2ban-client", "-c", str(conf), "-t"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["fail2ban-client", "-c", str(conf), "-d"],
                       capture_output=True, text=True, timeout=120)
    assert "['add', 'keepftpd', 'auto']" in r.stdout, r.stdout + r.stderr


def test_security_md_shows_the_shipped_failregex():
    import re
    rx = re.compile(r"^failregex = .+$", re.M)
    shipped = rx.findall((REPO / "data/fail2ban/filter.d/keepftpd.conf").read_text())
    doc = rx.findall((REPO / "docs/SECURITY.md").read_text())
    assert shipped and doc == shipped
