#!/usr/bin/python3
"""The library is built in floors (docs/architecture.md); this check fails
when the code says otherwise.

    tests/include_check.py SRC_DIR

1. Includes: a file under src/FLOOR/ includes only the public header,
   headers of its own folder and headers of floors below it. Two folders
   on the same floor (layers and data, plasticity and io) are neighbours
   and include neither each other. src/internal.h, the umbrella over every
   floor, is for tests, benchmarks and fuzzers: no file in src/ includes it.
2. Calls: a library .c file uses (calls or takes the address of) only
   rw_* functions defined in its own floor or below, and no two library
   .c files depend on each other, directly or round a longer circle.
   Definitions and uses are read from the sources (comments and strings
   removed), so it runs before anything is built.
3. Size: no file in src/ is longer than 1,500 lines.

Exits 1 and names every offence, 0 when there is none.
"""
import os
import re
import sys

# Floor of each folder of src/; a higher number sits higher.
FLOORS = {
    "base": 0,
    "layers": 1, "data": 1,
    "net": 2,
    "dist": 3,
    "plasticity": 4, "io": 4,
    "learn": 5,
}
MAX_LINES = 1500

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
STRING = re.compile(r'"(?:\\.|[^"\\\n])*"' + r"|'(?:\\.|[^'\\\n])*'")
# A function definition at file level: a name, its parameters and a body.
DEFINITION = re.compile(
    r"^(?!static\b)[A-Za-z_][^;{}()#]*?\b(rw_\w+)\s*\(([^;{}]*?)\)\s*"
    r"(?:__attribute__\s*\(\(.*?\)\)\s*)*\{", re.M | re.S)
USE = re.compile(r"\b(rw_\w+)\b")


def floor_of(src, path):
    """(folder, floor) of a file under src/, or None outside any floor."""
    rel = os.path.relpath(path, src)
    top = rel.split(os.sep)[0]
    if top in FLOORS:
        return top, FLOORS[top]
    return None


def library_files(src):
    for d, _, names in sorted(os.walk(src)):
        for n in sorted(names):
            if n.endswith((".c", ".h")):
                yield os.path.join(d, n)


def resolve(src, including, name):
    """The file an #include "name" reaches: the includer's folder first,
    then src/ (the include path of the library); None for anything else
    (the public header in include/)."""
    for base in (os.path.dirname(including), src):
        p = os.path.normpath(os.path.join(base, name))
        if os.path.isfile(p):
            return p
    return None


def check_includes(src, files, problems):
    umbrella = os.path.join(src, "internal.h")
    for f in files:
        if f == umbrella:
            continue
        mine = floor_of(src, f)
        rel = os.path.relpath(f, src)
        if mine is None:
            problems.append(f"{rel}: outside every floor folder ({', '.join(FLOORS)})")
            continue
        text = open(f, encoding="utf-8").read()
        for name in INCLUDE.findall(text):
            target = resolve(src, f, name)
            if target is None:
                continue
            trel = os.path.relpath(target, src)
            if target == umbrella:
                problems.append(f"{rel}: includes the umbrella internal.h; include the floor's own header")
                continue
            theirs = floor_of(src, target)
            if theirs is None:
                problems.append(f"{rel}: includes {trel}, outside every floor")
            elif theirs[1] > mine[1]:
                problems.append(f"{rel}: includes {trel} from the higher floor {theirs[0]}/ "
                                f"({mine[0]}/ is floor {mine[1]}, {theirs[0]}/ floor {theirs[1]})")
            elif theirs[1] == mine[1] and theirs[0] != mine[0]:
                problems.append(f"{rel}: includes {trel} from {theirs[0]}/, a neighbour on the "
                                f"same floor")


def strip(text):
    text = COMMENT.sub(" ", text)
    text = re.sub(r"^\s*#.*?(?<!\\)$", " ", text, flags=re.M | re.S)  # directives
    return STRING.sub('""', text)


def strongly_connected(graph):
    """Tarjan's components with more than one file (the circles)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def check_calls(src, files, problems):
    sources = [f for f in files if f.endswith(".c") and floor_of(src, f)]
    stripped = {f: strip(open(f, encoding="utf-8").read()) for f in sources}
    owners = {}
    for f, text in stripped.items():
        for m in DEFINITION.finditer(text):
            owners.setdefault(m.group(1), set()).add(f)
    graph = {}
    for f, text in stripped.items():
        mine = floor_of(src, f)
        for name in sorted(set(USE.findall(text))):
            # Its own definition (the two transports define the same names).
            if f in owners.get(name, ()):
                continue
            for owner in owners.get(name, ()):
                graph.setdefault(f, {}).setdefault(owner, name)
                theirs = floor_of(src, owner)
                if theirs[1] > mine[1] or (theirs[1] == mine[1] and theirs[0] != mine[0]):
                    problems.append(
                        f"{os.path.relpath(f, src)}: uses {name} of {os.path.relpath(owner, src)}, "
                        f"{'a higher floor' if theirs[1] > mine[1] else 'a neighbour on the same floor'}")
    for comp in strongly_connected({k: set(v) for k, v in graph.items()}):
        links = []
        for a in comp:
            for b, name in sorted(graph.get(a, {}).items()):
                if b in comp:
                    links.append(f"{os.path.relpath(a, src)} -> {os.path.relpath(b, src)} ({name})")
        problems.append("circle between library files: " + "; ".join(links))
    if len(owners) < 50:
        problems.append(f"found only {len(owners)} rw_* definitions: the parser has gone blind")


def check_sizes(src, files, problems):
    for f in files:
        n = sum(1 for _ in open(f, encoding="utf-8"))
        if n > MAX_LINES:
            problems.append(f"{os.path.relpath(f, src)}: {n} lines, over {MAX_LINES}")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    src = os.path.abspath(sys.argv[1])
    files = list(library_files(src))
    problems = []
    check_includes(src, files, problems)
    check_calls(src, files, problems)
    check_sizes(src, files, problems)
    for p in problems:
        print("include_check:", p)
    if problems:
        sys.exit(1)
    print(f"include_check: {len(files)} files in {len(set(floor_of(src, f) for f in files) - {None})} "
          "floor folders, every include and call points down, no circle")


if __name__ == "__main__":
    main()
