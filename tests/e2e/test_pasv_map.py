"""The passive address per client network (issue 17, item 3):
`pasv_address_map = CIDR=ADDRESS` picks the PASV address by the
client's address, first match wins, `pasv_address` is the default; a
host name in either is resolved when the configuration is loaded (and on
SIGHUP), and one that does not resolve is refused with FILE:LINE."""

import ftplib
import io
import os
import re
import shutil
import signal
import subprocess

import pytest

from conftest import BIN, HELLO, IS_ROOT, TIMEOUT, build_server, free_port

BAD_NAME = "no-such-host.invalid"


def pasv_from(srv, src, host="127.0.0.1", port=None):
    """A logged-in client whose control connection comes from src."""
    f = ftplib.FTP(timeout=TIMEOUT, source_address=(src, 0))
    f.connect(host, port or srv.port)
    f.login(srv.user, srv.password)
    return f


def announced(f):
    r = f.sendcmd("PASV")
    m = re.match(r"227 .*\((\d+),(\d+),(\d+),(\d+),\d+,\d+\)", r)
    assert m, r
    return ".".join(m.groups())


def conf_line(srv, key):
    lines = srv.conf.read_text().splitlines()
    return next(i for i, ln in enumerate(lines, 1)
                if ln.startswith(key + " ="))


def test_address_by_client_network(start_server):
    """127.0.0.2 matches its /32 and gets 127.0.0.9; 127.0.0.3 matches
    nothing and gets pasv_address (`localhost`, resolved at load to
    127.0.0.1), also on a listener whose own address is 127.0.0.5; the
    announced 127.0.0.1 is where the data connection goes."""
    port = free_port()
    srv = start_server(rootless=not IS_ROOT, conf_extra={
        "listen": f"127.0.0.1:{port}, 127.0.0.5:{port}",
        "pasv_address": "localhost",
        "pasv_address_map": "10.0.0.0/8=10.0.0.5, 127.0.0.2/32=127.0.0.9",
    })
    srv.port = port
    f = pasv_from(srv, "127.0.0.2")
    assert announced(f) == "127.0.0.9"
    f.quit()

    # the name's address, not the control connection's local one
    f = pasv_from(srv, "127.0.0.3", host="127.0.0.5")
    assert announced(f) == "127.0.0.1"
    f.quit()

    # EPSV announces no address; the map changes nothing there
    f = pasv_from(srv, "127.0.0.2")
    assert re.match(r"229 .*\(\|\|\|\d+\|\)", f.sendcmd("EPSV"))
    f.quit()

    # reachable: the client uses the announced address for the data
    f = pasv_from(srv, "127.0.0.3")
    f.trust_server_pasv_ipv4_address = True
    out = io.BytesIO()
    f.retrbinary("RETR hello.txt", out.write)
    assert out.getvalue() == HELLO
    f.quit()


def test_unresolvable_name_refused_at_start():
    """A name that does not resolve stops the start with FILE:LINE."""
    srv = build_server(rootless=not IS_ROOT,
                       conf_extra={"pasv_address_map":
                                   f"127.0.0.0/8={BAD_NAME}"})
    try:
        p = subprocess.run(srv.argv, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
        assert p.returncode != 0
        line = conf_line(srv, "pasv_address_map")
        want = (f"{srv.conf}:{line}: pasv_address_map: '{BAD_NAME}' "
                f"does not resolve")
        assert want in p.stderr + p.stdout, p.stderr
    finally:
        subprocess.run(["rm", "-rf", str(srv.base)])


def test_unresolvable_name_on_sighup_keeps_old(start_server):
    """On SIGHUP a name that does not resolve refuses the reload: the
    old pasv_address and map stay."""
    srv = start_server(rootless=not IS_ROOT, conf_extra={
        "pasv_address": "127.0.0.1",
        "pasv_address_map": "127.0.0.2/32=127.0.0.9",
    })
    text = srv.conf.read_text()
    text = text.replace("pasv_address = 127.0.0.1",
                        f"pasv_address = {BAD_NAME}")
    text = text.replace("127.0.0.2/32=127.0.0.9", "127.0.0.2/32=127.0.0.8")
    srv.conf.write_text(text)
    os.kill(srv.pid, signal.SIGHUP)
    assert srv.wait_log(r"configuration reload failed; keeping the old one",
                        timeout=15), srv.log()
    assert f"pasv_address: '{BAD_NAME}' does not resolve" in srv.log()
    f = pasv_from(srv, "127.0.0.2")
    assert announced(f) == "127.0.0.9"
    f.quit()
    f = pasv_from(srv, "127.0.0.3")
    assert announced(f) == "127.0.0.1"
    f.quit()

    # a good reload takes the new map
    srv.conf.write_text(text.replace(f"pasv_address = {BAD_NAME}",
                                     "pasv_address = localhost"))
    os.kill(srv.pid, signal.SIGHUP)
    assert srv.wait_log(r"configuration reloaded", timeout=15), srv.log()
    f = pasv_from(srv, "127.0.0.2")
    assert announced(f) == "127.0.0.8"
    f.quit()


def test_ipv6_address_refused(tmp_path):
    """PASV carries only IPv4 and EPSV no address: an IPv6 pasv_address
    is refused with the reason."""
    conf = tmp_path / "k.conf"
    conf.write_text("listen = 127.0.0.1:2121\npasv_address = 2001:db8::1\n")
    p = subprocess.run([BIN, "-t", "-c", str(conf)], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 1
    assert (f"{conf}:2: pasv_address: '2001:db8::1' is an IPv6 address; "
            "PASV can announce only IPv4 (RFC 2428)") in p.stderr, p.stderr



def check_with_hosts(tmp_path, hosts, conf_text):
    """keepftpd -t in a mount namespace whose /etc/hosts is ours."""
    h = tmp_path / "hosts"
    h.write_text(hosts)
    conf = tmp_path / "k.conf"
    conf.write_text(conf_text)
    script = f'mount --bind "{h}" /etc/hosts && exec "{BIN}" -t -c "{conf}"'
    p = subprocess.run(["unshare", "-m", "sh", "-c", script],
                       capture_output=True, text=True, timeout=30)
    if "mount" in p.stderr or "unshare" in p.stderr:
        pytest.skip(f"no private mount namespace here: {p.stderr.strip()}")
    return conf, p


@pytest.mark.skipif(not IS_ROOT or not shutil.which("unshare"),
                    reason="needs root and unshare(1) for a private /etc/hosts")
def test_sorted_and_ipv6_only_names(tmp_path):
    """Through the parser's sandbox: a name with two IPv4 addresses (the
    resolver sorts them: a netlink socket refused, a UDP probe allowed)
    is accepted; a name with only an IPv6 address is refused with why."""
    hosts = ("127.0.0.1 localhost\n127.0.0.7 two.test\n127.0.0.8 two.test\n"
             "2001:db8::1 six.test\n")
    conf, p = check_with_hosts(
        tmp_path, hosts, "listen = 127.0.0.1:2121\npasv_address = two.test\n"
        "pasv_address_map = 10.0.0.0/8=two.test\n")
    assert p.returncode == 0, p.stderr
    conf, p = check_with_hosts(
        tmp_path, hosts, "listen = 127.0.0.1:2121\n"
        "pasv_address_map = 10.0.0.0/8=six.test\n")
    assert p.returncode == 1
    assert (f"{conf}:2: pasv_address_map: 'six.test' has only IPv6 "
            "addresses; PASV can announce only IPv4") in p.stderr, p.stderr
