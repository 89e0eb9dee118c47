"""metrics_listen: the Prometheus endpoint served by kf-metrics.

Off by default; on, `GET /metrics` passes `promtool check metrics`, and a
known run of sessions moves exactly the counters it should. The endpoint
answers nothing but GET/HEAD /metrics, bounds the request head and the
connection's time, and runs in its own sandboxed process holding only its
socket, its log and a read-only view of the counters; killed, it comes
back and the sessions do not notice.
"""
import ftplib
import io
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import (IS_ROOT, MODES, NOBODY, descendants_named, free_port,
                      proc_status, wait_for)
from tls_helpers import certs, tls_login  # noqa: F401 (a fixture)

PROMTOOL = "/usr/bin/promtool"


def metrics_server(start_server, rootless, **extra):
    port = free_port()
    conf = {"metrics_listen": f"127.0.0.1:{port}"}
    conf.update(extra)
    srv = start_server(mode="config", rootless=rootless, conf_extra=conf)
    srv.metrics_port = port
    assert wait_for(lambda: kf_metrics(srv) is not None), srv.log()
    return srv


def kf_metrics(srv):
    found = descendants_named(srv.pid, "kf-metrics")
    return found[0] if len(found) == 1 else None


def http(port, request, timeout=5):
    """Sends request (bytes) and reads to the end: (status, headers, body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in
               (line.partition(":") for line in lines[1:])}
    return status, headers, body


def scrape_text(srv):
    status, headers, body = http(srv.metrics_port,
                                 b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    assert int(headers["content-length"]) == len(body)
    return body.decode()


def scrape(srv):
    """{'name{labels}': value} of every sample line."""
    out = {}
    for line in scrape_text(srv).splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = int(value)
    return out


def delta(after, before):
    return {k: after[k] - before.get(k, 0) for k in after
            if after[k] != before.get(k, 0) and "build_info" not in k}


def idle(srv):
    """No session left, as the listener counts them."""
    m = scrape(srv)
    return (m['keepftpd_sessions{state="prelogin"}'] == 0 and
            m['keepftpd_sessions{state="logged_in"}'] == 0)


def test_off_by_default(rsrv):
    assert "metrics_listen" not in rsrv.conf.read_text()
    time.sleep(0.3)
    assert descendants_named(rsrv.pid, "kf-metrics") == []
    assert "metrics:" not in rsrv.log()
    # nothing but the FTP port listens in the server's processes
    inodes = set()
    for pid in [rsrv.pid]:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    listening = []
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        f = line.split()
        if f[3] == "0A" and f[9] in inodes:
            listening.append(int(f[1].split(":")[1], 16))
    assert listening == [rsrv.port]


@pytest.mark.parametrize("mode", MODES)
def test_counters_agree_with_a_known_run(start_server, certs, mode):
    srv = metrics_server(start_server, mode == "rootless", max_per_ip="2",
                         tls_cert=str(certs["cert"]), tls_key=str(certs["key"]),
                         tls_required_users="no")
    text = scrape_text(srv)
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'keepftpd_build_info{version="' in text
    before = scrape(srv)
    down = os.urandom(123457)
    up = os.urandom(54321)
    (srv.home / "metrics.bin").write_bytes(down)
    if IS_ROOT:
        os.chown(srv.home / "metrics.bin", NOBODY, NOBODY)

    # two anonymous sessions held open, a third connection refused by IP
    a1, a2 = srv.anon_login(), srv.anon_login()
    third = srv.raw()
    assert third.reply().startswith("421")
    third.close()
    a1.quit()
    a2.quit()
    assert wait_for(lambda: idle(srv))
    # one failed password login
    f = srv.connect()
    with pytest.raises(ftplib.error_perm):
        f.login(srv.user, "not the password")
    f.close()
    # one users-file login: one RETR, one STOR
    f = srv.login()
    got = io.BytesIO()
    f.retrbinary("RETR metrics.bin", got.write)
    assert got.getvalue() == down
    f.storbinary("STOR metrics-up.bin", io.BytesIO(up))
    f.quit()
    # one FTPS session (anonymous)
    f = tls_login(srv, user="anonymous", password="x@example.com", prot_p=False)
    f.quit()

    want = {
        "keepftpd_sessions_total": 5,
        'keepftpd_refusals_total{reason="per_ip"}': 1,
        'keepftpd_logins_total{result="ok",method="anonymous"}': 3,
        'keepftpd_logins_total{result="ok",method="users_file"}': 1,
        'keepftpd_logins_total{result="failed",method="password"}': 1,
        'keepftpd_transfers_total{direction="download",result="ok"}': 1,
        'keepftpd_transfers_total{direction="upload",result="ok"}': 1,
        'keepftpd_transfer_bytes_total{direction="download"}': len(down),
        'keepftpd_transfer_bytes_total{direction="upload"}': len(up),
        'keepftpd_tls_handshakes_total{result="ok"}': 1,
    }
    # the monitors' last tallies arrive as the sessions end
    wait_for(lambda: delta(scrape(srv), before) == want)
    assert delta(scrape(srv), before) == want
    m = scrape(srv)
    assert m["keepftpd_password_verifications_waiting"] == 0
    assert m["keepftpd_bans_active"] == 0


def test_http_answers(start_server):
    srv = metrics_server(start_server, not IS_ROOT)
    port = srv.metrics_port
    st, h, body = http(port, b"HEAD /metrics HTTP/1.0\r\n\r\n")
    assert st == 200 and body == b"" and int(h["content-length"]) > 1000
    assert h["connection"] == "close"
    st, _, _ = http(port, b"GET /metrics?x=1 HTTP/1.0\r\nAccept: */*\r\n\r\n")
    assert st == 200
    assert http(port, b"GET / HTTP/1.1\r\n\r\n")[0] == 404
    assert http(port, b"GET /metricsx HTTP/1.1\r\n\r\n")[0] == 404
    st, h, _ = http(port, b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
    assert st == 405 and h["allow"] == "GET, HEAD"
    assert http(port, b"DELETE /metrics HTTP/1.1\r\n\r\n")[0] == 405
    assert http(port, b"GET /metrics\r\n\r\n")[0] == 400
    assert http(port, b"GET /metrics HTTP/1.1\nHost: x\n\n")[0] == 400
    assert http(port, b"GET /metrics HTTP/1.1\r\nno colon\r\n\r\n")[0] == 400
    assert http(port, b"GET /metrics HTTP/2.0\r\n\r\n")[0] == 505
    assert http(port, b"GET /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")[0] == 413
    # a head over 8 KiB, and more header lines than allowed
    big = b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n"
    assert http(port, big)[0] == 431
    many = b"GET /metrics HTTP/1.1\r\n" + b"X: y\r\n" * 65 + b"\r\n"
    assert http(port, many)[0] == 431
    # still serving
    assert http(port, b"GET /metrics HTTP/1.1\r\n\r\n")[0] == 200


def test_slow_client_is_cut(start_server):
    srv = metrics_server(start_server, not IS_ROOT)
    s = socket.create_connection(("127.0.0.1", srv.metrics_port), timeout=10)
    s.sendall(b"GET /metr")
    t0 = time.monotonic()
    # others are served meanwhile
    assert http(srv.metrics_port, b"GET /metrics HTTP/1.1\r\n\r\n")[0] == 200
    assert s.recv(100) == b""  # closed, no answer
    took = time.monotonic() - t0
    s.close()
    assert 4.0 <= took <= 7.0, took


@pytest.mark.parametrize("mode", MODES)
def test_kf_metrics_is_confined(start_server, mode):
    srv = metrics_server(start_server, mode == "rootless")
    pid = kf_metrics(srv)
    st = proc_status(pid)
    assert st["Uid"].split() == [str(NOBODY)] * 4
    assert st["Gid"].split() == [str(NOBODY)] * 4
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        if cap == "CapBnd" and mode == "rootless":
            continue  # no CAP_SETPCAP to empty it with (as the spawners)
        assert int(st[cap], 16) == 0, (cap, st[cap])
    assert st["NoNewPrivs"] == "1"
    assert st["Seccomp"] == "2"
    fds = {int(fd): os.readlink(f"/proc/{pid}/fd/{fd}")
           for fd in os.listdir(f"/proc/{pid}/fd")}
    assert fds[0] == "/dev/null" and fds[1] == "/dev/null"
    assert fds[2] == str(srv.stderr_path)  # the log
    assert fds[3].startswith("socket:[")
    assert sorted(fds) == [0, 1, 2, 3], fds
    # the socket is the listening one
    inode = fds[3][8:-1]
    rows = [line.split() for line in open("/proc/net/tcp").read().splitlines()[1:]]
    assert any(r[9] == inode and r[3] == "0A" and
               int(r[1].split(":")[1], 16) == srv.metrics_port for r in rows)
    # the counters: one shared mapping, read-only (its fd is closed)
    maps = [line for line in open(f"/proc/{pid}/maps") if "kf-metrics" in line]
    assert len(maps) == 1 and maps[0].split()[1] == "r--s", maps
    # the listener's own view is writable and nobody else's
    lmaps = [line for line in open(f"/proc/{srv.pid}/maps") if "kf-metrics" in line]
    assert len(lmaps) == 1 and lmaps[0].split()[1] == "rw-s", lmaps
    f = srv.anon_login()
    mon = descendants_named(srv.pid, "kf-monitor")
    assert mon
    for m in mon:
        assert not [line for line in open(f"/proc/{m}/maps") if "kf-metrics" in line]
        targets = [os.readlink(f"/proc/{m}/fd/{fd}") for fd in os.listdir(f"/proc/{m}/fd")]
        assert not [t for t in targets if "kf-metrics" in t or "kf-conf" in t]
    f.quit()


def test_killed_kf_metrics_comes_back(start_server):
    srv = metrics_server(start_server, not IS_ROOT)
    f = srv.anon_login()
    before = scrape(srv)["keepftpd_sessions_total"]
    old = kf_metrics(srv)
    os.kill(old, signal.SIGKILL)
    assert wait_for(lambda: kf_metrics(srv) not in (None, old), timeout=5), srv.log()
    assert srv.wait_log(r"kf-metrics \(pid %d\) ended \(signal 9\)" % old)
    # the session goes on; the counters were the listener's all along
    assert f.nlst() != []
    f.quit()
    g = srv.anon_login()
    g.quit()
    assert wait_for(lambda: scrape(srv)["keepftpd_sessions_total"] == before + 1)


def test_reload_keeps_metrics_listen(start_server):
    """metrics_listen is read at start, as the listen lines: a reload that
    drops it leaves the endpoint up and the monitors still reporting."""
    srv = metrics_server(start_server, not IS_ROOT)
    before = scrape(srv)
    pid = kf_metrics(srv)
    text = srv.conf.read_text()
    srv.conf.write_text("".join(line + "\n" for line in text.splitlines()
                                if not line.startswith("metrics_listen")))
    os.kill(srv.pid, signal.SIGHUP)
    assert srv.wait_log("configuration reloaded")
    srv.anon_login().quit()
    key = 'keepftpd_logins_total{result="ok",method="anonymous"}'
    assert wait_for(lambda: scrape(srv)[key] == before[key] + 1), scrape(srv)
    assert kf_metrics(srv) == pid
