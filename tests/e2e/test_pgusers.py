"""Users in PostgreSQL (users_backend = postgresql): kf-pgauth, one pooled,
sandboxed auth process per server; `keepftpd user` against the database;
421 at once while the database is down, logged-in sessions unharmed,
recovery when it is back. A real PostgreSQL (tests/e2e/pgserver.py)."""

import ftplib
import os
import socket
import subprocess
import time

import pytest

from conftest import (BIN, HELLO, IS_ROOT, MODES, NOBODY, TIMEOUT, descendants_named,
                      is_sanitized, memory_holds, proc_status, retr_bytes, stor_bytes, wait_for)
import pgserver

pytestmark = pytest.mark.skipif(not pgserver.available(),
                                reason="PostgreSQL is not installed (postgresql package)")

PW = "Pg-us3r-S3cret"
COST = ["--opslimit", "1", "--memlimit-kib", "8192"]


@pytest.fixture(scope="module")
def pg():
    server = pgserver.PgServer()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _clean_table(pg):
    if not pg.running():
        pg.start()
    pg.psql("DELETE FROM keepftpd_users")
    pg.psql("DELETE FROM keepftpd_bans")
    yield


def pg_server(start_server, pg, rootless, **extra):
    conf = {"users_backend": "postgresql", "pg_conninfo": pg.conninfo(),
            "pg_timeout": "2", "pg_pool": "3", "tls_required_users": "no",
            "pwhash_opslimit": "1", "pwhash_memlimit_kib": "8192"}
    conf.update(extra)
    srv = start_server(mode="config", rootless=rootless, conf_extra=conf)
    assert wait_for(lambda: kf_pgauth(srv) is not None), srv.log()
    return srv


def kf_pgauth(srv):
    found = descendants_named(srv.pid, "kf-pgauth")
    return found[0] if len(found) == 1 else None


def argon2_hash(tmp_path, password):
    """An argon2id string made by `keepftpd user add` into a scratch file."""
    users = tmp_path / "scratch-users"
    r = subprocess.run([BIN, "user", "-f", str(users), "add", "scratch", "--home", "/",
                        "--uid", "1", "--gid", "1"] + COST,
                       input=password + "\n", capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    h = users.read_text().split(":")[1]
    assert h.startswith("$argon2id$")
    return h


def crypt_hash(password):
    r = subprocess.run(["openssl", "passwd", "-6", "-salt", "kfpgtest", "-stdin"],
                       input=password + "\n", capture_output=True, text=True, check=True)
    h = r.stdout.strip()
    assert h.startswith("$6$kfpgtest$")
    return h


def ids():
    return (NOBODY, NOBODY) if IS_ROOT else (os.getuid() or 1, os.getgid() or 1)


def admin_conf(srv, pg):
    """A configuration for `keepftpd user`: the database's owner, who may
    write keepftpd_users (the server's role may only read it)."""
    conf = srv.base / "etc" / "admin.conf"
    conf.write_text(f"users_backend = postgresql\npg_conninfo = {pg.admin_conninfo()}\n"
                    "pwhash_opslimit = 1\npwhash_memlimit_kib = 8192\n")
    conf.chmod(0o600)
    return conf


def user_cmd(conf, *args, password=None):
    return subprocess.run([BIN, "user", "-c", str(conf)] + list(args),
                          input=(password + "\n") if password is not None else None,
                          capture_output=True, text=True, timeout=30)


def login_fails(srv, user, password):
    with pytest.raises(ftplib.error_perm, match="530"):
        srv.login(user, password)


@pytest.mark.parametrize("mode", MODES)
def test_login_argon2id_and_crypt(start_server, pg, tmp_path, mode):
    srv = pg_server(start_server, pg, mode == "rootless")
    uid, gid = ids()
    pg.add_user("argon", argon2_hash(tmp_path, PW), uid, gid, srv.home, "write")
    pg.add_user("legacy", crypt_hash(PW), uid, gid, srv.home, "")
    for name in ("argon", "legacy"):
        f = srv.login(name, PW)
        assert retr_bytes(f, "hello.txt") == HELLO
        f.quit()
        login_fails(srv, name, PW + "x")
    login_fails(srv, "nobody-here", PW)
    # the users file's alice is not a user while the database is the backend
    login_fails(srv, srv.user, srv.password)
    assert srv.wait_log(r'login ok: user="argon"')
    assert srv.wait_log(r'login failed: from=127\.0\.0\.1 failures=1 '
                        r'reason=bad-credentials user="legacy"')
    # the hash never reaches the monitor: only kf-pgauth reads the row
    assert "$argon2id$" not in srv.log() and "$6$" not in srv.log()


def test_user_fields_applied(start_server, pg, tmp_path):
    qdir = tmp_path / "quota"
    qdir.mkdir()
    tmp_path.chmod(0o755)
    if IS_ROOT:
        os.chown(qdir, NOBODY, NOBODY)
    srv = pg_server(start_server, pg, not IS_ROOT, quota_dir=str(qdir))
    uid, gid = ids()
    h = argon2_hash(tmp_path, PW)
    other = srv.base / "other-home"
    other.mkdir()
    (other / "mine.txt").write_bytes(b"other home\n")
    if IS_ROOT:
        os.chown(other, NOBODY, NOBODY)
        os.chown(other / "mine.txt", NOBODY, NOBODY)
    pg.add_user("homed", h, uid, gid, other, "write,quota_files=1")
    pg.add_user("reader", h, uid, gid, srv.home, "")
    pg.add_user("fenced", h, uid, gid, srv.home, "allow_from=10.0.0.0/8")
    pg.add_user("v6ok", h, uid, gid, srv.home, "allow_from=::1;127.0.0.0/8")
    pg.add_user("tlsonly", h, uid, gid, srv.home, "tls")
    # home: the session's root is the row's home
    f = srv.login("homed", PW)
    assert f.nlst() == ["mine.txt"]
    # quota_files=1: the second new file at the latest is refused
    refused = None
    for i in range(3):
        try:
            stor_bytes(f, f"new{i}.bin", b"x" * 100)
        except ftplib.error_perm as e:
            refused = (i, str(e))
            break
    assert refused is not None and refused[0] <= 1 and refused[1].startswith("552")
    assert not (other / f"new{refused[0]}.bin").exists()
    f.quit()
    # no write flag: read-only
    f = srv.login("reader", PW)
    assert retr_bytes(f, "hello.txt") == HELLO
    with pytest.raises(ftplib.error_perm, match="550"):
        stor_bytes(f, "up.bin", b"data")
    f.quit()
    # allow_from: 127.0.0.1 is not in 10.0.0.0/8 (an ':' in flags is kept)
    login_fails(srv, "fenced", PW)
    assert srv.wait_log(r'reason=user-allow-from user="fenced"')
    srv.login("v6ok", PW).quit()
    # tls: no login without TLS on the control connection
    login_fails(srv, "tlsonly", PW)
    assert srv.wait_log(r'login refused: user="tlsonly" needs TLS')


def test_user_cli_against_database(start_server, pg):
    srv = pg_server(start_server, pg, not IS_ROOT)
    conf = admin_conf(srv, pg)
    uid, gid = ids()
    r = user_cmd(conf, "add", "carol", "--home", str(srv.home), "--uid", str(uid),
                 "--gid", str(gid), "--write", "--down-rate", "500000", password=PW)
    assert r.returncode == 0, r.stderr
    assert pg.psql("SELECT name, uid, home, flags FROM keepftpd_users").strip() == \
        f"carol|{uid}|{srv.home}|write,down_rate=500000"
    assert pg.psql("SELECT hash FROM keepftpd_users").startswith("$argon2id$")
    r = user_cmd(conf, "add", "carol", "--home", str(srv.home), "--uid", str(uid),
                 "--gid", str(gid), password=PW)
    assert r.returncode != 0 and "carol exists" in r.stderr, r.stderr
    r = user_cmd(conf, "list")
    assert r.returncode == 0 and r.stdout == \
        f"carol {uid} {gid} {srv.home} write,down_rate=500000\n", r
    f = srv.login("carol", PW)
    stor_bytes(f, "by-carol.bin", b"c" * 1000)
    f.quit()
    assert (srv.home / "by-carol.bin").read_bytes() == b"c" * 1000
    # passwd: the new password works, the old one no longer
    assert user_cmd(conf, "passwd", "carol", password="N3w-pass").returncode == 0
    login_fails(srv, "carol", PW)
    srv.login("carol", "N3w-pass").quit()
    # set: the rate changes, the rest stays
    assert user_cmd(conf, "set", "carol", "--down-rate", "0").returncode == 0
    assert pg.psql("SELECT flags FROM keepftpd_users WHERE name = 'carol'").strip() == \
        "write,down_rate=0"
    # del
    assert user_cmd(conf, "del", "carol").returncode == 0
    r = user_cmd(conf, "del", "carol")
    assert r.returncode != 0 and "no user carol" in r.stderr
    login_fails(srv, "carol", "N3w-pass")
    assert user_cmd(conf, "list").stdout == ""


def test_database_down_then_back(start_server, pg, tmp_path):
    srv = pg_server(start_server, pg, not IS_ROOT)
    uid, gid = ids()
    pg.add_user("dave", argon2_hash(tmp_path, PW), uid, gid, srv.home, "write")
    # sessions log in before the database goes away
    busy = srv.login("dave", PW)
    idle = [srv.login("dave", PW) for _ in range(2)]
    pg.stop()
    for _ in range(3):
        t0 = time.monotonic()
        with pytest.raises(ftplib.error_temp, match="421 Service not available"):
            srv.login("dave", PW)
        assert time.monotonic() - t0 < 2.5  # at once, never past pg_timeout
    # an unknown name and a wrong password get the same 421: nothing told
    with pytest.raises(ftplib.error_temp, match="421"):
        srv.login("nobody-here", "x")
    assert srv.wait_log(r"login unavailable: from=127\.0\.0\.1 "
                        r"reason=users-database-down")
    assert srv.wait_log(r"kf-pgauth: users database unavailable")
    # the 421s are no failed logins: no delay, no ban count
    assert "failures=" not in srv.log().split("users database unavailable")[-1]
    # logged-in sessions keep working: list, download, upload
    assert "hello.txt" in busy.nlst()
    assert retr_bytes(busy, "hello.txt") == HELLO
    stor_bytes(busy, "while-down.bin", b"d" * 5000)
    for f in idle:
        assert retr_bytes(f, "hello.txt") == HELLO
    pg.start()

    def back():
        try:
            srv.login("dave", PW).quit()
            return True
        except ftplib.error_temp:
            return False
    t0 = time.monotonic()
    assert wait_for(back, timeout=15, interval=0.3), srv.log()[-3000:]
    assert time.monotonic() - t0 < 12
    assert srv.wait_log(r"kf-pgauth: users database connected")
    for f in [busy] + idle:
        f.quit()


def test_query_timeout_answers_421(start_server, pg, tmp_path):
    """A database that takes the connection but never answers (a lock held
    on the table): 421 after pg_timeout, not a hang; the pool recovers."""
    srv = pg_server(start_server, pg, not IS_ROOT)
    uid, gid = ids()
    pg.add_user("erin", argon2_hash(tmp_path, PW), uid, gid, srv.home, "")
    srv.login("erin", PW).quit()
    locker = subprocess.Popen(
        [os.path.join(pg.bindir, "psql"), "-h", str(pg.sock), "-p", str(pg.port),
         "-U", "postgres", "-d", pgserver.DB, "-X", "-q", "-c",
         "BEGIN; LOCK TABLE keepftpd_users IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(6);"],
        preexec_fn=pgserver._as_pg, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        t0 = time.monotonic()
        with pytest.raises(ftplib.error_temp, match="421"):
            srv.login("erin", PW, timeout=10)
        took = time.monotonic() - t0
        assert 1.5 <= took < 4.5, took  # pg_timeout = 2
        assert srv.wait_log(r"no answer from the users database in 2 s")
    finally:
        locker.wait(15)
    assert wait_for(lambda: _can_login(srv, "erin"), timeout=10, interval=0.3)


def _can_login(srv, name):
    try:
        srv.login(name, PW).quit()
        return True
    except ftplib.Error:
        return False


def test_sql_metacharacters_are_harmless(start_server, pg, tmp_path):
    srv = pg_server(start_server, pg, not IS_ROOT)
    conf = admin_conf(srv, pg)
    uid, gid = ids()
    h = argon2_hash(tmp_path, PW)
    pg.add_user("frank", h, uid, gid, srv.home, "")
    # a row whose name no users file could hold is never a user
    pg.add_user("o'brien", h, uid, gid, srv.home, "")
    evil = ["x' OR '1'='1", "frank'--", "a'; DROP TABLE keepftpd_users; --",
            "o'brien", "frank\\", '"frank"', "frank;", "%", "_rank"]
    for name in evil:
        login_fails(srv, name, PW)
        login_fails(srv, name, "' OR '1'='1")
    # a password full of SQL is a wrong password
    login_fails(srv, "frank", "' OR '1'='1'; --")
    assert pg.psql("SELECT count(*) FROM keepftpd_users").strip() == "2"
    srv.login("frank", PW).quit()
    # nor can the CLI store one
    r = user_cmd(conf, "add", "x'y", "--home", str(srv.home), "--uid", str(uid),
                 "--gid", str(gid), password=PW)
    assert r.returncode != 0 and "not a valid user name" in r.stderr
    r = user_cmd(conf, "del", "frank' OR '1'='1")
    assert r.returncode != 0
    assert pg.psql("SELECT count(*) FROM keepftpd_users").strip() == "2"
    # a row whose hash holds ':' is refused, not split
    pg.add_user("gina", "$6$a:b$c", uid, gid, srv.home, "")
    login_fails(srv, "gina", PW)
    assert srv.wait_log(r'keepftpd_users row refused \(.*\): user="gina"')


@pytest.mark.parametrize("mode", MODES)
def test_kf_pgauth_one_sandboxed_process(start_server, pg, tmp_path, mode):
    srv = pg_server(start_server, pg, mode == "rootless")
    uid, gid = ids()
    h = argon2_hash(tmp_path, PW)
    pg.add_user("hank", h, uid, gid, srv.home, "")
    sessions = [srv.login("hank", PW) for _ in range(5)]
    login_fails(srv, "hank", "wrong")
    pid = kf_pgauth(srv)
    assert pid is not None, "not exactly one kf-pgauth"
    # no session has one of its own
    assert len(descendants_named(srv.pid, "kf-pgauth")) == 1
    # and the database sees at most pg_pool connections from it
    n = int(pg.psql("SELECT count(*) FROM pg_stat_activity "
                    "WHERE application_name = 'kf-pgauth'"))
    assert 1 <= n <= 3, n
    st = proc_status(pid)
    assert st["Uid"].split() == [str(NOBODY)] * 4
    assert st["Gid"].split() == [str(NOBODY)] * 4
    assert st["NoNewPrivs"] == "1"
    assert st["Seccomp"] == "2"
    for cap in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
        assert int(st[cap], 16) == 0, (cap, st[cap])
    if mode == "root":
        assert int(st["CapBnd"], 16) == 0
        assert os.readlink(f"/proc/{pid}/root") != "/"  # the empty root
    fds = {int(fd): os.readlink(f"/proc/{pid}/fd/{fd}")
           for fd in os.listdir(f"/proc/{pid}/fd")}
    assert fds[0] == "/dev/null" and fds[1] == "/dev/null"
    assert fds[2] == str(srv.stderr_path)  # the log
    others = {k: v for k, v in fds.items() if k > 2}
    # the request socket, the bans socket and the pool's database
    # connections (4, the configuration, was closed), nothing else
    assert all(v.startswith("socket:[") for v in others.values()), fds
    assert 3 in others and 5 in others, fds
    assert 3 <= len(others) <= 2 + 3, fds
    # libpq is mapped by kf-pgauth alone: not by the listener, the
    # monitors or the FTP workers
    assert "libpq" in open(f"/proc/{pid}/maps").read()
    others = [srv.pid] + descendants_named(srv.pid, "kf-monitor") + \
        descendants_named(srv.pid, "kf-session")
    assert len(others) >= 1 + 5 + 5
    for p in others:
        assert "libpq" not in open(f"/proc/{p}/maps").read(), p
    # the database password is in kf-pgauth's configuration copy, not in
    # the spawners' (which every worker inherits)
    # (not readable in sanitizer builds: their shadow memory is terabytes)
    if not is_sanitized():
        for w in descendants_named(srv.pid, "kf-session")[:2]:
            assert not memory_holds(w, [pg.role_password[:10].encode()])
        # the hash's checksum part never reaches a monitor (nor the listener)
        tail = h.rsplit("$", 1)[1].encode()
        for m in [srv.pid] + descendants_named(srv.pid, "kf-monitor")[:2]:
            assert not memory_holds(m, [tail]), m
    for f in sessions:
        f.quit()


def test_killed_kf_pgauth_comes_back(start_server, pg, tmp_path):
    srv = pg_server(start_server, pg, not IS_ROOT)
    uid, gid = ids()
    pg.add_user("ivy", argon2_hash(tmp_path, PW), uid, gid, srv.home, "")
    f = srv.login("ivy", PW)
    old = kf_pgauth(srv)
    os.kill(old, 9)
    assert wait_for(lambda: kf_pgauth(srv) not in (None, old), timeout=5), srv.log()
    assert srv.wait_log(r"kf-pgauth \(pid %d\) ended \(signal 9\)" % old)
    assert retr_bytes(f, "hello.txt") == HELLO
    assert wait_for(lambda: _can_login(srv, "ivy"), timeout=5, interval=0.2)
    f.quit()


def test_unix_socket_conninfo_rootless(start_server, pg, tmp_path):
    """Rootless (no chroot) kf-pgauth reaches the database over its Unix
    socket too (as root it runs in empty_dir: an address is needed)."""
    srv = pg_server(start_server, pg, True, pg_conninfo=pg.conninfo(host=str(pg.sock)))
    uid, gid = ids()
    pg.add_user("june", argon2_hash(tmp_path, PW), uid, gid, srv.home, "")
    f = srv.login("june", PW)
    assert retr_bytes(f, "hello.txt") == HELLO
    f.quit()
    login_fails(srv, "june", "nope")


def first_line(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    try:
        return s.makefile("rb").readline().decode().strip()
    finally:
        s.close()


def test_bans_shared_between_nodes(start_server, pg, tmp_path):
    """pg_bans: a ban made on one node (ban_failures) is written to
    keepftpd_bans and holds on another node within a few seconds."""
    bans = {"pg_bans": "yes", "ban_failures": "2", "ban_window": "60",
            "ban_seconds": "30", "max_login_failures": "3"}
    a = pg_server(start_server, pg, not IS_ROOT, **bans)
    b = pg_server(start_server, pg, not IS_ROOT, **bans)
    uid, gid = ids()
    pg.add_user("kate", argon2_hash(tmp_path, PW), uid, gid, a.home, "")
    b.login("kate", PW).quit()
    login_fails(a, "kate", "guess1")
    login_fails(a, "kate", "guess2")
    assert a.wait_log(r"warning: ban: 127\.0\.0\.1 banned for 30 s")
    assert first_line(a.port).startswith("421")
    assert wait_for(lambda: pg.psql("SELECT count(*) FROM keepftpd_bans").strip() == "1",
                    timeout=5)
    row = pg.psql("SELECT host(addr), until > now() + interval '20 s', "
                  "until < now() + interval '31 s' FROM keepftpd_bans").strip()
    assert row == "127.0.0.1|t|t", row
    t0 = time.monotonic()
    assert b.wait_log(r"warning: ban: 127\.0\.0\.1 banned for (29|30) s "
                      r"\(from the users database\)", timeout=8), b.log()[-2000:]
    assert time.monotonic() - t0 < 6
    assert first_line(b.port) == "421 Your address is banned; try again later."
    # a ban another node wrote (here: by hand) holds too, cut to ban_seconds
    pg.psql("INSERT INTO keepftpd_bans (addr, until) "
            "VALUES ('10.9.8.7', now() + interval '1 day')")
    assert b.wait_log(r"ban: 10\.9\.8\.7 banned for (29|30) s \(from the users database\)",
                      timeout=8)
    # expired rows are not applied
    pg.psql("INSERT INTO keepftpd_bans (addr, until) "
            "VALUES ('10.1.1.1', now() - interval '1 s')")
    time.sleep(4.5)
    assert "10.1.1.1" not in a.log() + b.log()


def test_bans_not_shared_by_default(start_server, pg, tmp_path):
    srv = pg_server(start_server, pg, not IS_ROOT, ban_failures="2",
                    max_login_failures="3")
    uid, gid = ids()
    pg.add_user("liam", argon2_hash(tmp_path, PW), uid, gid, srv.home, "")
    login_fails(srv, "liam", "g1")
    login_fails(srv, "liam", "g2")
    assert srv.wait_log(r"ban: 127\.0\.0\.1 banned")
    time.sleep(1)
    assert pg.psql("SELECT count(*) FROM keepftpd_bans").strip() == "0"


def test_rein_then_database_login(start_server, pg, tmp_path):
    """After REIN the monitor runs under its seccomp list: a second login
    through kf-pgauth (socketpair, SCM_RIGHTS, poll) still works."""
    srv = pg_server(start_server, pg, not IS_ROOT)
    uid, gid = ids()
    pg.add_user("mia", argon2_hash(tmp_path, PW), uid, gid, srv.home, "")
    f = srv.login("mia", PW)
    assert f.sendcmd("REIN").startswith("220")
    f.login("mia", PW)
    assert retr_bytes(f, "hello.txt") == HELLO
    f.quit()
    # and the helper's error reaches the administrator, first line only
    conf = srv.base / "etc" / "bad.conf"
    conf.write_text("users_backend = postgresql\n"
                    f"pg_conninfo = host=127.0.0.1 port={pg.port} dbname=nosuchdb "
                    "user=postgres\n")
    conf.chmod(0o600)
    r = user_cmd(conf, "list")
    assert r.returncode != 0 and "users database:" in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1, r.stderr
