"""System users through PAM (pam_enable = yes): a real account made with
useradd and chpasswd logs in, gets its own uid and its home as root; a wrong
password and an unknown name get the same 530; system users stay out when
PAM is off."""

import ftplib
import io
import os
import pwd
import shutil
import subprocess

import pytest

from conftest import descendants_named, proc_status, requires_root, wait_for

PAM_USER = "kfpamtest"
PAM_PASS = "Pam-e2e-Secr3t"


@pytest.fixture
def pam_user(tmp_path_factory):
    if not shutil.which("useradd") or not shutil.which("chpasswd"):
        pytest.skip("useradd/chpasswd not installed")
    subprocess.run(["userdel", "-r", PAM_USER], capture_output=True)
    home = tmp_path_factory.mktemp("pamhome") / PAM_USER
    # a login shell: the shipped PAM file (pam_shells) refuses nologin
    r = subprocess.run(["useradd", "-M", "-d", str(home), "-s", "/bin/sh",
                        PAM_USER], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    try:
        subprocess.run(["chpasswd"], input=f"{PAM_USER}:{PAM_PASS}\n", text=True,
                       check=True, capture_output=True)
        pw = pwd.getpwnam(PAM_USER)
        home.mkdir(mode=0o755)
        os.chmod(home.parent, 0o755)
        os.chmod(home.parent.parent, 0o755)
        (home / "mine.txt").write_bytes(b"pam user file\n")
        os.chown(home, pw.pw_uid, pw.pw_gid)
        os.chown(home / "mine.txt", pw.pw_uid, pw.pw_gid)
        yield pw
    finally:
        subprocess.run(["userdel", PAM_USER], capture_output=True)


@requires_root
def test_pam_login(start_server, pam_user):
    srv = start_server(mode="config", conf_extra={"pam_enable": "yes"})
    f = srv.login(PAM_USER, PAM_PASS)
    assert f.pwd() == "/"
    out = io.BytesIO()
    f.retrbinary("RETR mine.txt", out.write)
    assert out.getvalue() == b"pam user file\n"
    f.storbinary("STOR up.txt", io.BytesIO(b"written by pam user\n"))
    st = os.stat(os.path.join(pam_user.pw_dir, "up.txt"))
    assert (st.st_uid, st.st_gid) == (pam_user.pw_uid, pam_user.pw_gid)
    sess = wait_for(lambda: descendants_named(srv.pid, "kf-session"))
    assert len(sess) == 1
    assert proc_status(sess[0])["Uid"].split() == [str(pam_user.pw_uid)] * 4
    assert os.readlink(f"/proc/{sess[0]}/root") == pam_user.pw_dir
    f.quit()
    assert srv.wait_log(rf'login ok: user="{PAM_USER}" host=- root="{pam_user.pw_dir}" write')
    assert PAM_PASS not in srv.log()


@requires_root
def test_pam_bad_password_same_as_unknown(start_server, pam_user):
    srv = start_server(mode="config", conf_extra={"pam_enable": "yes"})
    replies = []
    for user, password in ((PAM_USER, "wrong-password"), ("kfnosuchuser", PAM_PASS)):
        f = srv.connect()
        with pytest.raises(ftplib.error_perm) as e:
            f.login(user, password)
        replies.append(str(e.value))
        f.close()
    assert replies[0] == replies[1]
    assert replies[0].startswith("530 ")


@requires_root
def test_pam_off_system_users_refused(start_server, pam_user):
    srv = start_server(mode="config")
    f = srv.connect()
    with pytest.raises(ftplib.error_perm, match=r"^530 "):
        f.login(PAM_USER, PAM_PASS)
    f.close()
