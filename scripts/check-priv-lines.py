#!/usr/bin/env python3
"""check-priv-lines.py ROOT [--write]: docs/SECURITY.md's counts of the
code that runs privileged are the files' counts now.

Each table whose header is "| File | Lines (code) | Runs privileged |"
has rows "| `PATH` | L (C) | ... |" (PATH may end in a glob) and bold
total rows "| **NAME** | **L (C)** | |": a total is the sum of the rows
above it since the table's start. L is the file's lines as wc -l counts
them, C its code lines (neither blank nor only comment: code-stats.py).
The sentence "**N (M code) lines**" after the worker's table is the sum
of the first table's "after start-up" total and the second table's.

Without --write: prints each difference and exits 1 if there is one.
With --write: rewrites the figures in place. Pure: reads the files."""
import glob
import importlib.util
import os
import re
import sys

HEADER = "| File | Lines (code) | Runs privileged |"
ROW = re.compile(r"^\| `([^`]+)` \| ([\d,]+) \(([\d,]+)\) \|(.*)$")
TOTAL = re.compile(r"^\| \*\*([^*]+)\*\* \| \*\*([\d,]+) \(([\d,]+)\)\*\* \|(.*)$")
SUM = re.compile(r"\*\*([\d,]+) \(([\d,]+)\s+code\) lines\*\*")


def code_stats(root):
    path = os.path.join(root, "scripts", "code-stats.py")
    spec = importlib.util.spec_from_file_location("code_stats", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def count(root, stats, pattern):
    files = sorted(glob.glob(os.path.join(root, pattern)))
    if not files:
        return None
    total = code = 0
    for f in files:
        text = open(f, encoding="utf-8", errors="replace").read()
        total += text.count("\n")
        code += stats.code_lines(text)
    return total, code


def fmt(n):
    return f"{n:,}"


def main():
    args = [a for a in sys.argv[1:] if a != "--write"]
    write = "--write" in sys.argv[1:]
    root = args[0] if args else "."
    doc_path = os.path.join(root, "docs", "SECURITY.md")
    stats = code_stats(root)
    lines = open(doc_path, encoding="utf-8").read().split("\n")
    problems, tables, totals = [], 0, {}
    in_table, run = False, [0, 0]
    for i, line in enumerate(lines):
        if line == HEADER:
            in_table, run = True, [0, 0]
            tables += 1
            continue
        if in_table and not line.startswith("|"):
            in_table = False
        if not in_table:
            continue
        m = ROW.match(line)
        if m:
            got = count(root, stats, m.group(1))
            if got is None:
                problems.append(f"line {i + 1}: no file {m.group(1)}")
                continue
            want = (int(m.group(2).replace(",", "")),
                    int(m.group(3).replace(",", "")))
            if got != want:
                problems.append(f"line {i + 1}: {m.group(1)}: the table "
                                f"says {want[0]} ({want[1]}), the file "
                                f"has {got[0]} ({got[1]})")
                lines[i] = (f"| `{m.group(1)}` | {fmt(got[0])} "
                            f"({fmt(got[1])}) |{m.group(4)}")
            run[0] += got[0]
            run[1] += got[1]
            continue
        m = TOTAL.match(line)
        if m:
            totals[(tables, m.group(1))] = tuple(run)
            want = (int(m.group(2).replace(",", "")),
                    int(m.group(3).replace(",", "")))
            if tuple(run) != want:
                problems.append(f"line {i + 1}: total {m.group(1)}: the "
                                f"table says {want[0]} ({want[1]}), the "
                                f"rows add up to {run[0]} ({run[1]})")
                lines[i] = (f"| **{m.group(1)}** | **{fmt(run[0])} "
                            f"({fmt(run[1])})** |{m.group(4)}")
    if tables != 2:
        problems.append(f"{tables} count table(s), not 2")
    after = totals.get((1, "after start-up"))
    worker = totals.get((2, "keepftpd-worker, privileged"))
    if after is None or worker is None:
        problems.append("no 'after start-up' or 'keepftpd-worker, "
                        "privileged' total")
    else:
        both = (after[0] + worker[0], after[1] + worker[1])
        text = "\n".join(lines)
        m = SUM.search(text)
        if m is None:
            problems.append("no sentence with the sum of both tables")
        else:
            want = (int(m.group(1).replace(",", "")),
                    int(m.group(2).replace(",", "")))
            if want != both:
                problems.append(f"the sum says {want[0]} ({want[1]}), "
                                f"the tables give {both[0]} ({both[1]})")
                text = (text[:m.start()] +
                        f"**{fmt(both[0])} ({fmt(both[1])} code) lines**" +
                        text[m.end():])
        lines = text.split("\n")
    if write:
        open(doc_path, "w", encoding="utf-8").write("\n".join(lines))
        for p in problems:
            print(f"fixed: {p}")
        return 0
    for p in problems:
        print(f"docs/SECURITY.md: {p}")
    if problems:
        print(f"{len(problems)} problem(s): run scripts/check-priv-lines.py "
              f". --write, then say why the count changed")
        return 1
    print(f"privileged line counts: {tables} tables agree with the files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
