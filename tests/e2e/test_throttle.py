"""Rate limits: download_rate, upload_rate, the anonymous rates and the
per-user users-file flags (down_rate=, up_rate=). A paced transfer takes
size/rate seconds (within 15%), moves smoothly (no burst of the whole
file, then a sleep) and still answers ABOR and STAT at once."""
import io
import os
import subprocess
import time

from conftest import BIN, IS_ROOT, TIMEOUT, epsv_port  # noqa: F401

MiB = 1 << 20
TOLERANCE = 0.15


def timed_retr(ftp, name):
    """(bytes, seconds) of RETR name, from the command to the 226."""
    got = [0]

    def sink(block):
        got[0] += len(block)
    t0 = time.monotonic()
    ftp.retrbinary(f"RETR {name}", sink, blocksize=256 * 1024)
    return got[0], time.monotonic() - t0


def timed_stor(ftp, name, size):
    t0 = time.monotonic()
    ftp.storbinary(f"STOR {name}", io.BytesIO(b"u" * size), blocksize=256 * 1024)
    return time.monotonic() - t0


def assert_rate(seconds, size, rate):
    want = size / rate
    print(f"{size} bytes at {rate} bytes/s: {seconds:.3f} s (expected {want:.3f} s, "
          f"{100 * (seconds - want) / want:+.1f}%)")
    assert abs(seconds - want) <= TOLERANCE * want, (seconds, want)


def big_file(srv, root, name, size):
    path = root / name
    with open(path, "wb") as f:
        f.truncate(size)
    os.chmod(path, 0o644)
    return path


def set_limits(srv, *args):
    r = subprocess.run([BIN, "user", "-f", str(srv.users), "set", srv.user, *args],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    if IS_ROOT and srv.rootless:
        os.chown(srv.users, 65534, 65534)


def test_download_rate_32mib(start_server):
    """32 MiB at 8 MiB/s: 4 s within 15%."""
    rate = 8 * MiB
    srv = start_server(conf_extra={"download_rate": str(rate)}, rootless=not IS_ROOT)
    big_file(srv, srv.home, "big.bin", 32 * MiB)
    f = srv.login(timeout=30)
    f.voidcmd("TYPE I")
    n, took = timed_retr(f, "big.bin")
    assert n == 32 * MiB
    assert_rate(took, n, rate)
    f.quit()
    assert srv.wait_log(r'RETR path="/big.bin" bytes=33554432 ms=\d+ status=ok')


def test_download_is_smooth(start_server):
    """What arrives by each quarter second stays near the rate: no burst
    of the whole file then a sleep."""
    rate = 4 * MiB
    srv = start_server(conf_extra={"download_rate": str(rate)}, rootless=not IS_ROOT)
    big_file(srv, srv.home, "big.bin", 12 * MiB)
    f = srv.login(timeout=30)
    f.voidcmd("TYPE I")
    conn = f.transfercmd("RETR big.bin")
    t0 = time.monotonic()
    got, samples = 0, []
    while True:
        block = conn.recv(65536)
        if not block:
            break
        got += len(block)
        samples.append((time.monotonic() - t0, got))
    conn.close()
    assert f.voidresp().startswith("226")
    assert got == 12 * MiB
    for t, n in samples:
        if t < 0.25:
            continue
        # ahead of the rate by at most a few slices of 1/20 s
        assert n <= rate * t + 0.25 * rate, (t, n)
        assert n >= rate * t - 0.25 * rate, (t, n)
    f.quit()


def test_upload_rate(start_server):
    """8 MiB at 2 MiB/s: 4 s within 15%, counted until the 226."""
    rate = 2 * MiB
    srv = start_server(conf_extra={"upload_rate": str(rate)}, rootless=not IS_ROOT)
    f = srv.login(timeout=30)
    f.voidcmd("TYPE I")
    took = timed_stor(f, "up.bin", 8 * MiB)
    assert_rate(took, 8 * MiB, rate)
    assert (srv.home / "up.bin").stat().st_size == 8 * MiB
    f.quit()


def test_anon_rate_and_unlimited_user(start_server):
    """anon_download_rate paces anonymous sessions only."""
    rate = 2 * MiB
    srv = start_server(conf_extra={"anon_download_rate": str(rate)},
                       rootless=not IS_ROOT)
    big_file(srv, srv.anon, "a.bin", 4 * MiB)
    big_file(srv, srv.home, "a.bin", 4 * MiB)
    a = srv.anon_login()
    a.voidcmd("TYPE I")
    n, took = timed_retr(a, "a.bin")
    assert n == 4 * MiB
    assert_rate(took, n, rate)
    a.quit()
    u = srv.login()
    u.voidcmd("TYPE I")
    n, took = timed_retr(u, "a.bin")
    assert n == 4 * MiB and took < 1.0
    u.quit()


def test_per_user_rates_replace_the_global_ones(start_server):
    """down_rate= and up_rate= from `keepftpd user set`; down_rate=0
    lifts the configured download_rate for that user."""
    srv = start_server(conf_extra={"download_rate": str(MiB), "upload_rate": str(MiB)},
                       rootless=not IS_ROOT)
    big_file(srv, srv.home, "p.bin", 6 * MiB)
    set_limits(srv, "--down-rate", str(3 * MiB), "--up-rate", str(2 * MiB))
    listed = subprocess.run([BIN, "user", "-f", str(srv.users), "list"],
                            capture_output=True, text=True, timeout=TIMEOUT).stdout
    assert f"write,down_rate={3 * MiB},up_rate={2 * MiB}" in listed
    f = srv.login(timeout=30)
    assert (f"Rate limits in bytes/s: download {3 * MiB}, upload {2 * MiB}"
            in f.sendcmd("STAT"))
    f.voidcmd("TYPE I")
    n, took = timed_retr(f, "p.bin")
    assert_rate(took, n, 3 * MiB)
    took = timed_stor(f, "q.bin", 4 * MiB)
    assert_rate(took, 4 * MiB, 2 * MiB)
    f.quit()
    set_limits(srv, "--down-rate", "0")
    f = srv.login(timeout=30)
    f.voidcmd("TYPE I")
    n, took = timed_retr(f, "p.bin")
    assert took < 1.0
    f.quit()

def abor_answered_at_once(f):
    """ABOR during a paced transfer: 426 then 226, within half a second."""
    t0 = time.monotonic()
    f.sock.sendall(b"ABOR\r\n")
    assert f.getmultiline().startswith("426")
    assert f.getmultiline().startswith("226")
    assert time.monotonic() - t0 < 0.5


def paced_download(start_server):
    """A server with download_rate 1 MiB/s and a 32 MiB big.bin, a logged-in
    client, and its RETR of big.bin started: (server, ftp, data socket)."""
    srv = start_server(conf_extra={"download_rate": str(MiB)}, rootless=not IS_ROOT)
    big_file(srv, srv.home, "big.bin", 32 * MiB)
    f = srv.login(timeout=10)
    f.voidcmd("TYPE I")
    return srv, f, f.transfercmd("RETR big.bin")



def test_abor_and_stat_during_a_paced_download(start_server):
    """At 1 MiB/s a 32 MiB download would take 32 s: STAT answers with
    the progress and ABOR ends it, both at once."""
    srv, f, conn = paced_download(start_server)
    got = 0
    while got < MiB:
        got += len(conn.recv(65536))
    t0 = time.monotonic()
    f.sock.sendall(b"STAT\r\n")
    r = f.getresp()
    assert r.startswith("213 Status: ") and time.monotonic() - t0 < 0.5, r
    abor_answered_at_once(f)
    conn.close()
    assert f.sendcmd("NOOP").startswith("200")
    f.quit()
    assert srv.wait_log(r'RETR path="/big.bin" bytes=\d+ ms=\d+ status=aborted')


def test_listings_are_not_paced(start_server):
    srv = start_server(conf_extra={"download_rate": "1000"}, rootless=not IS_ROOT)
    for i in range(300):
        (srv.home / f"f{i:04d}-{'x' * 40}").write_bytes(b"")
    f = srv.login()
    t0 = time.monotonic()
    lines = []
    f.retrlines("LIST", lines.append)
    assert len(lines) >= 300 and time.monotonic() - t0 < 2
    f.quit()


def test_abor_during_a_paced_upload_keeps_the_old_file(start_server):
    srv = start_server(conf_extra={"upload_rate": str(256 * 1024)}, rootless=not IS_ROOT)
    (srv.home / "keep.bin").write_bytes(b"old\n")
    f = srv.login(timeout=10)
    f.voidcmd("TYPE I")
    conn = f.transfercmd("STOR keep.bin")
    conn.sendall(b"n" * MiB)  # the kernel takes it; the server reads 256 KiB/s
    time.sleep(0.5)
    abor_answered_at_once(f)
    conn.close()
    assert (srv.home / "keep.bin").read_bytes() == b"old\n"
    assert not [p for p in srv.home.iterdir() if p.name.startswith(".kf-upload")]
    f.quit()


def test_client_gone_during_a_paced_download(start_server):
    """The reader closes its end: the paced sender notices at its next
    slice and answers 426, the session goes on."""
    srv, f, conn = paced_download(start_server)
    conn.recv(65536)
    conn.close()
    t0 = time.monotonic()
    r = f.getmultiline()
    assert r.startswith("426"), r
    assert time.monotonic() - t0 < 3
    assert f.sendcmd("NOOP").startswith("200")
    f.quit()


def test_sigterm_ends_a_paced_download(start_server):
    srv, f, conn = paced_download(start_server)
    conn.recv(65536)
    # the first SIGTERM drains (the transfer goes on: test_systemd.py),
    # a second one cuts it
    srv.proc.terminate()
    time.sleep(0.3)
    conn.recv(65536)
    t0 = time.monotonic()
    srv.proc.terminate()
    r = f.getmultiline()
    assert r.startswith("426 Transfer aborted."), r
    assert time.monotonic() - t0 < 2
    conn.close()
    assert srv.proc.wait(10) == 0


def test_own_pace_never_trips_the_minimum_rate(start_server):
    """data_min_rate above the upload's own rate: the minimum is held to
    half the rate, so a paced upload over several windows completes."""
    srv = start_server(conf_extra={"upload_rate": "2000", "data_min_rate": "100000",
                                   "data_timeout": "1"}, rootless=not IS_ROOT)
    f = srv.login(timeout=15)
    f.voidcmd("TYPE I")
    took = timed_stor(f, "slow.bin", 6000)
    assert_rate(took, 6000, 2000)
    assert (srv.home / "slow.bin").stat().st_size == 6000
    f.quit()
