#!/usr/bin/env python3
"""Every log format in src/ follows the log line grammar (docs/SECURITY.md,
"Log lines"): only the conversions log_vformat() knows, and every quoted
field ("%s") written as key="..." with a space or the end after it.
A format the formatter does not know would end its line in
"<bad log format>" at run time; this finds it at build time.

usage: check-logfmt.py [ROOT]
"""
import pathlib
import re
import sys

CALL = re.compile(r"\blog_(?:err|warn|info|debug)\(")
LITERAL = re.compile(r'\s*"((?:[^"\\\n]|\\.)*)"')
CONV = re.compile(r"%(-?)(ll|l|z)?(.)")
KNOWN_INT = set("diux")


def formats(text):
    """(line, format) of every log call whose format is string literals."""
    for m in CALL.finditer(text):
        i, parts = m.end(), []
        while True:
            lit = LITERAL.match(text, i)
            if not lit:
                break
            parts.append(lit.group(1))
            i = lit.end()
        line = text.count("\n", 0, m.start()) + 1
        yield line, ("".join(parts) if parts else None)


def problems(fmt):
    if fmt is None:
        yield "format is not a string literal"
        return
    for c in CONV.finditer(fmt):
        flag, length, conv = c.groups()
        spec = c.group(0)
        if conv == "%" and not flag and not length:
            continue
        if conv == "s" and not length:
            if flag:
                continue
            if not re.search(r"[A-Za-z_][A-Za-z0-9_]*=$", fmt[:c.start()]):
                yield f"quoted field {spec} without key= before it"
            if fmt[c.end():c.end() + 1] not in ("", " "):
                yield f"quoted field {spec} not followed by a space or the end"
            continue
        if conv in KNOWN_INT and not flag:
            continue
        yield f"conversion {spec} is not one log_vformat() knows"


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    bad = 0
    for path in sorted((root / "src").rglob("*.c")):
        if path.name == "log.c" and path.parent.name == "common":
            continue
        for line, fmt in formats(path.read_text(errors="replace")):
            for why in problems(fmt):
                print(f"{path.relative_to(root)}:{line}: {why}: \"{fmt}\"")
                bad += 1
    if bad:
        return 1
    print("every log format follows the log line grammar")
    return 0


if __name__ == "__main__":
    sys.exit(main())
