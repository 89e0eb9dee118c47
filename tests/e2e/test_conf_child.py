"""The configuration is parsed in a child, not in the listener
(docs/SECURITY.md, "The configuration parser"): at start, on SIGHUP and
for -t. A config file that is a FIFO holds the parser in open(2) until
the test writes to it, so the child can be looked at in /proc while it
waits: a process of its own, with no capability, no_new_privs and a
seccomp filter, before it has read a byte."""

import os
import shutil
import signal
import subprocess
import threading

import pytest

from conftest import (BIN, IS_ROOT, MODES, NOBODY, RawClient, TIMEOUT, build_server,
                      children, proc_status, wait_for)

ZERO_CAPS = "0000000000000000"


def greeting(srv):
    c = RawClient(srv.port)
    g = c.reply()
    c.send("QUIT\r\n")
    c.close()
    return g


def parser_child(pid):
    """The listener's child running `keepftpd --conf-child`, once it is
    sandboxed (seccomp is the last step before it opens the file)."""
    def find():
        for c in children(pid):
            try:
                with open(f"/proc/{c}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
                if argv[1:2] == [b"--conf-child"] and \
                        proc_status(c).get("Seccomp") == "2":
                    return c
            except (OSError, IndexError):
                continue
        return None
    return wait_for(find, timeout=TIMEOUT)


def fifo_config(srv, text):
    """srv.conf becomes a FIFO; returns a function that feeds it text."""
    srv.conf.unlink()
    os.mkfifo(srv.conf, 0o644)

    def feed():
        with open(srv.conf, "w") as f:
            f.write(text)
    return feed


def assert_sandboxed(child, rootless):
    st = proc_status(child)
    uid = NOBODY if rootless and IS_ROOT else os.geteuid()
    assert st["Uid"].split() == [str(uid)] * 4, st["Uid"]
    for k in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
        assert st[k] == ZERO_CAPS, (k, st[k])
    if IS_ROOT and not rootless:
        assert st["CapBnd"] == ZERO_CAPS, st["CapBnd"]
    assert st["NoNewPrivs"] == "1"
    assert st["Seccomp"] == "2"
    assert st["Name"] == "kf-conf-parser"


@pytest.mark.parametrize("mode", MODES)
def test_parser_runs_apart_at_start_and_sighup(mode):
    rootless = mode == "rootless"
    srv = build_server(rootless=rootless, conf_extra={"banner": "first"})
    text = srv.conf.read_text()
    feed = fifo_config(srv, text)
    started = threading.Thread(target=srv.start)
    started.start()
    try:
        assert wait_for(lambda: srv.proc is not None, timeout=TIMEOUT)
        child = parser_child(srv.pid)
        assert child, "no sandboxed parser child at start"
        assert_sandboxed(child, rootless)
        feed()
        started.join(TIMEOUT + 1)
        assert greeting(srv) == "220 first"

        feed = fifo_config(srv, text.replace("banner = first", "banner = second"))
        os.kill(srv.pid, signal.SIGHUP)
        child = parser_child(srv.pid)
        assert child, "no sandboxed parser child on SIGHUP"
        assert_sandboxed(child, rootless)
        feed()
        assert srv.wait_log(r"configuration reloaded"), srv.log()
        assert greeting(srv) == "220 second"
        assert srv.proc.poll() is None
    finally:
        started.join(TIMEOUT + 1)
        if srv.proc is not None:
            srv.stop()
        shutil.rmtree(srv.base, ignore_errors=True)


def test_parser_hang_is_killed_and_old_config_kept(start_server):
    """A parser that does not finish in 10 s is killed and logged; the
    reload is refused and the server keeps serving the old config."""
    srv = start_server(rootless=not IS_ROOT, conf_extra={"banner": "kept"})
    fifo_config(srv, "")
    os.kill(srv.pid, signal.SIGHUP)
    child = parser_child(srv.pid)
    assert child
    m = srv.wait_log(r"configuration parser \(pid (\d+)\) did not finish in "
                     r"10 s; killed", timeout=15)
    assert m, srv.log()
    assert int(m.group(1)) == child
    assert srv.wait_log(r"configuration reload failed; keeping the old one")
    assert not os.path.exists(f"/proc/{child}")
    assert greeting(srv) == "220 kept"


def test_check_uses_the_parser_child(tmp_path):
    """-t runs the same child: a config behind a FIFO is read by a
    sandboxed child of `keepftpd -t`, which then reports it."""
    conf = tmp_path / "k.conf"
    os.mkfifo(conf, 0o644)
    p = subprocess.Popen([BIN, "-t", "-c", str(conf)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        child = parser_child(p.pid)
        assert child
        assert_sandboxed(child, False)
        with open(conf, "w") as f:
            f.write("listen = 127.0.0.1:2121\nmax_clients = 0\n")
        out, err = p.communicate(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 1
    assert f"{conf}:2: max_clients: " in err, err
