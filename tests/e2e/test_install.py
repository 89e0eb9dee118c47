"""Install layout, man pages, --help and --version (issue 15, items 1
and 6): keepftpd.conf(5) is what `keepftpd --config-man` prints from the
option table, both pages render without warnings, keepftpd(8) names
every subcommand, `meson install` lays the files out and never
overwrites an existing /etc/keepftpd/keepftpd.conf, and the installed
default configuration passes -t and lets nobody in."""

import ftplib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, IS_ROOT, REPO, TIMEOUT, free_port, make_base

MAN8 = REPO / "man/keepftpd.8"
MAN5 = REPO / "man/keepftpd.conf.5"


def run(*argv, **kw):
    return subprocess.run([BIN, *argv], capture_output=True, text=True,
                          timeout=TIMEOUT, **kw)


def project_version():
    m = re.search(r"version\s*:\s*'([^']+)'", (REPO / "meson.build").read_text())
    return m.group(1)


def test_config_man_is_generated_from_the_table():
    r = run("--config-man")
    assert r.returncode == 0, r.stderr
    assert MAN5.read_text() == r.stdout, \
        "regenerate: keepftpd --config-man > man/keepftpd.conf.5"


def test_config_man_has_every_option():
    doc = run("--config-doc").stdout
    options = re.findall(r"^\| `(\w+)` \|", doc, re.M)
    assert len(options) > 50
    page = MAN5.read_text()
    for o in options:
        assert f"\n.TP\n.B {o}\n" in page, o


@pytest.mark.parametrize("page", [MAN8, MAN5], ids=["keepftpd.8", "keepftpd.conf.5"])
def test_man_page_renders_without_warnings(page):
    r = subprocess.run(["groff", "-ww", "-z", "-man", str(page)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", str(page)],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout + r.stderr == "", r.stdout + r.stderr
    # what man(1) and lintian run
    r = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z",
                        str(page)], capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, MANROFFSEQ="", MANWIDTH="80"))
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_man_pages_carry_the_version():
    v = project_version()
    for page in (MAN8, MAN5):
        th = re.search(r'^\.TH \S+ \d (\S+) "keepftpd ([^"]+)"', page.read_text(), re.M)
        assert th and th.group(2) == v, page
    dates = {re.search(r"^\.TH \S+ \d (\S+)", p.read_text(), re.M).group(1)
             for p in (MAN8, MAN5)}
    assert len(dates) == 1


def test_man8_names_every_subcommand():
    help_text = run("--help").stdout
    commands = set(re.findall(r"keepftpd (serve|user|quota|ban|migrate|[a-z]+)\b",
                              help_text))
    options = set(re.findall(r"(--[a-z-]+|-[a-z])\b", help_text))
    page = MAN8.read_text()
    assert {"serve", "user", "quota", "ban", "migrate"} <= commands
    for c in commands:
        assert re.search(rf"^\.B {c}\b", page, re.M), c
    for o in options:
        assert o.replace("-", r"\-") in page, o


def test_help_and_version():
    r = run("--help")
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.startswith("usage: keepftpd serve")
    assert "keepftpd(8)" in r.stdout and "keepftpd.conf(5)" in r.stdout
    assert run("-h").stdout == r.stdout
    r = run("--version")
    assert r.returncode == 0
    first, second, third = r.stdout.splitlines()
    assert first == f"keepftpd {project_version()}"
    assert second.startswith("built with OpenSSL 3.") and "libsodium" in second
    assert third.startswith("systemd: ")
    r = run("--no-such-option")
    assert r.returncode == 2 and r.stdout == "" and r.stderr.startswith("usage:")


def build_dir():
    d = Path(BIN).parent
    if not (d / "meson-private").is_dir():
        pytest.skip(f"{BIN} is not in a meson build directory")
    return d


@pytest.fixture
def dest():
    d = make_base()
    yield d
    shutil.rmtree(d, ignore_errors=True)


def meson_install(dest):
    return subprocess.run(["meson", "install", "-C", str(build_dir()), "--no-rebuild",
                           "--destdir", str(dest)], capture_output=True, text=True,
                          timeout=120)


def test_meson_install_layout(dest):
    r = meson_install(dest)
    assert r.returncode == 0, r.stdout + r.stderr
    opts = subprocess.run(["meson", "introspect", "--buildoptions", str(build_dir())],
                          capture_output=True, text=True, timeout=60).stdout
    import json
    o = {x["name"]: x["value"] for x in json.loads(opts)}
    prefix, sbindir = o["prefix"], o["sbindir"]
    sbin = f"{prefix}/{sbindir}/keepftpd"
    # the unprivileged image, where the installed keepftpd looks for it
    # (it is not beside keepftpd once installed)
    worker = f"{prefix}/{o['libexecdir']}/keepftpd/keepftpd-worker"
    files = {str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()}
    expect = {
        sbin.lstrip("/"),
        worker.lstrip("/"),
        "etc/keepftpd/keepftpd.conf",
        "etc/pam.d/keepftpd",
        "etc/logrotate.d/keepftpd",
        "etc/fail2ban/filter.d/keepftpd.conf",
        "etc/fail2ban/jail.d/keepftpd.conf",
        f"{prefix}/share/man/man8/keepftpd.8".lstrip("/"),
        f"{prefix}/share/man/man5/keepftpd.conf.5".lstrip("/"),
    }
    assert expect <= files, sorted(files)
    assert f"{prefix}/{sbindir}/keepftpd-worker".lstrip("/") not in files
    assert os.access(dest / worker.lstrip("/"), os.X_OK)
    assert worker.encode() + b"\0" in (dest / sbin.lstrip("/")).read_bytes()
    # the users-database image (users_backend = postgresql), beside it
    pgauth = f"{prefix}/{o['libexecdir']}/keepftpd/keepftpd-pgauth"
    assert os.access(dest / pgauth.lstrip("/"), os.X_OK), sorted(files)
    assert pgauth.encode() + b"\0" in (dest / sbin.lstrip("/")).read_bytes()
    units = [f for f in files if f.endswith("/keepftpd.service")]
    tmpfiles = [f for f in files if re.search(r"tmpfiles\.d/keepftpd\.conf$", f)]
    assert len(units) == 1 and len(tmpfiles) == 1, sorted(files)
    # the unit starts the binary where it was installed
    unit = (dest / units[0]).read_text()
    assert re.search(rf"^ExecStart={re.escape(sbin)} -c /etc/keepftpd/keepftpd.conf$",
                     unit, re.M), unit
    assert "d /run/keepftpd 0755 root root" in (dest / tmpfiles[0]).read_text()
    q = dest / o["localstatedir"].lstrip("/") / "lib/keepftpd/quota"
    assert q.is_dir() and (q.stat().st_mode & 0o777) == 0o700
    assert (dest / "etc/keepftpd/keepftpd.conf").read_text() == \
        (REPO / "data/keepftpd.conf").read_text()
    # issue 16: the logrotate file reopens by SIGUSR1 to the main process
    rot = (dest / "etc/logrotate.d/keepftpd").read_text()
    assert "--kill-whom=main --signal=USR1 keepftpd.service" in rot
    assert "LogsDirectory=keepftpd" in unit


def test_logrotate_file_parses(tmp_path):
    """logrotate -d reads data/logrotate/keepftpd without an error."""
    if not shutil.which("logrotate"):
        pytest.skip("no logrotate")
    r = subprocess.run(["logrotate", "-d", "-s", str(tmp_path / "state"),
                        str(REPO / "data/logrotate/keepftpd")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "error" not in r.stderr.lower(), r.stderr


def test_meson_install_keeps_an_existing_config(dest):
    conf = dest / "etc/keepftpd/keepftpd.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("# mine\nlisten = 127.0.0.1:2\n")
    r = meson_install(dest)
    assert r.returncode == 0, r.stdout + r.stderr
    assert conf.read_text() == "# mine\nlisten = 127.0.0.1:2\n"
    assert list(conf.parent.iterdir()) == [conf]   # no temporary left


def test_installed_default_config_lets_nobody_in(dest):
    """data/keepftpd.conf as installed: -t accepts it, and the server it
    starts (on a free port here) refuses every login."""
    conf = dest / "keepftpd.conf"
    conf.write_text((REPO / "data/keepftpd.conf").read_text())
    conf.chmod(0o644)
    r = run("-t", "-c", str(conf))
    assert r.returncode == 0 and "configuration OK" in r.stdout, r.stderr
    # listen stays the default loopback 2121: never port 21
    assert re.search(r"^listen", conf.read_text(), re.M) is None
    port = free_port()
    log = dest / "server.log"
    with open(log, "wb") as lf:
        p = subprocess.Popen([BIN, "-c", str(conf), "-o", f"listen=127.0.0.1:{port}",
                              "-o", "log=stderr", "-o", f"admin_socket={dest}/a.sock",
                              "-o", "login_fail_delay_ms=0"],
                             stdin=subprocess.DEVNULL, stdout=lf, stderr=lf)
    try:
        for _ in range(250):
            if b" started" in log.read_bytes() or p.poll() is not None:
                break
            subprocess.run(["sleep", "0.02"])
        assert p.poll() is None, log.read_text()
        for user, pw in (("anonymous", "guest@"), ("ftp", "x"), ("root", "x"),
                         ("nobody", "x")):
            f = ftplib.FTP()
            f.connect("127.0.0.1", port, timeout=TIMEOUT)
            with pytest.raises(ftplib.error_perm, match="^530"):
                f.login(user, pw)
            f.close()
    finally:
        p.terminate()
        p.wait(5)
