"""Helpers for the client matrix (test_client_matrix.py): running real FTP
clients with a bounded time, building test trees with awkward names, and
comparing trees on disk (names, sizes, sha256)."""

import functools
import hashlib
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import IS_ROOT, NOBODY, chown_tree

# A client's own timeout (passed to the client where it has one) and the
# hard limit on its subprocess.
CLIENT_TIMEOUT = 10
PROC_TIMEOUT = 45

MiB = 1024 * 1024


def need(tool):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} not installed (bash scripts/deps.sh)")


def client_env(home):
    """A clean client environment: HOME in the test's directory (no ~/.netrc,
    ~/.lftprc, ~/.ncftp, ~/.wgetrc from the machine) and a UTF-8 locale."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LC_", "FTP_", "ftp_", "http", "HTTP", "all_proxy",
                                "ALL_PROXY", "no_proxy", "NO_PROXY"))}
    env.update(HOME=str(home), LANG="C.UTF-8", LC_ALL="C.UTF-8")
    return env


def run(argv, cwd, input=None, timeout=PROC_TIMEOUT):
    """Runs a client; returns the CompletedProcess (a timeout is reported as
    returncode None with what the client had printed)."""
    try:
        return subprocess.run(argv, cwd=str(cwd), env=client_env(cwd), input=input,
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(argv, None, e.stdout or b"", e.stderr or b"")


def _text(b, limit=3000):
    if b is None:
        return ""
    if isinstance(b, bytes):
        b = b.decode("utf-8", "replace")
    return b[-limit:]


def report(srv, r=None, what=""):
    """A failure message: the client's command, exit status, output, and the
    tail of the server's log."""
    parts = [what] if what else []
    if r is not None:
        argv = [a if srv.password not in str(a) else "<argv with password>"
                for a in r.args]
        rc = "TIMEOUT" if r.returncode is None else r.returncode
        parts.append(f"client: {argv}\nexit: {rc}\n--- client stdout:\n{_text(r.stdout)}"
                     f"\n--- client stderr:\n{_text(r.stderr)}")
    parts.append(f"--- server log tail ({'rootless' if srv.rootless else 'root'}):\n"
                 f"{srv.log()[-4000:]}")
    return "\n".join(parts)


def ok(srv, r, what=""):
    assert r.returncode == 0, report(srv, r, what or "client failed")


# ---------------------------------------------------------------------------
# trees

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest(root):
    """{relative path: ("d",) or ("f", size, sha256)} of a tree; symlinks and
    other types show as ("?",)."""
    root = Path(root)
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames:
            p = Path(dirpath) / n
            out[str(p.relative_to(root))] = ("d",) if not p.is_symlink() else ("?",)
        for n in filenames:
            p = Path(dirpath) / n
            rel = str(p.relative_to(root))
            if p.is_symlink() or not p.is_file():
                out[rel] = ("?",)
            else:
                out[rel] = ("f", p.stat().st_size, sha256(p))
    return out


def diff_manifests(want, got):
    """A short human-readable difference, or "" when equal."""
    lines = []
    for k in sorted(set(want) - set(got)):
        lines.append(f"missing: {k!r} {want[k][:2]}")
    for k in sorted(set(got) - set(want)):
        lines.append(f"extra:   {k!r} {got[k][:2]}")
    for k in sorted(set(want) & set(got)):
        if want[k] != got[k]:
            lines.append(f"differs: {k!r} want {want[k][:2]} got {got[k][:2]}")
    if len(lines) > 40:
        lines = lines[:40] + [f"... {len(lines) - 40} more"]
    return "\n".join(lines)


def assert_same_tree(srv, want_root, got_root, r=None):
    want, got = manifest(want_root), manifest(got_root)
    d = diff_manifests(want, got)
    assert not d, report(srv, r, f"trees differ ({want_root} -> {got_root}):\n{d}")


# Names that exercise quoting and encoding: spaces, Latin-1 range accents,
# Japanese (UTF-8 bytes in 0x80-0x9f, which naive "control character"
# filters mangle), a leading-dot-free mix of punctuation.
SPECIAL_FILES = {
    "café menu.txt": 613,
    "zero.bin": 0,
    "日本語/ファイル.bin": MiB,
    "a/b b/c/big one.bin": MiB + 1,
    "a/empty file.txt": 0,
    "docs/2024/q1 report/naïve résumé.txt": 4096,
    "docs/2024/q1 report/one byte": 1,
    "日本語/サブ/深い/データ (1).dat": MiB - 7,
    "mixed/x+y=z & co, [v2].txt": 777,
}
FILL_DIRS = ["", "a", "a/b b", "a/b b/c", "日本語", "日本語/サブ", "日本語/サブ/深い",
             "docs", "docs/2024", "docs/2024/q1 report", "mixed"]
SMALL_SIZES = [0, 1, 2, 17, 511, 512, 513, 1000, 4095, 4096, 4097, 8192]


def make_tree(root, nfiles=200, empty_dirs=("empty dir",), seed=1234, big=True):
    """A deterministic tree of nfiles files (the special ones first), nested
    at least three levels deep. Returns root."""
    rng = random.Random(seed)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    files = dict(SPECIAL_FILES)
    if not big:
        files = {k: min(v, 20000) for k, v in files.items()}
    i = 0
    while len(files) < nfiles:
        d = FILL_DIRS[i % len(FILL_DIRS)]
        name = f"file {i:03d}.dat" if i % 3 else f"fichier-é-{i:03d}.txt"
        size = rng.choice(SMALL_SIZES) if i % 4 else rng.randint(1, 30000)
        files[f"{d}/{name}" if d else name] = size
        i += 1
    for rel, size in list(files.items())[:nfiles]:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(rng.randbytes(size))
    for d in empty_dirs:
        (root / d).mkdir(parents=True, exist_ok=True)
    for dirpath, dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for n in filenames:
            os.chmod(os.path.join(dirpath, n), 0o644)
    return root


def seed_remote_tree(srv, rel, **kw):
    """Builds a tree inside the server user's root, owned by that user."""
    root = make_tree(srv.home / rel, **kw)
    chown_tree(root)
    return root


def put_remote_file(srv, rel, data):
    """A file inside the server user's root; it and the directories made for
    it belong to that user."""
    p = srv.home / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    if IS_ROOT:
        q = p
        while q != srv.home:
            os.lchown(q, NOBODY, NOBODY)
            q = q.parent
    return p


# ---------------------------------------------------------------------------
# versions (for the pytest header / summary)

def _first_line(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    out = (r.stdout or r.stderr).strip().splitlines()
    return out[0].strip() if out and r.returncode == 0 else None


def _dpkg_version(pkg):
    try:
        r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg],
                           capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else None


@functools.lru_cache(maxsize=None)
def client_versions():
    """One "client NAME: version" line per client of the matrix."""
    import platform
    found = [
        ("curl", _first_line(["curl", "--version"])),
        ("lftp", _first_line(["lftp", "--version"])),
        ("tnftp", _dpkg_version("tnftp") and f"tnftp {_dpkg_version('tnftp')} (dpkg)"),
        ("ncftp", _dpkg_version("ncftp") and f"ncftp {_dpkg_version('ncftp')} (dpkg)"),
        ("wget", _first_line(["wget", "--version"])),
        ("ftplib", f"Python {platform.python_version()} ftplib"),
    ]
    return tuple(f"client {name}: {v or 'not installed'}" for name, v in found)
