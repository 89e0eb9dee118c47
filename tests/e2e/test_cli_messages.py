"""Issue 12 item 22: the rough edges of the command line say what is
wrong, and `keepftpd user` assumes no users file, as `users_file` does."""

import shutil
import subprocess

import pytest

from conftest import BIN, IS_ROOT, PASSWORD, TIMEOUT, make_base, user_add


def run(*argv, stdin=None):
    return subprocess.run([BIN, *argv], input=stdin, capture_output=True, text=True,
                          timeout=TIMEOUT)


@pytest.fixture
def d():
    base = make_base()
    (base / "home").mkdir()
    yield base
    shutil.rmtree(base, ignore_errors=True)


def test_user_add_bad_name_says_name(d):
    r = user_add(d / "users", "a:b", PASSWORD, d / "home")
    assert r.returncode == 1
    assert "'a:b' is not a valid user name" in r.stderr, r.stderr
    assert "hash" not in r.stderr
    assert not (d / "users").exists()


@pytest.mark.parametrize("home,why", [("/nonexistent-kf-home", "No such file or directory"),
                                      ("/etc/hostname", "not a directory")])
def test_user_add_home_must_exist(d, home, why):
    r = user_add(d / "users", "bob", PASSWORD, home)
    assert r.returncode == 1
    assert r.stderr == (f"keepftpd user: --home {home}: {why} (the user's root "
                        f"must be an existing directory)\n")
    assert not (d / "users").exists()
    assert user_add(d / "users", "bob", PASSWORD, d / "home").returncode == 0


def test_user_without_file_names_none(d):
    for args in (["list"], ["del", "bob"]):
        r = run("user", *args)
        assert r.returncode == 2
        assert "Give -f FILE" in r.stderr, r.stderr


def test_check_without_config_file_is_an_error():
    r = run("-t")
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr == "keepftpd -t: no configuration file to check; give -c FILE\n"


def test_check_reads_the_users_file(d):
    users = d / "users"
    assert user_add(users, "bob", PASSWORD, d / "home").returncode == 0
    conf = d / "k.conf"
    conf.write_text(f"listen = 127.0.0.1:2121\nusers_file = {users}\n")
    r = run("-t", "-c", str(conf))
    assert r.returncode == 0, r.stderr
    with open(users, "a") as f:
        f.write("carol:nohash\n")
    r = run("-t", "-c", str(conf))
    assert r.returncode == 1
    assert r.stderr.startswith(f"{users}:2: "), r.stderr
    users.unlink()
    r = run("-t", "-c", str(conf))
    assert r.returncode == 1
    assert r.stderr == f"file: {users}: cannot read: No such file or directory\n"
