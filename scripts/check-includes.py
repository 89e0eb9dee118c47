#!/usr/bin/env python3
"""The include graph of src/ has no cycles: neither between directories
(fs/ includes nothing that includes fs/ back, and so on) nor between
files, a file being a module: NAME.c and NAME.h together. Only
#include "..." lines count (system headers are not ours). Prints each
cycle found, with the include lines that make it, and exits 1.

usage: check-includes.py [ROOT] [--graph]
  --graph  also print the directory graph (who includes whom)
"""
import pathlib
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def edges(src):
    """(from_module, to_module, where) for every quoted include in src/;
    a module is a path relative to src/ without .c or .h."""
    for f in sorted(src.rglob("*.[ch]")):
        text = f.read_text(errors="replace")
        for m in INCLUDE.finditer(text):
            target = (f.parent / m.group(1)).resolve()
            try:
                rel = target.relative_to(src.resolve())
            except ValueError:
                continue
            line = text.count("\n", 0, m.start()) + 1
            yield (module(f.relative_to(src)), module(rel),
                   f"{f.relative_to(src.parent)}:{line}: #include \"{m.group(1)}\"")


def module(rel):
    return str(rel.with_suffix(""))


def directory(mod):
    parts = mod.split("/")
    return "/".join(parts[:-1]) or "."


def cycles(graph):
    """Every elementary cycle, reported once each (Johnson would be
    exact; the graph is small, so a DFS from each node in order, keeping
    cycles whose smallest node is the start, suffices)."""
    found = []
    nodes = sorted(graph)
    for start in nodes:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in sorted(graph.get(node, ())):
                if nxt == start:
                    found.append(path + [start])
                elif nxt > start and nxt not in path:
                    stack.append((nxt, path + [nxt]))
    return found


def main(argv):
    root = pathlib.Path(next((a for a in argv[1:] if not a.startswith("--")),
                             pathlib.Path(__file__).resolve().parent.parent))
    src = root / "src"
    files, dirs, why = {}, {}, {}
    for a, b, where in edges(src):
        if a == b:
            continue
        files.setdefault(a, set()).add(b)
        why.setdefault((a, b), where)
        da, db = directory(a), directory(b)
        if da != db:
            dirs.setdefault(da, set()).add(db)
            why.setdefault((da, db), where)
    if "--graph" in argv:
        for d in sorted(dirs):
            print(f"{d} -> {', '.join(sorted(dirs[d]))}")
    bad = 0
    for kind, graph in (("directories", dirs), ("files", files)):
        for c in cycles(graph):
            bad += 1
            print(f"include cycle between {kind}: {' -> '.join(c)}")
            for a, b in zip(c, c[1:]):
                print(f"    {why[(a, b)]}")
    if bad:
        print(f"{bad} include cycle(s) in src/", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
