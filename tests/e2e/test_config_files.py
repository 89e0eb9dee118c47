"""Issue 12 item 1: the files the configuration names may be changed
only by root and the account keepftpd runs as (like OpenSSH's
StrictModes); a TLS key is not readable by others. Refused at start and
by `keepftpd -t`, with a `file: PATH: why` line."""

import os
import shutil
import subprocess

import pytest

from conftest import (BIN, IS_ROOT, NOBODY, SETPRIV, TIMEOUT, build_server,
                      make_base)
from tls_helpers import make_cert


@pytest.fixture
def server():
    """A config-mode server built but not started (as root when we are)."""
    built = []

    def make(**kw):
        srv = build_server(rootless=kw.pop("rootless", not IS_ROOT), **kw)
        built.append(srv)
        return srv

    yield make
    for srv in built:
        srv.stop()
        shutil.rmtree(srv.base, ignore_errors=True)


def check(srv, as_nobody=False):
    argv = [BIN, "-t", "-c", str(srv.conf)]
    if as_nobody:
        argv = SETPRIV + argv
    return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)


def refused(srv, line):
    """-t and a start both refuse, saying line."""
    r = check(srv, as_nobody=srv.rootless and IS_ROOT)
    assert r.returncode == 1, r.stdout
    assert line in r.stderr.splitlines(), r.stderr
    with pytest.raises(RuntimeError, match="exited with 1"):
        srv.start()
    assert line in srv.log(), srv.log()


def accepted(srv):
    r = check(srv, as_nobody=srv.rootless and IS_ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"{srv.conf}: configuration OK")
    srv.start()
    f = srv.login()
    assert f.pwd() == "/"
    f.quit()


def test_world_writable_users_file_refused(server):
    srv = server()
    srv.users.chmod(0o666)
    refused(srv, f"file: {srv.users}: writable by group or others (mode 0666)")


def test_world_writable_config_refused(server):
    srv = server()
    srv.conf.chmod(0o666)
    refused(srv, f"file: {srv.conf}: writable by group or others (mode 0666)")


def test_group_writable_parent_directory_refused(server):
    srv = server()
    etc = srv.conf.parent
    etc.chmod(0o775)
    # the config file itself is the first file read on that path
    refused(srv, f"file: {srv.conf}: directory {etc} is writable by group "
                 f"or others (mode 0775)")


def test_world_writable_banner_file_refused(server):
    srv = server()
    banner = srv.conf.parent / "banner.txt"
    banner.write_text("hello\n")
    banner.chmod(0o646)
    with open(srv.conf, "a") as f:
        f.write(f"banner_file = {banner}\n")
    refused(srv, f"file: {banner}: writable by group or others (mode 0646)")


def test_world_readable_key_refused(server):
    d = make_base()
    try:
        cert, key = make_cert(d)
        key.chmod(0o644)
        srv = server(conf_extra={"tls_cert": str(cert), "tls_key": str(key)})
        refused(srv, f"file: {key}: private key readable by others (mode 0644)")
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.skipif(not IS_ROOT, reason="needs another account to own the file")
def test_users_file_of_another_account_refused(server):
    srv = server(rootless=False)
    os.chown(srv.users, NOBODY, NOBODY)
    refused(srv, f"file: {srv.users}: owned by uid {NOBODY} (only root or the "
                 f"account keepftpd runs as may own it)")


@pytest.mark.skipif(not IS_ROOT, reason="root-owned files")
def test_root_owned_0644_and_0600_accepted(server):
    d = make_base()
    try:
        cert, key = make_cert(d)
        os.chown(key, 0, 0)
        key.chmod(0o600)
        srv = server(rootless=False,
                     conf_extra={"tls_cert": str(cert), "tls_key": str(key),
                                 "tls_required_users": "no"})
        srv.conf.chmod(0o644)
        srv.users.chmod(0o600)
        accepted(srv)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.skipif(not IS_ROOT, reason="needs root to hand the files over")
def test_rootless_files_of_its_own_account_accepted(server):
    srv = server(rootless=True)
    etc = srv.conf.parent
    for p in (etc, srv.conf, srv.users):
        os.chown(p, NOBODY, NOBODY)
    srv.conf.chmod(0o600)
    accepted(srv)


def test_quick_mode_refuses_a_world_readable_key():
    d = make_base()
    try:
        cert, key = make_cert(d)
        key.chmod(0o644)
        r = subprocess.run([BIN, "serve", str(d), "--listen", "127.0.0.1:1",
                            "-o", f"tls_cert={cert}", "-o", f"tls_key={key}"],
                           capture_output=True, text=True, timeout=TIMEOUT)
        assert r.returncode == 2
        assert f"file: {key}: private key readable by others (mode 0644)" in \
            r.stderr.splitlines(), r.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)
