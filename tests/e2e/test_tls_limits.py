"""Rates, the minimum rate and quotas hold over FTPS data connections
(PROT P) as they do in the clear: both run the same loops of the
transfer engine (fs/xfer.c), only the transport differs (tls_xfer.c)."""
import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import ftplib
import pytest

from conftest import BIN, NOBODY, TIMEOUT, make_base
from tls_helpers import certs, tls_login, tls_server  # certs: a fixture

MiB = 1 << 20


def test_prot_p_download_and_upload_are_paced(start_server, certs):
    import time
    srv = tls_server(start_server, certs, download_rate=4 * MiB, upload_rate=2 * MiB)
    with open(srv.home / "big.bin", "wb") as f:
        f.truncate(8 * MiB)
    f = tls_login(srv)
    f.voidcmd("TYPE I")
    got = [0]
    t0 = time.monotonic()
    f.retrbinary("RETR big.bin", lambda b: got.__setitem__(0, got[0] + len(b)))
    took = time.monotonic() - t0
    print(f"PROT P RETR 8 MiB at 4 MiB/s: {took:.3f} s")
    assert got[0] == 8 * MiB and abs(took - 2.0) <= 0.3
    t0 = time.monotonic()
    f.storbinary("STOR up.bin", io.BytesIO(b"u" * (4 * MiB)))
    took = time.monotonic() - t0
    print(f"PROT P STOR 4 MiB at 2 MiB/s: {took:.3f} s")
    assert abs(took - 2.0) <= 0.3
    f.quit()


def test_prot_p_upload_over_quota(start_server, certs):
    qdir = Path(tempfile.mkdtemp(prefix="kf-quota-", dir="/tmp"))
    qdir.chmod(0o755)
    try:
        srv = tls_server(start_server, certs, quota_dir=qdir)
        r = subprocess.run([BIN, "user", "-f", str(srv.users), "set", srv.user,
                            "--quota-bytes", str(MiB)], capture_output=True,
                           text=True, timeout=TIMEOUT)
        assert r.returncode == 0, r.stderr
        (srv.home / "keep.bin").write_bytes(b"old\n")
        f = tls_login(srv)
        f.voidcmd("TYPE I")
        conn = f.transfercmd("STOR keep.bin")
        try:
            for _ in range(48):
                conn.sendall(b"n" * (64 * 1024))
        except OSError:  # ssl.SSLError included: the server ended it
            pass
        conn.close()
        with pytest.raises(ftplib.error_perm, match=r"^552"):
            f.voidresp()
        assert (srv.home / "keep.bin").read_bytes() == b"old\n"
        assert not [p for p in srv.home.iterdir() if p.name.startswith(".kf-upload")]
        f.quit()
    finally:
        shutil.rmtree(qdir, ignore_errors=True)
