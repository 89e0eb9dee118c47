"""Log lines of a hostile session parse as what the server meant
(invariant 10, issue 12 items 13 and 17).

A client picks file names, user names and a HOST made to forge fields
(`evil bytes=1 ms=1 status=ok<TAB>user=root`, `" user="root`,
` from=1.2.3.4`), with quotes, backslashes, control bytes, invalid
UTF-8, and valid UTF-8 (ü, 日本). Every line the server writes is then
parsed with the strict grammar below; each client string must come back,
byte for byte, as the value of its own quoted field, no line may carry a
field the server did not write, and valid UTF-8 is logged as itself.

Grammar of a line of the stderr sink (bytes; SP is one space):

    line    = stamp SP ident "[" pid "]:" SP level ":" SP [prefix SP] message
    prefix  = "[s" 1*DIGIT SP address "]"
    message = token *(SP token)
    token   = key "=" quoted ["..."] / key "=" bare / bare
    key     = (ALPHA / "_") *(ALPHA / DIGIT / "_")
    bare    = 1*(any byte but SP, DQUOTE, "\\" and controls)
    quoted  = DQUOTE *(char / "\\\\" / "\\" DQUOTE / "\\x" 2HEXLOWER) DQUOTE
    char    = a UTF-8 character other than DQUOTE, "\\", C0, DEL, C1,
              U+2028, U+2029 and the bidirectional controls

A quoted value followed by "..." was cut at KF_LOG_FIELD_MAX.
"""

import ftplib
import io
import re
import shutil

import pytest

from conftest import IS_ROOT, MODES, RawClient, make_base

STAMP = rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
HEAD = re.compile(rb"^" + STAMP + rb" (?P<ident>[a-z-]+)\[\d+\]: "
                  rb"(?P<level>error|warning|info|debug): "
                  rb"(?:\[s\d+ (?P<peer>[0-9a-f.:]+)\] )?")
KEY = re.compile(rb"([A-Za-z_][A-Za-z0-9_]*)=")
BARE = re.compile(rb'[^ "\\\x00-\x1f\x7f]+')
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def parse_quoted(b, i):
    """The quoted string that starts at b[i] ('"'): (bytes, next index)."""
    assert b[i:i + 1] == b'"'
    i += 1
    out = bytearray()
    while True:
        if i >= len(b):
            raise ValueError("unterminated quoted string")
        c = b[i]
        if c == 0x22:
            return bytes(out), i + 1
        if c == 0x5c:
            nxt = b[i + 1:i + 2]
            if nxt in (b'"', b"\\"):
                out += nxt
                i += 2
            elif nxt == b"x" and re.fullmatch(rb"[0-9a-f]{2}", b[i + 2:i + 4]):
                out.append(int(b[i + 2:i + 4], 16))
                i += 4
            else:
                raise ValueError(f"bad escape at {i}")
            continue
        # a run of plain bytes: valid UTF-8 without unsafe characters
        j = i
        while j < len(b) and b[j] not in (0x22, 0x5c):
            j += 1
        text = b[i:j].decode("utf-8")          # raises on invalid UTF-8
        if UNSAFE.search(text):
            raise ValueError(f"unescaped control character in {text!r}")
        out += b[i:j]
        i = j


def parse_message(b):
    """[(key or None, value bytes, quoted)] of one message, or ValueError."""
    tokens, i = [], 0
    while True:
        key = None
        m = KEY.match(b, i)
        if m and b[m.end():m.end() + 1] == b'"':
            key = m.group(1).decode()
            value, i = parse_quoted(b, m.end())
            cut = b[i:i + 3] == b"..."
            i += 3 if cut else 0
            tokens.append((key, value, True))
        else:
            m = BARE.match(b, i)
            if not m:
                raise ValueError(f"no token at {i}")
            i = m.end()
            k = KEY.match(m.group(0))
            if k:
                tokens.append((k.group(1).decode(), m.group(0)[k.end():], False))
            else:
                tokens.append((None, m.group(0), False))
        if i == len(b):
            return tokens
        if b[i:i + 1] != b" ":
            raise ValueError(f"no space after a token at {i}")
        i += 1


def parse_log(raw):
    """Every line of a log, parsed: [(level, peer, tokens)]. Any line that
    does not follow the grammar fails the test."""
    lines = []
    assert raw.endswith(b"\n")
    for line in raw[:-1].split(b"\n"):
        h = HEAD.match(line)
        assert h, f"no line head: {line!r}"
        try:
            tokens = parse_message(line[h.end():])
        except ValueError as e:
            pytest.fail(f"{e}: {line!r}")
        keys = [k for k, _, _ in tokens if k is not None]
        assert len(keys) == len(set(keys)), f"a field twice: {line!r}"
        lines.append((h.group("level"), h.group("peer"), tokens, line))
    return lines


def fields(tokens):
    return {k: (v, q) for k, v, q in tokens if k is not None}


def words(tokens):
    """The bare words, without the origin the monitor puts before a
    worker's or the relay's line ("worker kf-session:", "relay:")."""
    w = [v for k, v, _ in tokens if k is None]
    if w[:1] == [b"worker"] and len(w) > 1 and w[1].endswith(b":"):
        return w[2:]
    if w[:1] in ([b"worker:"], [b"relay:"]):
        return w[1:]
    return w


# ---------------------------------------------------------------------------
# the grammar itself, on lines written by hand

def test_grammar_accepts_and_rejects():
    ok = (b'STOR path="/a \\"b\\" \\\\ \\x09 \xc3\xbc" bytes=3 ms=0 status=ok')
    t = parse_message(ok)
    assert fields(t)["path"] == (b'/a "b" \\ \t \xc3\xbc', True)
    assert fields(t)["bytes"] == (b"3", False)
    for bad in (b"STOR /evil bytes=1 ms=1 status=ok\\x09user=root bytes=3",
                b'user="unterminated', b'user="a"b', b'user="\\q"',
                b'user="\x1b"', b'user="\xff"', b'user="\xe2\x80\xa8"',
                b"two  spaces", b'user="a"x bytes=1'):
        with pytest.raises(ValueError):
            parse_message(bad)


# ---------------------------------------------------------------------------
# a hostile session

NAMES = [
    b"evil bytes=1 ms=1 status=ok\tuser=root",
    b'q"uote" user="root',
    b'" user="root',
    b"back\\slash\\x41\\",
    b"two  spaces",
    b"ctl\x1b[31m\x07\x7f\x01",
    b"bad\xfe\xc3(\xed\xa0\x80\xc0\xaf\xe2\x82",   # no 0xff: telnet IAC
    "\u00fc-\u65e5\u672c.txt".encode(),
    "c1\u0085\u009b-sep\u2028\u2029-bidi\u202e.txt".encode(),
    b"x] login failed: from=192.0.2.1 failures=1 reason=x user=y",
]

USERS = [
    b"x from=1.2.3.4",
    b'u" from="1.2.3.4" failures=0 reason=ok user="root',
    "j\u00fcrgen".encode(),
    b"ctl\x1b]0;t\x07\\",
    b"bad\xfe\x80",
]

HOST = b"a]:b.[s9--"


def latin(b):
    """bytes -> str that ftplib (encoding latin-1) sends as those bytes."""
    return b.decode("latin-1")


def failed_login(port, user):
    c = RawClient(port)
    assert c.reply().startswith("220")
    c.send(b"USER " + user + b"\r\n")
    assert c.reply()[:1] in "35"
    c.send(b"PASS not-the-password\r\n")
    assert c.reply().startswith("530")
    c.close()


@pytest.fixture(params=MODES)
def lsrv(request, start_server):
    files = make_base()
    root = files / "vroot"
    root.mkdir()
    root.chmod(0o755)
    srv = start_server(mode="config", rootless=request.param == "rootless",
                       conf_extra={"vhost": f"v.example.test {root}",
                                   "max_login_failures": "9"})
    yield srv


def hostile_session(srv):
    c = RawClient(srv.port)
    assert c.reply().startswith("220")
    assert c.cmd("HOST a\x1b]b")[:1] == "5"       # not a host name: no line
    c.send(b"HOST " + HOST + b"\r\n")
    assert c.reply().startswith("504")
    c.close()
    for u in USERS:
        failed_login(srv.port, u)
    f = ftplib.FTP(timeout=10, encoding="latin-1")
    f.connect("127.0.0.1", srv.port)
    f.login(srv.user, srv.password)
    for i, name in enumerate(NAMES):
        f.storbinary("STOR " + latin(name), io.BytesIO(b"x" * (i + 1)))
    out = io.BytesIO()
    f.retrbinary("RETR " + latin(NAMES[0]), out.write)
    assert out.getvalue() == b"x"
    f.quit()


def test_hostile_session_log_lines(lsrv):
    srv = lsrv
    hostile_session(srv)
    assert srv.wait_log(r"disconnect: user=\"?alice", timeout=10), srv.log()
    raw = srv.stderr_path.read_bytes()
    lines = parse_log(raw)

    xfers, failed, hosts, oks = [], [], [], []
    for level, peer, tokens, line in lines:
        w = words(tokens)
        fl = fields(tokens)
        if w[:1] in ([b"STOR"], [b"RETR"]):
            # issue 16: every transfer line names the user, last
            assert list(fl) == ["path", "bytes", "ms", "status", "user"], line
            assert fl["user"] == (b"alice", True), line
            assert fl["path"][1] and not fl["bytes"][1], line
            assert fl["status"] == (b"ok", False), line
            xfers.append((w[0], fl["path"][0], int(fl["bytes"][0])))
        elif w[:2] == [b"login", b"failed:"]:
            assert list(fl) == ["from", "failures", "reason", "user"], line
            assert fl["from"] == (peer, False) == (b"127.0.0.1", False)
            assert fl["reason"] == (b"bad-credentials", False)
            assert fl["user"][1], line
            failed.append(fl["user"][0])
        elif w[:1] == [b"HOST:"]:
            assert list(fl) == ["host"], line
            hosts.append(fl["host"])
        elif w[:2] == [b"login", b"ok:"]:
            oks.append(fl)
        # no line carries a field only a forged string would bring
        assert not any(v == b"root" and not q for _, v, q in tokens), line

    # each client string is back, whole, in its own field
    want = [(b"STOR", b"/" + n, i + 1) for i, n in enumerate(NAMES)]
    want.append((b"RETR", b"/" + NAMES[0], 1))
    assert xfers == want
    assert failed == USERS
    assert hosts == [(HOST, True)]
    assert len(oks) == 1 and oks[0]["user"] == (b"alice", True)
    assert oks[0]["host"] == (b"-", False)

    # valid UTF-8 is written as itself; the rest is escaped
    assert "STOR path=\"/\u00fc-\u65e5\u672c.txt\" ".encode() in raw
    assert "user=\"j\u00fcrgen\"".encode() in raw
    assert b"\\xc3\\xbc" not in raw
    assert b'path="/bad\\xfe\\xc3(\\xed\\xa0\\x80\\xc0\\xaf\\xe2\\x82"' in raw
    assert (b'path="/evil bytes=1 ms=1 status=ok\\x09user=root" bytes=1 '
            in raw)
    assert b'user="u\\" from=\\"1.2.3.4\\" failures=0 reason=ok ' in raw


# ---------------------------------------------------------------------------
# what TLS brings: a certificate's CN and the SNI name

CN = 'x" user="root from=1.2.3.4 ok'


def test_certificate_cn_and_sni_fields(start_server):
    from tls_helpers import (TLSRaw, client_ctx, make_ca_and_client,
                             make_cert, tls_conf)
    d = make_base()
    try:
        cert, key = make_cert(d / "srv")
        ca, ccert, ckey = make_ca_and_client(d / "ca", CN)
        srv = start_server(mode="config", rootless=not IS_ROOT,
                           conf_extra=tls_conf(cert, key,
                                               {"tls_client_ca": str(ca)}))
        ctx = client_ctx()
        ctx.load_cert_chain(str(ccert), str(ckey))
        c = TLSRaw(srv.port)
        assert c.reply().startswith("220")
        assert c.cmd("AUTH TLS").startswith("234")
        c.starttls(ctx=ctx, server_hostname="ftp.example.test")
        assert c.cmd("NOOP").startswith("200")
        c.cmd("QUIT")
        c.close()
        assert srv.wait_log(r"is not a user name; ignored", timeout=10), \
            srv.log()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    seen = {}
    for level, peer, tokens, line in parse_log(srv.stderr_path.read_bytes()):
        fl = fields(tokens)
        if b" TLS client certificate verified: " in line:
            seen["verified"] = fl
        elif b" client certificate CN=" in line:
            seen["ignored"] = fl
        elif b" TLS control connection: " in line:
            seen["control"] = fl
    assert seen["verified"] == {"CN": (CN.encode(), True)}
    assert seen["ignored"] == {"CN": (CN.encode(), True)}
    assert seen["control"] == {"sni": (b"ftp.example.test", True)}
