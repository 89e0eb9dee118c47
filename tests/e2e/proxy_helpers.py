"""PROXY protocol helpers for the test_proxy*.py and test_pasv_proxy.py
files: v1/v2 headers as a load balancer sends them, a raw control
connection that sends one first, and Debian's haproxy started on a
generated configuration (skipped where haproxy is not installed).

Every socket has a timeout and every wait a deadline."""
import ipaddress
import socket
import struct

import pytest

from conftest import TIMEOUT
from haproxy import MISSING, HAProxy, have_haproxy

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(src, dst=None, sport=40000, dport=21):
    fam = "TCP6" if ":" in src else "TCP4"
    dst = dst or ("2001:db8::1" if ":" in src else "192.0.2.1")
    return f"PROXY {fam} {src} {dst} {sport} {dport}\r\n".encode()


def v2(src, dst=None, sport=40000, dport=21, local=False, tlv=b""):
    if local:
        return SIG + bytes([0x20, 0x00]) + struct.pack("!H", 0)
    a = ipaddress.ip_address(src)
    if a.version == 4:
        d = ipaddress.ip_address(dst or "192.0.2.1")
        body = a.packed + d.packed + struct.pack("!HH", sport, dport)
        fam = 0x11
    else:
        d = ipaddress.ip_address(dst or "2001:db8::1")
        body = a.packed + d.packed + struct.pack("!HH", sport, dport)
        fam = 0x21
    body += tlv
    return SIG + bytes([0x21, fam]) + struct.pack("!H", len(body)) + body


class Conn:
    """A control connection through the 'balancer': header first."""

    def __init__(self, port, header, src=None, timeout=TIMEOUT,
                 host="127.0.0.1"):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        if src:
            self.s.bind((src, 0))
        self.s.connect((host, port))
        if header:
            self.s.sendall(header)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            c = self.s.recv(4096)
            if not c:
                raise EOFError(self.buf)
            self.buf += c
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln.decode("latin-1")

    def reply(self):
        first = self.line()
        if first[3:4] == "-":
            while not self.line().startswith(first[:3] + " "):
                pass
        return first

    def cmd(self, text):
        self.s.sendall(text.encode() + b"\r\n")
        return self.reply()

    def rest(self):
        """Everything until the server closes (b'' when it sends nothing)."""
        data = self.buf
        try:
            while True:
                c = self.s.recv(4096)
                if not c:
                    return data
                data += c
        except (ConnectionResetError, socket.timeout):
            return data

    def close(self):
        self.s.close()


@pytest.fixture
def haproxy_run(tmp_path):
    """Factory: haproxy_run(config_text, up=(host, port)) starts haproxy
    (haproxy.HAProxy) on that configuration (`global`/`defaults`
    included by the caller) and waits until host:port accepts; stopped
    at the end of the test."""
    procs = []

    def start(cfg_text, up):
        if not have_haproxy():
            pytest.skip(MISSING)
        p = HAProxy(tmp_path, up, text=cfg_text,
                    name=f"haproxy{len(procs)}").start()
        procs.append(p)
        return p.proc

    yield start
    for p in procs:
        p.stop()


HAPROXY_GLOBAL = """global
    maxconn 256
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
"""
