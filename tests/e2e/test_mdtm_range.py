"""MDTM of a file whose time gmtime() cannot represent (year past 2^31):
a 550, never a 213 with whatever the unset struct tm held. tmpfs keeps
64-bit times (ext4 clamps them to 2446), so the file lives on a tmpfs
mounted inside the user's home."""
import ftplib
import os
import subprocess

import pytest

from conftest import IS_ROOT

FAR = 10 ** 17  # seconds: about year 3.2e9, past struct tm's int year


@pytest.mark.skipif(not IS_ROOT, reason="mounts a tmpfs")
def test_mdtm_of_an_unrepresentable_time_is_550(start_server):
    srv = start_server()
    mnt = srv.home / "far"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755",
                    "tmpfs", str(mnt)], check=True)
    try:
        (mnt / "f").write_bytes(b"x")
        os.chmod(mnt / "f", 0o644)
        os.utime(mnt / "f", (FAR, FAR))
        if os.stat(mnt / "f").st_mtime != FAR:
            pytest.skip("this tmpfs clamps times")
        f = srv.login()
        assert f.sendcmd("MDTM hello.txt").startswith("213 ")
        for _ in range(3):
            with pytest.raises(ftplib.error_perm, match=r"^550 "):
                f.sendcmd("MDTM far/f")
        f.quit()
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
