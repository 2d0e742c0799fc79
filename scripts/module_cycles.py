#!/usr/bin/env python3
"""Refuses import cycles between the files of `src/`.

Each file is a node. A file depends on another when it names an item
defined there: through a `use` of `crate::`, `super::`, `self::` or a child
module, or through such a path written inline. Re-exports (`pub use`,
`pub(crate) use`) are transparent: a name is traced to the file that defines
it, so `mod.rs` forwarding its children's items is not a dependency. Test
modules (`#[cfg(test)]`) and comments are left out.

Prints every cycle (a strongly connected component of more than one file)
and exits 1 if there is one; `--graph` prints every edge.

It also holds telemetry to its place as an observer: the layers tell it
what happens through `observe/`, at the bottom, so no file outside
`telemetry/` may depend on `telemetry/`, except the crate root and the
preset that stacks every layer (`lib.rs`, `guard/`).

Usage: scripts/module_cycles.py [--graph] [SRC_DIR]
"""

import re
import sys
from pathlib import Path

ITEM = re.compile(
    r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:unsafe\s+|async\s+|const\s+(?=fn))*"
    r"(struct|enum|trait|fn|type|const|static|union|mod)\s+([A-Za-z_][A-Za-z0-9_]*)",
    re.M,
)
MACRO = re.compile(r"^\s*macro_rules!\s*([A-Za-z_][A-Za-z0-9_]*)", re.M)
USE = re.compile(r"^\s*(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.M)
INLINE = re.compile(r"(?<![A-Za-z0-9_:])((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+)")


def strip(text: str) -> str:
    """Drops comments, string literals and `#[cfg(test)]` items."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'r#*"(?:.|\n)*?"#*', '""', text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*", text):
        if m.start() < i:
            continue
        out.append(text[i : m.start()])
        j = m.end()
        # Skip the item: up to its `;` or its matching closing brace.
        depth, k = 0, j
        while k < len(text):
            c = text[k]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    k += 1
                    break
            elif c == ";" and depth == 0:
                k += 1
                break
            k += 1
        i = k
    out.append(text[i:])
    return "".join(out)


def expand_use(tree: str):
    """`a::{b, c::{d as e}, self}` -> [(path, alias)]."""
    tree = re.sub(r"\s*(::|\{|\}|,)\s*", r"\1", tree.strip())
    tree = re.sub(r"\s+as\s+", " as ", tree)
    results = []

    def split_top(s):
        parts, depth, cur = [], 0, ""
        for c in s:
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            if c == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += c
        if cur:
            parts.append(cur)
        return parts

    def walk(s, prefix):
        brace = s.find("{")
        if brace >= 0:
            head = s[:brace].rstrip(":")
            inner = s[brace + 1 : s.rfind("}")]
            base = prefix + tuple(p for p in head.split("::") if p)
            for part in split_top(inner):
                walk(part, base)
            return
        alias = None
        if " as " in s:
            s, alias = s.split(" as ", 1)
        segs = [p for p in s.split("::") if p]
        if segs == ["self"]:
            results.append((prefix, alias))
            return
        if segs == ["*"]:
            results.append((prefix, "*"))
            return
        results.append((prefix + tuple(segs), alias))

    walk(tree, ())
    return results


class Crate:
    def __init__(self, src: Path):
        self.src = src
        self.files = {}  # module path tuple -> file
        self.children = {}  # module path -> set of child module names
        for f in sorted(src.rglob("*.rs")):
            rel = f.relative_to(src).with_suffix("")
            parts = list(rel.parts)
            if parts == ["lib"]:
                mod = ()
            elif parts[-1] == "mod":
                mod = tuple(parts[:-1])
            else:
                mod = tuple(parts)
            self.files[mod] = f
        for mod in self.files:
            if mod:
                self.children.setdefault(mod[:-1], set()).add(mod[-1])
        self.text = {m: strip(f.read_text()) for m, f in self.files.items()}
        self.defs = {}
        self.reexports = {}
        self.uses = {}
        for mod, text in self.text.items():
            names = {m.group(2) for m in ITEM.finditer(text)} | {
                m.group(1) for m in MACRO.finditer(text)
            }
            self.defs[mod] = names - self.children.get(mod, set())
            re_map, uses = {}, []
            for m in USE.finditer(text):
                for path, alias in expand_use(m.group(2)):
                    if not path:
                        continue
                    if alias == "*" or (path and path[-1] == "*"):
                        uses.append(tuple(p for p in path if p != "*"))
                        continue
                    name = alias or path[-1]
                    if m.group(1):
                        re_map[name] = path
                    else:
                        uses.append(path)
            self.reexports[mod] = re_map
            code = USE.sub("", text)
            inline = [tuple(m.group(1).split("::")) for m in INLINE.finditer(code)]
            # Inline paths that are themselves `use` lines were read above.
            self.uses[mod] = uses + inline

    def start(self, mod, path):
        """The module a path starts from, and the rest of it."""
        head = path[0]
        if head == "crate":
            return (), path[1:]
        if head == "self":
            return mod, path[1:]
        if head == "super":
            cur, rest = mod, path
            while rest and rest[0] == "super":
                cur, rest = cur[:-1], rest[1:]
            return cur, rest
        if head in self.children.get(mod, set()):
            return mod, path
        return None, None

    def resolve(self, mod, path, depth=0):
        """The module whose file defines what `path`, read in `mod`, names."""
        if depth > 20 or not path:
            return None
        cur, rest = self.start(mod, path)
        if cur is None:
            return None
        while rest:
            name = rest[0]
            if name in self.children.get(cur, set()):
                cur, rest = cur + (name,), rest[1:]
                continue
            if name in self.defs.get(cur, set()):
                return cur
            target = self.reexports.get(cur, {}).get(name)
            if target is not None:
                return self.resolve(cur, target + tuple(rest[1:]), depth + 1)
            return cur
        return cur

    def edges(self):
        out = {}
        for mod, paths in self.uses.items():
            deps = set()
            for path in paths:
                target = self.resolve(mod, path)
                if target is not None and target != mod and target in self.files:
                    deps.add(target)
            out[mod] = deps
        return out


def tarjan(graph):
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]

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
            comps.append(comp)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return comps


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    src = Path(args[0] if args else "src")
    crate = Crate(src)
    graph = crate.edges()
    name = lambda m: str(crate.files[m].relative_to(src))
    if "--graph" in sys.argv:
        for mod in sorted(graph):
            for dep in sorted(graph[mod]):
                print(f"{name(mod)} -> {name(dep)}")
    cycles = [c for c in tarjan(graph) if len(c) > 1]
    for comp in cycles:
        files = sorted(name(m) for m in comp)
        print("cycle: " + ", ".join(files))
        members = set(comp)
        for m in sorted(comp):
            for d in sorted(graph[m] & members):
                print(f"  {name(m)} -> {name(d)}")
    observer = sorted(
        f"{name(m)} -> {name(d)}"
        for m, deps in graph.items()
        for d in deps
        if d[:1] == ("telemetry",) and m[:1] not in (("telemetry",), ("guard",)) and m != ()
    )
    for edge in observer:
        print(f"names telemetry from outside (use crate::observe): {edge}")
    if cycles or observer:
        sys.exit(1)
    print(f"no import cycles between the {len(crate.files)} files of {src}/")


if __name__ == "__main__":
    main()
