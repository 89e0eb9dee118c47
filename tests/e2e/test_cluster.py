"""Three keepftpd nodes behind Debian's haproxy (issue 17, item 6).

haproxy (send-proxy-v2, round robin, health checks with PROXY LOCAL)
balances three nodes that share one root directory and one users file;
every client connects from its own loopback address, which the nodes
learn from the PROXY header (tests/e2e/cluster.py draws the addresses;
docs/SCALE-OUT-TEST.md tells how the cluster is built). Data
connections go straight to the node: PASV announces the node's own
address.

Shown here: logins spread over the nodes; a file uploaded through one
node downloads intact through the others; the PASV theft check refuses
a data connection from another client address, with passive ports
straight to the node and through haproxy (pasv_proxy); bans are per
node without the database (an operator can push one to every node's
admin socket), and with users in PostgreSQL and pg_bans a ban made by
one node holds on all; with PostgreSQL stopped new logins get 421 while
logged-in sessions go on; a
node killed with SIGKILL mid-session loses no committed upload while
a session on another node carries on and new logins go to the others.

Every socket has a timeout and every wait a deadline.
"""
import ftplib
import hashlib
import io
import os
import re
import socket
import subprocess
import time

import pytest

import pgserver
from cluster import LB_ADDR, Cluster
from conftest import (BIN, PASSWORD, TIMEOUT, USER, chown_tree, pasv_port,
                      recv_all, retr_bytes, stor_bytes, wait_for)
from haproxy import MISSING, have_haproxy

pytestmark = pytest.mark.skipif(not have_haproxy(), reason=MISSING)

MiB = 1 << 20


def sha(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def make_cluster():
    made = []

    def make(**kw):
        c = Cluster(**kw)
        made.append(c)
        return c.start()

    make.adopt = made.append
    yield make
    reports = [r for r in (c.stop() for c in made) if r]
    for c in made:
        c.cleanup()
    if reports:
        pytest.fail("sanitizer report in a node's log:\n" + reports[0][-4000:])


def quit_all(sessions):
    for f in sessions:
        try:
            f.quit()
        except (OSError, EOFError, ftplib.Error):
            f.close()


def test_logins_spread_over_nodes(make_cluster):
    """Six clients, six addresses: haproxy spreads them over all three
    nodes, and each session is on exactly one node, under its client's
    own address (from the PROXY header; the log has its port too),
    logged in as alice."""
    c = make_cluster()
    srcs = [f"127.0.0.{21 + i}" for i in range(6)]
    sessions = [c.login(s) for s in srcs]
    mine = set(srcs)
    ports = {s: f.sock.getsockname()[1] for s, f in zip(srcs, sessions)}
    where = {}
    for n in c.nodes:
        for r in n.who():
            if r["addr"] in mine:
                assert r["addr"] not in where, (r, where[r["addr"]], n.name)
                assert r["user"] == USER, r
                where[r["addr"]] = n
    assert set(where) == mine
    used = {n.name for n in where.values()}
    assert used == {n.name for n in c.nodes}, used
    for src, n in where.items():
        assert n.wait_log(rf"\[s\d+ {re.escape(src)}\] connect via proxy "
                          rf"127\.0\.0\.10: client port "
                          rf"{ports[src]}\b")
        assert n.wait_log(rf"\[s\d+ {re.escape(src)}\] login ok: "
                          rf"user=\"{USER}\"")
    quit_all(sessions)


def test_upload_on_one_node_downloads_on_the_others(make_cluster):
    c = make_cluster()
    data = os.urandom(3 * MiB + 17)
    fa, na = c.login_on("127.0.0.31", lambda n: True)
    stor_bytes(fa, "up.bin", data)
    assert na.wait_log(r"\[s\d+ 127\.0\.0\.31\] .*STOR path=\"/up\.bin\" "
                       rf"bytes={len(data)} .*status=ok")
    assert sha((c.home / "up.bin").read_bytes()) == sha(data)
    others = []
    for i, other in enumerate(n for n in c.nodes if n is not na):
        src = f"127.0.0.{32 + i}"
        fb, nb = c.login_on(src, lambda n, o=other: n is o)
        assert sha(retr_bytes(fb, "up.bin")) == sha(data)
        assert nb.wait_log(rf"\[s\d+ {re.escape(src)}\] .*RETR "
                           rf"path=\"/up\.bin\" bytes={len(data)} .*status=ok")
        others.append(fb)
    assert len(others) == 2
    quit_all([fa] + others)


def pasv_host(reply):
    """The address of a 227 reply."""
    return ".".join(re.search(r"\((\d+),(\d+),(\d+),(\d+),", reply).groups())


def theft_refused_then_list(f, n, host, port, src, thief_src, refused):
    """A thief from thief_src connects to the passive port first: node n
    logs `refused` and the thief gets no byte; then the session's own
    client (src) connects and gets the listing of its LIST."""
    thief = socket.create_connection((host, port), TIMEOUT,
                                     source_address=(thief_src, 0))
    f.putcmd("LIST")
    assert n.wait_log(refused)
    assert recv_all(thief, until_timeout=True) == b""
    thief.close()
    d = socket.create_connection((host, port), TIMEOUT,
                                 source_address=(src, 0))
    assert f.getresp().startswith("150")
    listing = recv_all(d)
    d.close()
    assert b"hello.txt" in listing
    assert f.voidresp().startswith("226")


def test_pasv_theft_refused(make_cluster):
    """PASV announces the node's own address; a connection to that port
    from another client address (127.0.0.66) is refused and gets nothing,
    the session's own client (127.0.0.41) then gets its listing."""
    c = make_cluster()
    src, thief_src = "127.0.0.41", "127.0.0.66"
    f = c.login(src)
    n = c.node_of(f)
    r = f.sendcmd("PASV")
    host = pasv_host(r)
    assert host == n.addr, (r, n.addr)
    theft_refused_then_list(
        f, n, host, pasv_port(r), src, thief_src,
        rf"\[s\d+ {re.escape(src)}\] worker kf-session: data "
        rf"connection from foreign address {re.escape(thief_src)} refused")
    f.quit()
    for other in c.nodes:
        if other is not n:
            assert thief_src not in other.log()


def test_pasv_theft_refused_through_balancer(make_cluster):
    """Topology (b), pasv_proxy: the passive ports pass through haproxy
    too, each node's range forwarded to it with a PROXY v2 header. PASV
    announces the balancer; a thief (127.0.0.67) connecting to that
    port through the balancer is refused by the node, which sees the
    thief's address in the data connection's header; the client's own
    connection (127.0.0.42, through the balancer as well) gets the
    listing, and a file uploaded this way downloads intact through
    another node."""
    c = make_cluster(pasv_proxy=True)
    src, thief_src = "127.0.0.42", "127.0.0.67"
    f = c.login(src)
    n = c.node_of(f)
    r = f.sendcmd("PASV")
    host = pasv_host(r)
    assert host == LB_ADDR, r
    port = pasv_port(r)
    assert n.pasv[0] <= port <= n.pasv[1], (port, n.pasv)
    theft_refused_then_list(
        f, n, host, port, src, thief_src,
        rf"\[s\d+ {re.escape(src)}\] worker kf-session: data connection "
        rf".*{re.escape(thief_src)}.* refused")
    data = os.urandom(MiB + 3)
    stor_bytes(f, "b.bin", data)
    f.quit()
    g, _ = c.login_on("127.0.0.43", lambda o: o is not n)
    assert sha(retr_bytes(g, "b.bin")) == sha(data)
    g.quit()


def greeting(c, src):
    """The first reply code through haproxy from src."""
    f = ftplib.FTP(timeout=TIMEOUT, source_address=(src, 0))
    try:
        f.connect(LB_ADDR, c.lb_port)
        code = f.welcome[:3]
    except ftplib.error_temp as e:
        code = str(e)[:3]
    f.close()
    return code


def bans(node):
    r = subprocess.run([BIN, "ban", "-s", str(node.admin_socket), "list"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    return r.stdout


def fail_until_banned(c, x, failures=2):
    """Failed logins from x through the balancer until one node has
    counted `failures` (its ban_failures) and banned x; that node."""
    counted = {n.name: 0 for n in c.nodes}
    for _ in range(failures * len(c.nodes)):
        f = c.client(x)
        n = c.node_of(f)
        with pytest.raises(ftplib.error_perm, match="^530"):
            f.login(USER, "not-the-password")
        f.close()
        counted[n.name] += 1
        if counted[n.name] == failures:
            assert n.wait_log(rf"ban: {re.escape(x)} banned")
            return n
    raise AssertionError(f"no node banned {x}: {counted}")


def test_ban_is_per_node(make_cluster):
    """Without pg_bans a ban lives in one node's memory: failed logins
    through the balancer ban the client's address on the node that
    counted them, not on the others (with users in PostgreSQL and
    pg_bans: test_pg_users_and_bans_on_every_node). `keepftpd ban add`
    sent to every node's admin socket bans an address on the whole
    cluster."""
    c = make_cluster(node_conf={"ban_failures": "2", "ban_window": "60",
                                "ban_seconds": "300"})
    x = "127.0.0.51"
    banned = fail_until_banned(c, x)
    assert re.search(rf"^{re.escape(x)} \d+$", bans(banned), re.M)
    for n in c.nodes:
        if n is not banned:
            assert x not in bans(n), n.name
            assert not re.search(rf"ban: {re.escape(x)} banned", n.log())
    # round robin: three connections from x reach each node once; the
    # banning node refuses before any FTP, the two others greet
    codes = sorted(greeting(c, x) for _ in c.nodes)
    assert codes == ["220", "220", "421"], codes
    assert banned.wait_log(rf"refused {re.escape(x)} \(via proxy "
                           rf"127\.0\.0\.10\): .*banned")
    # another address is not concerned
    assert [greeting(c, "127.0.0.52") for _ in c.nodes] == ["220"] * 3
    # a ban pushed to every node's admin socket holds on the cluster
    y = "127.0.0.53"
    for n in c.nodes:
        r = n.ban("add", y, "300")
        assert r.returncode == 0, r.stderr
    assert [greeting(c, y) for _ in c.nodes] == ["421"] * 3
    for n in c.nodes:
        assert n.ban("clear", y).returncode == 0
    f = c.login(y)
    f.quit()


def test_node_killed_mid_session(make_cluster):
    """SIGKILL to a whole node (its process group: listener, monitors,
    workers) while it receives an upload and another node sends a file:
    the upload the killed node had committed (226) reads back intact
    through the survivor, the interrupted one never appears, the
    survivor's download completes intact and its session keeps working,
    and new logins go to the nodes still up."""
    c = make_cluster()
    big = os.urandom(16 * MiB)
    (c.home / "big.bin").write_bytes(big)
    chown_tree(c.home / "big.bin")
    fa, na = c.login_on("127.0.0.61", lambda n: True)
    fb, nb = c.login_on("127.0.0.62", lambda n: n is not na)
    committed = os.urandom(2 * MiB + 5)
    assert stor_bytes(fa, "committed.bin", committed).startswith("226")
    # in flight on the victim: an upload with 1 MiB sent, no end
    fa.voidcmd("TYPE I")
    up = fa.transfercmd("STOR partial.bin")
    up.sendall(os.urandom(MiB))
    assert wait_for(lambda: any(r["state"] == "STOR" and
                                r["path"] == "/partial.bin"
                                for r in na.who()), timeout=TIMEOUT)
    # in flight on the survivor: a download, first 64 KiB read
    fb.voidcmd("TYPE I")
    down = fb.transfercmd("RETR big.bin")
    got = io.BytesIO()
    got.write(down.recv(65536))
    assert na.group(), "the victim node has no processes"
    na.kill()
    # the victim's client sees its session end
    fa.sock.settimeout(TIMEOUT)
    try:
        assert fa.sock.recv(100) == b""
    except ConnectionResetError:
        pass
    for s in (up, fa):
        s.close()
    # the survivor's download completes, intact
    got.write(recv_all(down))
    down.close()
    assert fb.voidresp().startswith("226")
    assert sha(got.getvalue()) == sha(big)
    # and its session carries on: the committed upload is whole, the
    # interrupted one left nothing, a new upload works
    assert sha(retr_bytes(fb, "committed.bin")) == sha(committed)
    names = fb.nlst()
    assert "committed.bin" in names and "partial.bin" not in names, names
    after = os.urandom(MiB)
    stor_bytes(fb, "after.bin", after)
    assert sha(retr_bytes(fb, "after.bin")) == sha(after)
    assert not list(c.home.glob("partial.bin*"))
    assert not list(c.home.glob(".kf-upload-*"))
    fb.quit()
    # new logins land on the nodes still up (haproxy redispatches a
    # refused connection, and its health check marks the node down)
    for i in range(4):
        f = c.login(f"127.0.0.{70 + i}")
        assert c.node_of(f) is not na
        assert f.pwd() == "/"
        f.quit()
    assert nb.proc.poll() is None


# -- users in PostgreSQL (issue 17 item 4) -----------------------------------

@pytest.fixture(scope="module")
def pg():
    if not pgserver.available():
        pytest.skip("postgresql is not installed (Debian package postgresql, "
                    "scripts/deps.sh)")
    server = pgserver.PgServer()
    yield server
    server.close()


def pg_cluster(make_cluster, pg, **extra):
    """Three nodes whose users are in PostgreSQL (kf-pgauth each), the
    cluster's user alice moved from the users file into the table with
    the same hash, uid, gid, home and flags; cluster-wide bans on."""
    if not pg.running():
        pg.start()
    pg.psql("DELETE FROM keepftpd_users")
    pg.psql("DELETE FROM keepftpd_bans")
    conf = {"users_backend": "postgresql", "pg_conninfo": pg.conninfo(),
            "pg_timeout": "2", "pg_pool": "2", "pg_bans": "yes",
            "ban_failures": "2", "ban_window": "60", "ban_seconds": "300",
            "max_login_failures": "3"}
    conf.update(extra)
    c = Cluster(node_conf=conf)
    name, hash_, uid, gid, home, flags = \
        c.users.read_text().splitlines()[0].split(":", 5)
    pg.add_user(name, hash_, int(uid), int(gid), home, flags)
    c.users.write_text("")  # the table alone holds the users now
    make_cluster.adopt(c)
    return c.start()


def test_pg_users_and_bans_on_every_node(make_cluster, pg):
    """With users in PostgreSQL the user logs in on all three nodes; a
    brute-forcer's failed logins counted by one node ban its address on
    every node within seconds (pg_bans, keepftpd_bans)."""
    c = pg_cluster(make_cluster, pg)
    sessions = [c.login_on(f"127.0.0.{61 + i}", lambda o, w=n: o is w)[0]
                for i, n in enumerate(c.nodes)]
    for f in sessions:
        assert b"hello.txt" in retr_list(f)
    quit_all(sessions)
    x = "127.0.0.64"
    banned = fail_until_banned(c, x)
    for n in c.nodes:
        if n is not banned:
            assert n.wait_log(rf"ban: {re.escape(x)} banned for \d+ s "
                              r"\(from the users database\)", timeout=8), \
                n.name
    # every node refuses x before any FTP; another address still logs in
    assert [greeting(c, x) for _ in c.nodes] == ["421"] * 3
    f = c.login("127.0.0.65")
    f.quit()


def retr_list(f):
    out = io.BytesIO()
    f.retrbinary("NLST", out.write)
    return out.getvalue()


def test_pg_down_logins_421_sessions_go_on(make_cluster, pg):
    """PostgreSQL stopped: a new login through the balancer gets 421 at
    once on whichever node it lands; the sessions already logged in on
    the three nodes keep listing, downloading and uploading; with the
    database back, logins work again."""
    c = pg_cluster(make_cluster, pg, pg_bans="no")
    sessions = [c.login_on(f"127.0.0.{71 + i}", lambda o, w=n: o is w)[0]
                for i, n in enumerate(c.nodes)]
    pg.stop()
    try:
        for i in range(3):
            f = c.client(f"127.0.0.{74 + i}")
            t0 = time.monotonic()
            with pytest.raises(ftplib.error_temp, match="^421"):
                f.login(USER, PASSWORD)
            assert time.monotonic() - t0 < 5
            f.close()
        for i, f in enumerate(sessions):
            data = os.urandom(64 * 1024 + i)
            stor_bytes(f, f"down{i}.bin", data)
            assert sha(retr_bytes(f, f"down{i}.bin")) == sha(data)
            assert b"hello.txt" in retr_list(f)
    finally:
        pg.start()
    assert wait_for(lambda: try_login(c, "127.0.0.77"), timeout=15)
    quit_all(sessions)


def try_login(c, src):
    try:
        f = c.login(src)
    except ftplib.error_temp:
        return False
    f.quit()
    return True
