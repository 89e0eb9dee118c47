#!/usr/bin/env python3
"""The IPC catalogue has one source: the comments of src/ipc/proto.h.

docs/PRIVSEP.md shows them between the two catalogue markers, as this
script writes them; it also holds the dispatch table, which must name
exactly the requests of mon_table (src/priv/mon_dispatch.c) with their
numbers from proto.h.

  scripts/check-privsep.py [ROOT]          fail when PRIVSEP.md differs
  scripts/check-privsep.py --write [ROOT]  rewrite the marked part
"""
import re
import sys
from pathlib import Path

BEGIN = ("<!-- catalogue: generated from src/ipc/proto.h by "
         "scripts/check-privsep.py --write; edit proto.h, not here -->")
END = "<!-- end of catalogue -->"


def comment_text(raw):
    """A /* ... */ comment's text: lines without the leading ' * '."""
    body = raw[2:-2]
    lines = []
    for ln in body.split("\n"):
        ln = re.sub(r"^\s*\*( |$)", "", ln.strip()) if ln.strip().startswith("*") \
            else ln.strip()
        lines.append(ln.rstrip())
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def paragraphs(lines):
    """Blank lines separate paragraphs; each paragraph is one line."""
    out, cur = [], []
    for ln in lines + [""]:
        if ln:
            cur.append(ln)
        elif cur:
            out.append(" ".join(cur))
            cur = []
    return out


TOKEN = re.compile(r"/\*.*?\*/|enum\s+(\w+)\s*\{|\}\s*;|(\w+)\s*=\s*(\d+)\s*,",
                   re.S)


def parse(proto):
    """[(enum name, intro lines, [(names [(NAME, n)], comment lines)])]"""
    enums, last_comment, cur = [], None, None
    pos = 0
    for m in TOKEN.finditer(proto):
        between = proto[pos:m.start()]
        pos = m.end()
        tok = m.group(0)
        if between.strip():
            last_comment = None
        if tok.startswith("/*"):
            last_comment = comment_text(tok)
        elif m.group(1):
            cur = (m.group(1), last_comment or [], [])
            enums.append(cur)
            last_comment = None
        elif tok.startswith("}"):
            cur = None
            last_comment = None
        elif m.group(2) and cur is not None:
            item = (m.group(2), int(m.group(3)))
            if last_comment is not None or not cur[2]:
                cur[2].append(([item], last_comment or []))
            else:
                cur[2][-1][0].append(item)
            last_comment = None
    return enums


LABEL = re.compile(r"^(Payload|Phase|Check|Effect|Why [a-z ]+):")
CODE = re.compile(r"\b(?:[a-z]\w*\(\)|[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|"
                  r"[a-z]+_[a-z0-9_]+\b)")


def markdown(p):
    """Arrows, a bold label, and names in backticks (outside `code`)."""
    p = LABEL.sub(r"**\1:**", p.replace(" -> ", " → "))
    parts = p.split("`")
    for i in range(0, len(parts), 2):
        parts[i] = CODE.sub(lambda m: f"`{m.group(0)}`", parts[i])
    p = "`".join(parts)
    return p[:1].upper() + p[1:]


# enums that are message types, and their headings
SECTIONS = {
    "mon_type": "Session: workers and the TLS relay with their monitor",
    "lsn_type": "The report channel: monitors to the listener",
    "upg_type": "The hand-over: `keepftpd upgrade`, the old listener with the new one",
    "adm_type": "The admin socket: `keepftpd ban`, `who`, `kick`, `upgrade` with the listener",
    "pga_type": "The users database: verifiers with kf-pgauth, `keepftpd user` with its helper",
}


def render(enums):
    out = [BEGIN, ""]
    for name, intro, items in enums:
        if name not in SECTIONS:
            continue
        out += [f"### {SECTIONS[name]} (`enum {name}`)", ""]
        for p in paragraphs(intro):
            out += [markdown(p), ""]
        for group, text in items:
            title = ", ".join(f"`{n}` ({v})" for n, v in group)
            out += [f"#### {title}", ""]
            paras = paragraphs(text)
            if paras:
                # "NAME: sender -> receiver." : the heading holds the name
                paras[0] = re.sub(rf"^{group[0][0]}: ", "", paras[0])
            for p in paras:
                out += [markdown(p), ""]
    out.append(END)
    return "\n".join(out)


def problems(enums, privsep, dispatch_src):
    errs = []
    numbers = {}
    for name, _, items in enums:
        if name not in SECTIONS:
            continue
        for group, text in items:
            for n, v in group:
                numbers[n] = v
            if not text:
                errs.append(f"proto.h: {group[0][0]} has no comment")
    missing = set(SECTIONS) - {e[0] for e in enums}
    if missing:
        errs.append(f"proto.h: no enum {', '.join(sorted(missing))}")
    # the dispatch table: rows "| `NAME` (N) | ..." before the catalogue
    table = privsep.split(BEGIN)[0]
    rows = re.findall(r"^\| `(\w+)` \((\d+)\) \|", table, re.M)
    table_names = {n for n, _ in rows}
    m = re.search(r"mon_table\[\]\s*=\s*\{(.*?)\n\};", dispatch_src, re.S)
    code_names = set(re.findall(r"\{\s*(\w+),\s*\"", m.group(1))) if m else set()
    if not code_names:
        errs.append("mon_dispatch.c: mon_table not found")
    for n in sorted(code_names - table_names):
        errs.append(f"PRIVSEP.md: the dispatch table has no row for {n}")
    for n in sorted(table_names - code_names):
        errs.append(f"PRIVSEP.md: dispatch table row {n} is not in mon_table")
    for n, v in rows:
        if numbers.get(n) != int(v):
            errs.append(f"PRIVSEP.md: {n} ({v}) but proto.h says "
                        f"{numbers.get(n)}")
    return errs


def main(argv):
    write = "--write" in argv
    args = [a for a in argv if a != "--write"]
    root = Path(args[0] if args else ".")
    proto = (root / "src/ipc/proto.h").read_text()
    doc_path = root / "docs/PRIVSEP.md"
    doc = doc_path.read_text()
    enums = parse(proto)
    block = render(enums)
    if doc.count(BEGIN) != 1 or doc.count(END) != 1:
        print("PRIVSEP.md: the catalogue markers are missing or repeated")
        return 1
    head, rest = doc.split(BEGIN)
    tail = rest.split(END, 1)[1]
    new = head + block + tail
    if write:
        doc_path.write_text(new)
        doc = new
    errs = problems(enums, doc, (root / "src/priv/mon_dispatch.c").read_text())
    if new != doc:
        errs.append("docs/PRIVSEP.md: the catalogue is not proto.h's; run "
                    "scripts/check-privsep.py --write")
    for e in errs:
        print(e)
    if errs:
        return 1
    n = sum(len(g) for e in enums if e[0] in SECTIONS for g, _ in e[2])
    print(f"IPC catalogue: {n} types, PRIVSEP.md agrees with proto.h")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
