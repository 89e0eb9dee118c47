"""Shared storage (issue 17, item 5): two nodes -- two keepftpd
processes on their own ports -- with the same users file, the same
user root and the same quota_dir, as several nodes behind a balancer
share one file system.

- Same-name uploads from both nodes at once: the file is always exactly
  one of them, never a mix, and no temporary file is ever listed or
  left behind (with O_TMPFILE, and with the named temporary files that
  file systems without O_TMPFILE, such as NFS, get).
- One user uploading through both nodes at once: the recorded quota
  usage is what is on disk, and the limit holds across the nodes.
- APPE from both nodes at once: one writer at a time (450 for the
  other), so appends never interleave.

Every socket has a timeout and every wait a deadline."""
import ftplib
import hashlib
import io
import os
import shutil
import threading
import time

import pytest

from conftest import IS_ROOT, TIMEOUT
from test_quota import (KiB, MiB, SEED_BYTES, disk_usage, make_qdir, push,
                        recorded, set_quota)


@pytest.fixture
def nodes(start_server):
    """nodes(**conf) -> (n1, n2): n2 uses n1's users file (so n1's home
    is the root of both) and both one quota_dir (n1.qdir, n2.qdir)."""
    dirs = []

    def make(quota_bytes=0, quota_files=0, **conf):
        qdir = make_qdir(not IS_ROOT)
        dirs.append(qdir)
        conf = {"quota_dir": str(qdir), **conf}
        n1 = start_server(conf_extra=conf, rootless=not IS_ROOT)
        n2 = start_server(conf_extra={"users_file": str(n1.users), **conf},
                          rootless=not IS_ROOT)
        for n in (n1, n2):
            n.qdir = qdir
        n2.users, n2.home = n1.users, n1.home
        set_quota(n1, quota_bytes, quota_files)
        return n1, n2
    yield make
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


def content(tag, size=256 * KiB):
    """size bytes no other tag has at any offset (a mix would show)."""
    block = hashlib.sha256(tag.encode()).digest()
    return (block * (size // len(block) + 1))[:size]


def slow_stor(f, name, data, block=16 * KiB):
    """STOR in blocks with short pauses, so that two overlap."""
    conn = f.transfercmd(f"STOR {name}")
    for i in range(0, len(data), block):
        conn.sendall(data[i:i + block])
        time.sleep(0.002)
    conn.close()
    return f.voidresp()


def both(fn_a, fn_b):
    """Runs both at once (a barrier at the start); their results."""
    out, bar = [None, None], threading.Barrier(2, timeout=TIMEOUT)

    def run(i, fn):
        bar.wait()
        try:
            out[i] = fn()
        except Exception as e:  # noqa: BLE001 - reported by the caller
            out[i] = e
    ts = [threading.Thread(target=run, args=(i, fn))
          for i, fn in enumerate((fn_a, fn_b))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    return out


@pytest.mark.parametrize("tmpfile", ["yes", "no"],
                         ids=["unnamed-tmpfile", "named-tmpfile"])
def test_same_name_uploads_one_wins_whole(nodes, tmpfile):
    n1, n2 = nodes(upload_tmpfile=tmpfile)
    f1, f2 = n1.login(timeout=15), n2.login(timeout=15)
    watch = n2.login(timeout=15)
    for f in (f1, f2, watch):
        f.voidcmd("TYPE I")
    seen, stop = set(), threading.Event()

    def lister():  # a third session listing all along
        while not stop.is_set():
            seen.update(watch.nlst())
    lt = threading.Thread(target=lister)
    lt.start()
    won = {"n1": 0, "n2": 0}
    try:
        for i in range(20):
            a, b = content(f"n1-{i}"), content(f"n2-{i}")
            ra, rb = both(lambda: slow_stor(f1, "same.bin", a),
                          lambda: slow_stor(f2, "same.bin", b))
            assert str(ra).startswith("226") and str(rb).startswith("226"), \
                (ra, rb)
            got = (n1.home / "same.bin").read_bytes()
            assert got in (a, b), f"round {i}: a mix of both uploads"
            won["n1" if got == a else "n2"] += 1
            # served whole through either node
            for f in (f1, f2):
                buf = io.BytesIO()
                f.retrbinary("RETR same.bin", buf.write)
                assert buf.getvalue() == got
            left = [n for n in os.listdir(n1.home)
                    if n.startswith(".kf-upload-")]
            assert left == [], left
    finally:
        stop.set()
        lt.join(30)
    assert not [n for n in seen if ".kf-upload-" in n], seen
    print("rounds won:", won)
    for f in (f1, f2, watch):
        f.quit()


def test_quota_usage_right_through_two_nodes(nodes):
    """Two sessions on each node upload, overwrite one shared name,
    append and delete at once: the recorded usage equals the disk's."""
    n1, n2 = nodes(quota_bytes=SEED_BYTES + 64 * MiB, quota_files=1000)

    def worker(node, tag):
        def go():
            f = node.login(timeout=15)
            f.voidcmd("TYPE I")
            for i in range(8):
                data = content(f"{tag}-{i}", (i + 1) * 24 * KiB)
                assert slow_stor(f, f"{tag}-{i}.bin", data).startswith("226")
                assert slow_stor(f, "shared.bin", data[:(i + 1) * 7 * KiB]
                                 ).startswith("226")
                assert push(f, f"APPE {tag}.log", data[:3 * KiB]
                            )[0].startswith("226")
                if i % 3 == 2:
                    f.delete(f"{tag}-{i - 1}.bin")
            f.quit()
            return "ok"
        return go
    runs = []
    for k in range(2):
        runs.append(both(worker(n1, f"a{k}"), worker(n2, f"b{k}")))
        # and the two pairs at once as well
    assert runs == [["ok", "ok"], ["ok", "ok"]], runs
    four = both(lambda: both(worker(n1, "c0"), worker(n2, "c1")),
                lambda: both(worker(n1, "c2"), worker(n2, "c3")))
    assert four == [["ok", "ok"], ["ok", "ok"]], four
    assert recorded(n1) == disk_usage(n1.home)


def test_quota_limit_holds_across_nodes(nodes):
    """The same user on both nodes, 2 MiB each against 3 MiB of room:
    together they never store more than the quota, and the record
    matches the disk."""
    room = 3 * MiB
    n1, n2 = nodes(quota_bytes=SEED_BYTES + room)
    a, b = n1.login(timeout=15), n2.login(timeout=15)
    for f in (a, b):
        f.voidcmd("TYPE I")
    ra, rb = both(lambda: push(a, "STOR a.bin", b"a" * (2 * MiB))[0],
                  lambda: push(b, "STOR b.bin", b"b" * (2 * MiB))[0])
    assert [str(ra)[:3], str(rb)[:3]].count("552") >= 1, (ra, rb)
    used, files = disk_usage(n1.home)
    assert used <= SEED_BYTES + room
    assert recorded(n1) == (used, files)
    for f in (a, b):
        f.quit()


def test_appe_one_writer_at_a_time(nodes):
    """An APPE on n1 holds the file while its data flows: APPE (and
    REST+STOR) of it on n2 answers 450 and changes nothing; after n1's
    226, n2's APPE goes through. The file is the two appends in order."""
    n1, n2 = nodes()
    (n1.home / "log.txt").write_bytes(b"start\n")
    if IS_ROOT:
        os.chown(n1.home / "log.txt", 65534, 65534)
    f1, f2 = n1.login(timeout=15), n2.login(timeout=15)
    for f in (f1, f2):
        f.voidcmd("TYPE I")
    conn = f1.transfercmd("APPE log.txt")
    conn.sendall(b"one-" * 1000)
    time.sleep(0.2)
    with pytest.raises(ftplib.error_temp, match="^450 File busy"):
        f2.storbinary("APPE log.txt", io.BytesIO(b"two\n"))
    with pytest.raises(ftplib.error_temp, match="^450 File busy"):
        f2.storbinary("STOR log.txt", io.BytesIO(b"two\n"), rest=6)
    conn.sendall(b"end\n")
    conn.close()
    assert f1.voidresp().startswith("226")
    f2.storbinary("APPE log.txt", io.BytesIO(b"two\n"))
    assert (n1.home / "log.txt").read_bytes() == \
        b"start\n" + b"one-" * 1000 + b"end\n" + b"two\n"
    for f in (f1, f2):
        f.quit()
