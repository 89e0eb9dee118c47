"""The shipped PAM file, data/pam.d/keepftpd (issue 12, item 18): as
Debian's FTP servers, accounts listed in /etc/ftpusers and accounts whose
shell is not in /etc/shells (nologin) are refused; a PAM session is opened
at login and closed at logout. The file is installed under a test service
name, with one extra pam_exec line that records the session calls; test
accounts and the /etc/ftpusers line are removed afterwards."""

import ftplib
import os
import pwd
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

import signal

from conftest import descendants_named, proc_status, requires_root, wait_for

REPO = Path(__file__).resolve().parents[2]
PASS = "Pam-ship-Secr3t"
USERS = {"kfpamok": "/bin/sh", "kfpamnologin": "/usr/sbin/nologin",
         "kfpamlisted": "/bin/sh"}


@pytest.fixture
def accounts(tmp_path_factory):
    if not shutil.which("useradd") or not shutil.which("chpasswd"):
        pytest.skip("useradd/chpasswd not installed")
    base = tmp_path_factory.mktemp("pamship")
    base.chmod(0o755)
    made = []
    ftpusers = Path("/etc/ftpusers")
    saved = ftpusers.read_bytes() if ftpusers.exists() else None
    try:
        for name, shell in USERS.items():
            subprocess.run(["userdel", name], capture_output=True)
            home = base / name
            r = subprocess.run(["useradd", "-M", "-d", str(home), "-s", shell, name],
                               capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
            made.append(name)
            subprocess.run(["chpasswd"], input=f"{name}:{PASS}\n", text=True,
                           check=True, capture_output=True)
            pw = pwd.getpwnam(name)
            home.mkdir(mode=0o755)
            os.chown(home, pw.pw_uid, pw.pw_gid)
        with open(ftpusers, "ab") as f:
            f.write(b"\nkfpamlisted\n")
        yield base
    finally:
        if saved is None:
            ftpusers.unlink(missing_ok=True)
        else:
            ftpusers.write_bytes(saved)
        for name in made:
            subprocess.run(["userdel", name], capture_output=True)


@pytest.fixture
def service(accounts):
    """The shipped file as /etc/pam.d/NAME, plus a pam_exec recorder."""
    name = f"keepftpd-e2e-{uuid.uuid4().hex[:8]}"
    marks = accounts / "marks"
    script = accounts / "mark.sh"
    script.write_text(f'#!/bin/sh\necho "$PAM_TYPE $PAM_USER" >> {marks}\n')
    script.chmod(0o755)
    path = Path("/etc/pam.d") / name
    path.write_text((REPO / "data/pam.d/keepftpd").read_text() +
                    f"session\toptional\tpam_exec.so quiet {script}\n")
    try:
        yield name, marks
    finally:
        path.unlink(missing_ok=True)


def refused(srv, user):
    f = srv.connect()
    with pytest.raises(ftplib.error_perm, match=r"^530 "):
        f.login(user, PASS)
    f.close()


@requires_root
def test_shipped_pam_file(start_server, service):
    name, marks = service
    srv = start_server(mode="config", conf_extra={"pam_enable": "yes",
                                                  "pam_service": name})
    refused(srv, "kfpamnologin")
    assert srv.wait_log(r"pam: .* user=\"kfpamnologin\"")
    refused(srv, "kfpamlisted")
    assert srv.wait_log(r"pam: .* user=\"kfpamlisted\"")
    f = srv.login("kfpamok", PASS)
    assert f.pwd() == "/"
    assert wait_for(lambda: marks.exists() and
                    "open_session kfpamok" in marks.read_text())
    assert f.sendcmd("REIN").startswith("220")
    assert wait_for(lambda: "close_session kfpamok" in marks.read_text())
    f.close()
    assert "open_session kfpamnologin" not in marks.read_text()
    assert "open_session kfpamlisted" not in marks.read_text()


CAP_AUDIT_WRITE = 29


@requires_root
def test_session_keeper_is_small_and_closes_when_the_monitor_dies(
        start_server, service):
    """The PAM session is held by kf-pam-session, a child of the monitor
    with no capability but AUDIT_WRITE and no_new_privs (the shrunk
    monitor may not exec, a session module may); when the monitor is
    killed, the keeper still closes the session and exits."""
    name, marks = service
    srv = start_server(mode="config", conf_extra={"pam_enable": "yes",
                                                  "pam_service": name})
    f = srv.login("kfpamok", PASS)
    assert wait_for(lambda: marks.exists() and
                    "open_session kfpamok" in marks.read_text())
    keepers = wait_for(lambda: descendants_named(srv.pid, "kf-pam-session"))
    assert len(keepers) == 1
    st = proc_status(keepers[0])
    assert int(st["CapEff"], 16) == 1 << CAP_AUDIT_WRITE
    assert int(st["CapPrm"], 16) == 1 << CAP_AUDIT_WRITE
    assert int(st["CapBnd"], 16) == 1 << CAP_AUDIT_WRITE
    assert st["NoNewPrivs"] == "1"
    monitor = int(st["PPid"])
    assert proc_status(monitor)["Name"] == "kf-monitor"
    assert "close_session kfpamok" not in marks.read_text()
    os.kill(monitor, signal.SIGKILL)
    assert wait_for(lambda: "close_session kfpamok" in marks.read_text()), \
        (marks.read_text(), srv.log())
    assert wait_for(lambda: not descendants_named(srv.pid, "kf-pam-session") and
                    not os.path.exists(f"/proc/{keepers[0]}"))
    f.close()
