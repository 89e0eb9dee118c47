#!/usr/bin/env python3
"""code-stats.py [DIR] [-n N]: the longest functions and the largest files
of the C sources under DIR (default src/), for the notes of a change.

code-stats.py --lines FILE...: per file and in all, its lines as wc -l
counts them and its code lines (neither blank nor only comment), the two
columns of docs/SECURITY.md's "Two binaries" table.

A function is a style(9) definition: its name at column 0 followed by
'(', its body from a '{' alone on a line to the next '}' at column 0.
Its length is the lines of the body, braces included. Pure: reads files,
prints two tables."""
import os
import re
import sys


def functions(path):
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    name, start = None, None
    for i, line in enumerate(lines):
        m = re.match(r"^([A-Za-z_]\w*)\(", line)
        if m and start is None:
            name = m.group(1)
        elif line == "{" and name is not None and start is None:
            start = i
        elif line.startswith("}") and start is not None:
            yield name, start + 1, i - start + 1
            name, start = None, None


def code_lines(text):
    """Lines with something left once comments are blanked out."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text[i] in "\"'":
            j = i + 1
            while j < n and text[j] != text[i] and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return sum(1 for line in "".join(out).split("\n") if line.strip())


def lines(paths):
    total, code = 0, 0
    for p in paths:
        text = open(p, encoding="utf-8", errors="replace").read()
        t, c = text.count("\n"), code_lines(text)
        total, code = total + t, code + c
        print(f"{t:6d} {c:6d}  {p}")
    print(f"{total:6d} {code:6d}  in all (wc -l, code)")


def main():
    args = sys.argv[1:]
    if args[:1] == ["--lines"]:
        lines(args[1:])
        return
    n = 10
    if "-n" in args:
        i = args.index("-n")
        n = int(args[i + 1])
        del args[i:i + 2]
    top = args[0] if args else "src"
    funcs, files = [], []
    for d, _, names in os.walk(top):
        for f in names:
            if not f.endswith((".c", ".h")):
                continue
            p = os.path.join(d, f)
            with open(p, encoding="utf-8", errors="replace") as fh:
                files.append((sum(1 for _ in fh), p))
            if f.endswith(".c"):
                funcs += [(ln, name, p, at) for name, at, ln in functions(p)]
    funcs.sort(reverse=True)
    files.sort(reverse=True)
    lens = sorted(f[0] for f in funcs)
    if lens:
        print(f"functions: {len(lens)}, median {lens[len(lens) // 2]} lines, "
              f"p90 {lens[int(len(lens) * 0.9)]}, max {lens[-1]}")
    print(f"longest {n} functions (lines):")
    for ln, name, p, at in funcs[:n]:
        print(f"  {ln:4d}  {name}  {p}:{at}")
    print(f"largest {n} files (lines), of {len(files)}, "
          f"{sum(f[0] for f in files)} in all:")
    for ln, p in files[:n]:
        print(f"  {ln:5d}  {p}")


if __name__ == "__main__":
    main()
