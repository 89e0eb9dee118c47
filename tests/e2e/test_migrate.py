"""keepftpd migrate (issue 15, item 7): a vsftpd.conf translated into a
keepftpd.conf that keepftpd -t accepts, every option not translated named
in the output and on stderr. Test data: Debian 12's /etc/vsftpd.conf
(vsftpd 3.0.3-13+b2, as shipped) and three production-like configs in
tests/e2e/data/vsftpd/ (@ROOT@, @CERT@, ... are filled in here)."""

import ftplib
import re
import shutil
import subprocess

import pytest

from conftest import (BIN, IS_ROOT, REPO, TIMEOUT, chown_tree, free_port,
                      make_base, pasv_range, seed_tree)
from tls_helpers import make_cert

DATA = REPO / "tests/e2e/data/vsftpd"
SUBS = {}   # per test directory: what @ROOT@, @CERT@, ... stand for
CONFIGS = ["debian-12-default.conf", "anon-download.conf", "ftps-users.conf",
           "implicit-mixed.conf"]


@pytest.fixture
def mdir():
    d = make_base()
    seed_tree(d / "pub")
    chown_tree(d / "pub")
    cert, key = make_cert(d / "tls")
    lo, hi = pasv_range()
    SUBS[str(d)] = {"@ROOT@": str(d), "@CERT@": str(cert), "@KEY@": str(key),
              "@PORT@": str(free_port()), "@PASVLO@": str(lo), "@PASVHI@": str(hi)}
    yield d
    SUBS.pop(str(d), None)
    shutil.rmtree(d, ignore_errors=True)


def vsftpd_conf(mdir, name):
    text = (DATA / name).read_text()
    for k, v in SUBS[str(mdir)].items():
        text = text.replace(k, v)
    path = mdir / name
    path.write_text(text)
    return path


def migrate(path):
    return subprocess.run([BIN, "migrate", str(path)], capture_output=True, text=True,
                          timeout=TIMEOUT)


def check(mdir, text, name="keepftpd.conf"):
    conf = mdir / name
    conf.write_text(text)
    conf.chmod(0o644)
    return subprocess.run([BIN, "-t", "-c", str(conf)], capture_output=True, text=True,
                          timeout=TIMEOUT)


def settings(text):
    """{key: value} of the uncommented lines."""
    out = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip()
    return out


def not_translated(r):
    """The vsftpd options named on stderr and in the output's comments."""
    err = set(re.findall(r": (\w+)=\S* \([^)]*\): not translated:", r.stderr))
    err |= {m for m in re.findall(r":(\d+): not translated", r.stderr)}
    out = set(re.findall(r"^# NOT TRANSLATED: (\w+)=", r.stdout, re.M))
    out |= set(re.findall(r"^# NOT TRANSLATED: line (\d+):", r.stdout, re.M))
    return err, out


@pytest.mark.parametrize("name", CONFIGS)
def test_every_output_passes_check(mdir, name):
    r = migrate(vsftpd_conf(mdir, name))
    assert r.returncode == 0, r.stderr
    c = check(mdir, r.stdout)
    assert c.returncode == 0, f"{c.stdout}{c.stderr}\n--- output:\n{r.stdout}"
    assert "configuration OK" in c.stdout
    err, out = not_translated(r)
    assert err == out, r.stderr + r.stdout
    n = len(re.findall(r"^# NOT TRANSLATED", r.stdout, re.M))
    if n:
        assert f"{n} option{'s' if n > 1 else ''} not translated" in r.stderr


def test_debian_default(mdir):
    r = migrate(DATA / "debian-12-default.conf")
    s = settings(r.stdout)
    # listen=NO, listen_ipv6=YES: vsftpd's dual-stack [::]:21
    assert s["listen"] == "0.0.0.0:21, [::]:21"
    assert s["anonymous_enable"] == "no"
    assert s["pam_enable"] == "yes"
    assert s["pam_write"] == "no"          # write_enable's default
    assert s["umask"] == "077"             # local_umask's default
    assert s["message_enable"] == "yes"
    assert "tls_cert" not in s             # ssl_enable=NO
    err, _ = not_translated(r)
    assert err == {"use_localtime", "xferlog_enable", "chroot_local_user"}
    assert "# vsftpd listen_ipv6=YES (line 22)" in r.stdout


def test_anonymous_mirror_serves(mdir):
    """The translated mirror config runs: anonymous download, no upload, the
    banner, the rate and the hidden names as vsftpd had them."""
    r = migrate(vsftpd_conf(mdir, "anon-download.conf"))
    s = settings(r.stdout)
    assert s["anon_root"] == f"{mdir}/pub"
    assert s["anon_download_rate"] == s["anon_upload_rate"] == "2097152"
    assert s["hide_patterns"] == "*.tmp, .in.*"
    assert s["max_clients"] == "500" and s["max_per_ip"] == "4"
    assert "anon_write" not in s
    (mdir / "pub" / "x.tmp").write_bytes(b"t")
    conf = mdir / "keepftpd.conf"
    conf.write_text(r.stdout)
    conf.chmod(0o644)
    port = int(SUBS[str(mdir)]["@PORT@"])
    extra = ["-o", "log=stderr", "-o", f"admin_socket={mdir}/admin.sock"]
    if not IS_ROOT:
        extra += ["-o", "anon_user="]  # rootless: sessions run as the caller
    log = open(mdir / "server.log", "wb")
    p = subprocess.Popen([BIN, "-c", str(conf), *extra], stdin=subprocess.DEVNULL,
                         stdout=log, stderr=log)
    try:
        for _ in range(250):
            if b" started" in (mdir / "server.log").read_bytes() or p.poll() is not None:
                break
            subprocess.run(["sleep", "0.02"])
        assert p.poll() is None, (mdir / "server.log").read_text()
        f = ftplib.FTP()
        welcome = f.connect("127.0.0.1", port, timeout=TIMEOUT)
        assert "Welcome to the example.org mirror." in welcome
        f.login("anonymous", "guest@example.com")
        got = []
        f.retrbinary("RETR hello.txt", got.append)
        assert b"".join(got) == b"hello world\n"
        assert "x.tmp" not in f.nlst()
        with pytest.raises(ftplib.error_perm):
            f.storbinary("STOR up.bin", __import__("io").BytesIO(b"no"))
        f.quit()
    finally:
        p.terminate()
        p.wait(5)
        log.close()


def test_ftps_users(mdir):
    r = migrate(vsftpd_conf(mdir, "ftps-users.conf"))
    s = settings(r.stdout)
    assert s["tls_cert"] == SUBS[str(mdir)]["@CERT@"] and s["tls_key"] == SUBS[str(mdir)]["@KEY@"]
    assert s["tls_required_users"] == "yes"
    assert s["tls_prot_required_users"] == "yes"
    assert s["tls_data_reuse_required"] == "no"
    assert s["pasv_min_port"] == "50000" and s["pasv_max_port"] == "50100"
    assert s["pasv_address"] == "198.51.100.7"
    assert s["umask"] == "022" and s["pam_write"] == "yes"
    assert s["login_fail_delay_ms"] == "3000" and s["max_login_failures"] == "5"
    assert s["log"] == "syslog"
    c = check(mdir, r.stdout)
    assert "(TLS certificate and key load and match)" in c.stdout
    err, _ = not_translated(r)
    assert err == {"userlist_enable", "userlist_file", "userlist_deny", "ssl_ciphers",
                   "use_localtime"}
    # chroot_local_user=YES and the sandbox options: comments, no warning
    assert "# vsftpd chroot_local_user=YES (line 8): keepftpd confines" in r.stdout


def test_what_cannot_be_said_is_named(mdir):
    r = migrate(vsftpd_conf(mdir, "implicit-mixed.conf"))
    s = settings(r.stdout)
    assert s["listen"] == "127.0.0.1:990 implicit"
    assert "anon_write" not in s           # upload+mkdir without other_write
    assert s["umask"] == "002"
    assert s["download_rate"] == "1048576"
    err, _ = not_translated(r)
    assert {"anon_upload_enable", "anon_umask", "guest_enable", "guest_username",
            "user_config_dir", "tcp_wrappers", "pasv_addr_resolve",
            "anon_max_rate"} <= err
    assert "26" in err                      # listen_prot=21: a typo, line 26
    assert re.search(r":26: not translated: listen_prot: unknown vsftpd option",
                     r.stderr)
    assert "anon_write allows upload, mkdir, rename and delete" in r.stdout


def test_chown_uploads_points_at_anon_upload_owner(mdir):
    path = mdir / "chown.conf"
    path.write_text(f"anonymous_enable=YES\nanon_root={mdir / 'pub'}\n"
                    "chown_uploads=YES\nchown_username=daemon\n")
    r = migrate(path)
    err, _ = not_translated(r)
    assert {"chown_uploads", "chown_username"} <= err
    assert "anon_upload_dirs with anon_upload_owner" in r.stdout


def test_bad_input(mdir):
    r = migrate(mdir / "missing.conf")
    assert r.returncode == 1 and "No such file or directory" in r.stderr
    r = subprocess.run([BIN, "migrate", "a", "b"], capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert r.returncode == 2 and "usage: keepftpd migrate" in r.stderr
    junk = mdir / "junk.conf"
    junk.write_bytes(b"listen=YES\nthis is not an option\n" + b"x=" + b"y" * 5000 +
                     b"\nanonymous_enable=NO\nlisten_port=70000\n")
    r = migrate(junk)
    assert r.returncode == 0
    assert ":2: not translated: not an option=value line" in r.stderr
    assert ":3: not translated: line too long" in r.stderr
    assert settings(r.stdout)["listen"] == "0.0.0.0:21"   # 70000: the default port
    assert check(mdir, r.stdout).returncode == 0


@pytest.mark.parametrize("lines,named", [
    ("pasv_address=ftp.example.org\n", "pasv_address"),
    ("pasv_min_port=80\npasv_max_port=2121\n", "pasv_min_port"),
    ("pasv_min_port=50000\npasv_max_port=70000\n", "pasv_max_port"),
    ("pasv_min_port=50000\npasv_max_port=40000\n", "pasv_max_port"),
    ("anonymous_enable=YES\nanon_root=relative/dir\n", "anon_root"),
    ("implicit_ssl=YES\nlisten=YES\n", "implicit_ssl"),
    ("local_umask=089\n", "local_umask"),
])
def test_values_keepftpd_refuses_are_named_and_left_out(mdir, lines, named):
    """Found by random configs: a value keepftpd's checks across options
    would refuse is named, and the output still passes -t."""
    path = mdir / "v.conf"
    path.write_text(lines)
    r = migrate(path)
    assert r.returncode == 0
    err, out = not_translated(r)
    assert named in err and named in out, r.stderr
    c = check(mdir, r.stdout)
    assert c.returncode == 0, c.stderr + r.stdout
