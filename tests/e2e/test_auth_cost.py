"""Login cost (issue 12, item 7): a wrong password costs the same whatever
the stored hash; pwhash_rehash replaces legacy hashes at login;
`keepftpd user` hashes at the configuration's cost."""

import fcntl
import ftplib
import os
import re
import statistics
import subprocess
import time
import warnings

import pytest

from conftest import BIN, IS_ROOT, NOBODY, TIMEOUT, requires_root

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt


def ids():
    return ("65534", "65534") if IS_ROOT else (str(os.geteuid()), str(os.getegid()))


def add_sha_user(srv, name, password):
    h = crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))
    uid, gid = ids()
    with open(srv.users, "a") as f:
        f.write(f"{name}:{h}:{uid}:{gid}:{srv.home}:\n")
    return h


def add_user_at_default_cost(srv, name, password):
    uid, gid = ids()
    r = subprocess.run([BIN, "user", "-f", str(srv.users), "add", name, "--home",
                        str(srv.home), "--uid", uid, "--gid", gid,
                        "--opslimit", "2", "--memlimit-kib", "32768"],
                       input=password + "\n", capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr


def pass_seconds(srv, user, password):
    """Seconds from PASS to its 530 (one new session each: no failure count)."""
    f = srv.connect()
    f.sendcmd(f"USER {user}")
    t0 = time.monotonic()
    with pytest.raises(ftplib.error_perm, match=r"^530"):
        f.sendcmd(f"PASS {password}")
    dt = time.monotonic() - t0
    f.close()
    return dt


def test_wrong_password_costs_the_same_whatever_the_hash(start_server):
    # the default argon2id cost (opslimit 2, 32 MiB: about 65 ms) and no delay
    srv = start_server(mode="config", conf_extra={"login_fail_delay_ms": "0"})
    add_sha_user(srv, "legacy", "legacy-pass")
    add_user_at_default_cost(srv, "modern", "modern-pass")
    pass_seconds(srv, "nosuchname", "x")  # warm-up: the dummy hash is made
    runs = {"unknown": [], "legacy": [], "modern": []}
    for _ in range(5):
        runs["unknown"].append(pass_seconds(srv, "nosuchname", "wrong"))
        runs["legacy"].append(pass_seconds(srv, "legacy", "wrong"))
        runs["modern"].append(pass_seconds(srv, "modern", "wrong"))
    med = {k: statistics.median(v) for k, v in runs.items()}
    # sha512-crypt alone is about 2 ms against about 65 ms: a factor 30.
    # Half is a tolerance a loaded 2-core VM cannot cross by chance.
    assert med["legacy"] >= 0.5 * med["unknown"], med
    assert med["modern"] >= 0.5 * med["unknown"], med
    assert med["unknown"] >= 0.5 * med["legacy"], med


def hash_of(users, name):
    for line in users.read_text().splitlines():
        if line.startswith(name + ":"):
            return line.split(":")[1]
    return None


@requires_root
def test_rehash_on_login_keeps_owner_mode_and_other_lines(start_server):
    srv = start_server(mode="config", conf_extra={
        "pwhash_rehash": "yes", "pwhash_opslimit": "1", "pwhash_memlimit_kib": "8192"})
    old = add_sha_user(srv, "legacy", "legacy-pass")
    os.chown(srv.users, 0, NOBODY)
    os.chmod(srv.users, 0o640)
    before = srv.users.read_text()
    alice = [l for l in before.splitlines() if l.startswith(srv.user + ":")]
    # a wrong password changes nothing
    with pytest.raises(ftplib.error_perm, match=r"^530"):
        srv.login("legacy", "wrong")
    assert srv.users.read_text() == before
    f = srv.login("legacy", "legacy-pass")
    f.quit()
    assert srv.wait_log(r"rehash: user=\"legacy\" password hash upgraded")
    new = hash_of(srv.users, "legacy")
    assert new.startswith("$argon2id$v=19$m=8192,t=1,p=1$"), new
    after = srv.users.read_text()
    assert after == before.replace(old, new)
    assert [l for l in after.splitlines() if l.startswith(srv.user + ":")] == alice
    st = os.stat(srv.users)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, NOBODY, 0o640)
    assert not [p for p in os.listdir(srv.users.parent) if ".tmp." in p]
    # the new hash works, the old password is the same; alice (argon2id at
    # this cost already) is not rewritten
    srv.login("legacy", "legacy-pass").quit()
    srv.login().quit()
    assert srv.users.read_text() == after
    assert len(re.findall(r"rehash: ", srv.log())) == 1


@requires_root
def test_rehash_skipped_while_keepftpd_user_holds_the_lock(start_server):
    srv = start_server(mode="config", conf_extra={
        "pwhash_rehash": "yes", "pwhash_opslimit": "1", "pwhash_memlimit_kib": "8192"})
    old = add_sha_user(srv, "legacy", "legacy-pass")
    with open(f"{srv.users}.lock", "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        t0 = time.monotonic()
        srv.login("legacy", "legacy-pass").quit()
        assert time.monotonic() - t0 < 5
        assert srv.wait_log(r"rehash: user=\"legacy\" users_file=.* not changed: "
                            r"users file locked")
        assert hash_of(srv.users, "legacy") == old
    srv.login("legacy", "legacy-pass").quit()
    assert srv.wait_log(r"rehash: user=\"legacy\" password hash upgraded")


def test_user_command_hashes_at_the_configured_cost(tmp_path):
    conf = tmp_path / "k.conf"
    conf.write_text("pwhash_opslimit = 3\npwhash_memlimit_kib = 9000\n")
    users = tmp_path / "users"
    uid, gid = ids()
    argv = [BIN, "user", "-c", str(conf), "-f", str(users)]
    r = subprocess.run(argv + ["add", "bob", "--home", "/tmp", "--uid", uid, "--gid", gid],
                       input="bob-pass\n", capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert hash_of(users, "bob").startswith("$argon2id$v=19$m=9000,t=3,p=1$")
    conf.write_text("pwhash_opslimit = 1\npwhash_memlimit_kib = 8192\n")
    r = subprocess.run(argv + ["passwd", "bob"], input="bob-pass2\n",
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert hash_of(users, "bob").startswith("$argon2id$v=19$m=8192,t=1,p=1$")
    # a broken configuration is said, and nothing is written
    conf.write_text("pwhash_opslimit = 99\n")
    r = subprocess.run(argv + ["passwd", "bob"], input="x\n", capture_output=True,
                       text=True, timeout=TIMEOUT)
    assert r.returncode != 0 and "pwhash_opslimit" in r.stderr
