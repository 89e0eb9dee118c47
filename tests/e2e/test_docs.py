"""Documentation that holds (issue 12): every config snippet in README.md
and docs/*.md passes `keepftpd -t`; the README's user commands run on a
fresh machine; the docs name only files the repository has; the messages,
reasons, bounds and numbers they quote are the ones the code uses."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, PASSWORD, REPO, TIMEOUT, make_base
from tls_helpers import make_ca_and_client, make_cert

DOCS = [REPO / "README.md"] + sorted((REPO / "docs").glob("*.md"))
PLACEHOLDER = re.compile(r"\b[A-Z][A-Z_]{2,}\b")     # NAME, ADDR, ANON_ROOT


def options():
    r = subprocess.run([BIN, "--config-doc"], capture_output=True, text=True,
                       timeout=TIMEOUT)
    return set(re.findall(r"^\| `(\w+)` \|", r.stdout, re.M))


def config_snippets():
    """(where, lines): each fenced block's `key = value` lines (whole, as
    written), and each inline `key = value` without placeholders."""
    keys = options()
    found = []
    for doc in DOCS:
        text = doc.read_text()
        for m in re.finditer(r"^```[^\n]*\n(.*?)^```", text, re.M | re.S):
            lines = [ln for ln in m.group(1).splitlines()
                     if re.match(r"^\s*(\w+)\s*=", ln)
                     and re.match(r"^\s*(\w+)", ln).group(1) in keys]
            if lines:
                line_no = text[:m.start()].count("\n") + 1
                found.append((f"{doc.name}:{line_no}", lines))
        for m in re.finditer(r"`(\w+) = ([^`\n]*)`", text):
            if m.group(1) in keys and not PLACEHOLDER.search(m.group(2)):
                line_no = text[:m.start()].count("\n") + 1
                found.append((f"{doc.name}:{line_no}", [m.group(0).strip("`")]))
    return found


SNIPPETS = config_snippets()


def rooted(root, lines):
    """The lines with every absolute path moved under root, and the files
    and directories they name made (certificates, banner, users file)."""
    out, tls = [], {}
    for ln in lines:
        key = re.match(r"^\s*(\w+)", ln).group(1)
        paths = re.findall(r"(?<![\w.])/[\w./-]+", ln)
        for i, p in enumerate(paths):
            target = root / p.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            if key in ("tls_cert", "tls_key"):
                tls[key] = target
            elif key == "tls_client_ca":
                ca, _, _ = make_ca_and_client(root / "ca", "alice")
                shutil.copy(ca, target)
            elif key == "banner_file" or (key == "vhost" and i == 1):
                target.write_text("hello\n")
            elif key == "upload_hook":
                target.write_text("#!/bin/sh\nexit 0\n")
                target.chmod(0o755)
            elif key == "users_file":
                target.write_text("")
                target.chmod(0o600)
            else:
                target.mkdir(parents=True, exist_ok=True)
            ln = ln.replace(p, str(target), 1)
        out.append(ln)
    if "tls_cert" in tls:
        cert, key = make_cert(root / "made")
        shutil.copy(cert, tls["tls_cert"])
        shutil.copy(key, tls.get("tls_key", tls["tls_cert"]))
    return out


def test_there_are_snippets():
    where = {w.split(":")[0] for w, _ in SNIPPETS}
    assert {"README.md", "CONFIG.md", "SECURITY.md"} <= where, SNIPPETS


@pytest.mark.parametrize("where,lines", SNIPPETS, ids=[w for w, _ in SNIPPETS])
def test_config_snippet_passes_check(where, lines):
    root = make_base()
    try:
        conf = root / "keepftpd.conf"
        conf.write_text("\n".join(rooted(root, lines)) + "\n")
        r = subprocess.run([BIN, "-t", "-c", str(conf)], capture_output=True,
                           text=True, timeout=TIMEOUT)
        assert r.returncode == 0, f"{where}: {lines}\n{r.stderr}"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_readme_user_commands_run_on_a_fresh_machine():
    """The README's `keepftpd user` block, in order, with / moved to a
    temporary root and keepftpd spelled as the built binary."""
    text = (REPO / "README.md").read_text()
    block = re.search(r"```sh\n(mkdir -p /etc/keepftpd[^`]*?)```", text).group(1)
    root = make_base()
    try:
        for line in block.splitlines():
            argv = line.split()
            argv = [str(root / a.lstrip("/")) if a.startswith("/") else a for a in argv]
            if argv[0] == "keepftpd":
                argv[0] = BIN
            r = subprocess.run(argv, input=PASSWORD + "\n", capture_output=True,
                               text=True, timeout=30)
            assert r.returncode == 0, (line, r.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_docs_name_only_files_in_the_repository():
    for doc in DOCS:
        text = doc.read_text()
        for m in re.finditer(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.md)\b", text):
            name = m.group(1)
            assert any((base / name).exists() for base in (REPO, doc.parent)), \
                f"{doc.name} names {name}, which is not in the repository"


def test_security_failed_login_reasons_are_listed():
    security = (REPO / "docs" / "SECURITY.md").read_text()
    para = re.search(r"`REASON` is (.*?)\n\n", security, re.S).group(1)
    src = "".join(p.read_text() for p in (REPO / "src" / "priv").glob("*.c"))
    src += "".join(p.read_text() for p in (REPO / "src" / "auth").glob("*.c"))
    reasons = set(re.findall(r'"((?:bad|user|tls)-[a-z-]+)"', src))
    assert {"bad-credentials", "tls-required"} <= reasons
    for reason in reasons:
        assert f"`{reason}`" in para, reason


def test_security_invariants_numbered_1_to_10():
    security = (REPO / "docs" / "SECURITY.md").read_text()
    numbers = [int(n) for n in re.findall(r"\*\*Invariant (\d+),", security)]
    assert numbers == list(range(1, 11))


def test_security_says_the_truth_about_cet():
    r = subprocess.run(["readelf", "-n", BIN], capture_output=True, text=True,
                       timeout=TIMEOUT)
    security = " ".join((REPO / "docs" / "SECURITY.md").read_text().split())
    if "IBT" in r.stdout and "SHSTK" in r.stdout:
        pytest.skip("this binary carries the CET property")
    assert "carries no IBT/SHSTK property" in security
    assert "CET, full RELRO" not in security


def test_privsep_catalogue_is_one_table_of_real_names():
    privsep = (REPO / "docs" / "PRIVSEP.md").read_text()
    limits = (REPO / "src" / "common" / "limits.h").read_text()
    lines = privsep.splitlines()
    rows = [i for i, ln in enumerate(lines) if ln.startswith("| `MON_")]
    assert rows
    # each table of requests is whole: a row follows a row or its header
    for i in rows:
        assert lines[i - 1].startswith(("| `", "|---")), \
            f"a blank line splits a table before line {i + 1}"
    for name in re.findall(r"`(KF_\w+|MON_\w+_MAX)`", privsep):
        assert re.search(rf"#define {name}\b", limits), name


def test_sandbox_lists_both_address_space_limits():
    sandbox = (REPO / "docs" / "SANDBOX.md").read_text()
    limits = (REPO / "src" / "common" / "limits.h").read_text()
    assert "(1024UL * 1024 * 1024)" in re.search(r"#define KF_POSTLOGIN_AS\s+(.*)",
                                                 limits).group(1)
    assert "1 GiB after" in sandbox and "KF_POSTLOGIN_AS" in sandbox


def limits_message(name):
    text = (REPO / "docs" / "LIMITS.md").read_text()
    row = re.search(rf"^\| `{name}` \|.*\| ([^|]*) \|$", text, re.M).group(1)
    return next(q for q in re.findall(r"`([^`]+)`", row) if ": " in q)


def as_regex(message):
    """A LIMITS.md message with FILE, USERS, LINE, KEY as wildcards."""
    rx = re.escape(message)
    for word, part in (("FILE", r"\S+"), ("USERS", r"\S+"), ("LINE", r"\d+"),
                       ("KEY", r"\w+")):
        rx = rx.replace(word, part)
    return "^" + rx + "$"


@pytest.mark.parametrize("name", ["KF_CONF_FILE_MAX", "KF_CONF_VALUE_MAX",
                                  "KF_LISTEN_MAX", "KF_USERS_LINE_MAX"])
def test_limits_quotes_the_config_bound_messages(name):
    root = make_base()
    try:
        conf = root / "k.conf"
        if name == "KF_CONF_FILE_MAX":
            conf.write_text("#" * (1024 * 1024 + 1))
        elif name == "KF_CONF_VALUE_MAX":
            conf.write_text("banner_file = /" + "a" * 1100 + "\n")
        elif name == "KF_LISTEN_MAX":
            conf.write_text("listen = " + ", ".join(f"127.0.0.1:{p}"
                                                    for p in range(2000, 2009)) + "\n")
        else:
            users = root / "users"
            users.write_text("x" * 1100 + "\n")
            users.chmod(0o600)
            conf.write_text(f"users_file = {users}\n")
        r = subprocess.run([BIN, "-t", "-c", str(conf)], capture_output=True,
                           text=True, timeout=TIMEOUT)
        assert r.returncode == 1
        assert re.match(as_regex(limits_message(name)), r.stderr.strip()), \
            (limits_message(name), r.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)
