"""Client-certificate login (tls_client_cert_login): the session starts
from the global rates like any other login, and a certificate whose
subject holds more than one CN names nobody (issue 12, item 10)."""

import ftplib
import subprocess
import time

import pytest

from conftest import USER
from tls_helpers import (cert_ctx, certs, pki, retr, tls_login,  # noqa: F401 (fixtures)
                         tls_server)


def test_cert_login_has_global_download_rate(start_server, certs, pki):
    srv = tls_server(start_server, certs, tls_client_ca=pki["ca"],
                     tls_client_cert_login="yes", download_rate=20000,
                     data_min_rate=0)
    (srv.home / "big.bin").write_bytes(b"x" * 60000)
    f = tls_login(srv, password="", ctx=cert_ctx(pki["cert"], pki["key"]))
    t0 = time.monotonic()
    assert retr(f, "big.bin") == b"x" * 60000
    elapsed = time.monotonic() - t0
    f.quit()
    assert srv.wait_log(rf'login ok: user="{USER}" .*\(client certificate\)')
    # 60000 bytes at 20000 B/s: about 3 s; unpaced it takes milliseconds
    assert elapsed >= 1.5, elapsed


def two_cn_client(d, ca_crt, ca_key, subj):
    run = lambda argv: subprocess.run(argv, check=True, capture_output=True, timeout=60)
    key, csr, crt = d / "two.key", d / "two.csr", d / "two.crt"
    run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", subj])
    run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey",
         str(ca_key), "-CAcreateserial", "-days", "2", "-out", str(crt)])
    for p in (key, crt):
        p.chmod(0o644)
    return crt, key


def test_cert_with_two_cns_is_refused(start_server, certs, pki, tmp_path):
    tmp_path.chmod(0o755)
    crt, key = two_cn_client(tmp_path, pki["ca"], pki["ca"].parent / "ca.key",
                             f"/CN={USER}/CN=mallory")
    srv = tls_server(start_server, certs, tls_client_ca=pki["ca"],
                     tls_client_cert_login="yes")
    with pytest.raises(ftplib.error_perm, match="530"):
        tls_login(srv, password="", ctx=cert_ctx(crt, key))
    assert srv.wait_log(r"more than one common name")
    assert "(client certificate)" not in srv.log()
    # the password still works with that certificate
    f = tls_login(srv, ctx=cert_ctx(crt, key))
    f.quit()
