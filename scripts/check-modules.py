#!/usr/bin/env python3
"""Fails on a module cycle or an import against the layering.

Reads the crate's sources (src/, not src/bin) and the paths they name
(`crate::…`, `super::…`, `self::…` in `use` items and in code), then checks:

1. No two sibling modules import each other, directly or through other
   siblings: for every module, its children (each standing for everything
   below it) form an acyclic graph. A child using its parent's items
   (`super::`) is not a cycle.
2. No top-level module imports one of a higher layer (LAYERS below): http
   above app above the state, auth, the store, images and the leaves
   (domain, error, configuration).

Usage: scripts/check-modules.py [SRC_DIR]   (exit 1 on a finding)
"""
import os
import re
import sys
from collections import defaultdict

# Lower numbers are lower layers; a module may import its own layer or below.
LAYERS = {
    "domain": 0, "error": 0, "random": 0, "configuration": 0,
    "metrics": 1, "ratelimit": 1,
    "images": 2,
    "store": 3,
    "auth": 4,
    "state": 5,
    "app": 6,
    "http": 7,
    "admin": 8, "startup": 8, "telemetry": 8, "cors": 8, "upgrade_command": 8, "rates_command": 8, "tasks": 8,
}

PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_GROUP = re.compile(r"\buse\s+(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*)\};", re.S)
COMMENT = re.compile(r"//[^\n]*")


def module_of(src, path):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib"):
        rel = rel[:-1]
    return tuple(rel)


def load(src):
    files = {}
    for root, dirs, names in os.walk(src):
        if os.path.relpath(root, src).split(os.sep)[0] == "bin":
            continue
        for n in names:
            if n.endswith(".rs") and n != "main.rs":
                p = os.path.join(root, n)
                files[module_of(src, p)] = COMMENT.sub("", open(p, encoding="utf-8").read())
    return files


def resolve(module, is_mod_file, anchor, rest):
    if anchor == "crate":
        base = ()
    elif anchor == "self":
        base = module
    else:  # super: the parent of the module
        base = module[:-1]
    return base + tuple(rest)


def references(files, mod_files):
    deps = defaultdict(set)
    known = set(files)
    for module, text in files.items():
        found = []
        for m in USE_GROUP.finditer(text):
            anchor, head = m.group(1), [s for s in m.group(2).split("::") if s]
            for item in re.split(r"[,{}\s]+", m.group(3)):
                item = item.split("::")[0]
                if item and item not in ("self", "*"):
                    found.append((anchor, head + [item]))
                elif item == "self":
                    found.append((anchor, head))
        for m in PATH.finditer(text):
            found.append((m.group(1), [s for s in m.group(2).split("::") if s]))
        for anchor, rest in found:
            target = resolve(module, module in mod_files, anchor, rest)
            # The longest known module the path names.
            while target and target not in known:
                target = target[:-1]
            if target and target != module:
                deps[module].add(target)
    return deps


def sibling_cycles(deps, modules):
    findings = []
    parents = defaultdict(set)
    for m in modules:
        for i in range(len(m)):
            parents[m[:i]].add(m[: i + 1])
    for parent, children in parents.items():
        depth = len(parent) + 1
        graph = defaultdict(set)
        for source, targets in deps.items():
            if len(source) < depth or source[: depth - 1] != parent:
                continue
            for t in targets:
                if len(t) >= depth and t[: depth - 1] == parent and t[:depth] != source[:depth]:
                    graph[source[:depth]].add(t[:depth])
        for cycle in strongly_connected(graph, children):
            findings.append("cycle between " + ", ".join("::".join(c) for c in sorted(cycle)))
    return findings


def strongly_connected(graph, nodes):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
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
                out.append(comp)

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def layer_breaks(deps):
    findings = []
    for source, targets in deps.items():
        for t in targets:
            a, b = source[0], t[0]
            if a == b:
                continue
            if a not in LAYERS or b not in LAYERS:
                findings.append(f"{'::'.join(source)} -> {'::'.join(t)}: module missing from LAYERS")
            elif LAYERS[b] > LAYERS[a]:
                findings.append(f"{'::'.join(source)} imports {'::'.join(t)}, a layer above it")
    return findings


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "src")
    files = load(src)
    mod_files = set()
    deps = references(files, mod_files)
    findings = sorted(set(sibling_cycles(deps, set(files)) + layer_breaks(deps)))
    for f in findings:
        print(f)
    print(f"check-modules: {len(files)} modules, {sum(len(t) for t in deps.values())} imports, "
          f"{len(findings)} finding(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
