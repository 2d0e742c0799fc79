#!/usr/bin/env python3
"""The crate's public API as text, one item per line, from rustdoc's JSON.

    scripts/public_api.py            # print it (all features)
    scripts/public_api.py --check    # compare with public-api.txt; exit 1 on any difference
    scripts/public_api.py --bless    # write public-api.txt

Each line is an item reachable from the crate root under its public path:
modules, types (with public fields and enum variants), traits (with their
items), functions and methods (with their signatures), constants, and the
trait impls of each type (auto traits included, blanket impls left out).
A change to any of them changes the list, so CI sees every API change and
the committed list says what 0.1 promises.

rustdoc's JSON output is unstable; it is read with the machine's stable
toolchain through RUSTC_BOOTSTRAP (for this crate only, in target/public-api),
as cargo-public-api and cargo-semver-checks do.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "public-api.txt"


def build() -> dict:
    # RUSTC_BOOTSTRAP is part of every unit's fingerprint: a target folder of
    # its own keeps the main one's artifacts from being rebuilt back and forth,
    # and naming the crate enables unstable options for it alone.
    env = dict(os.environ, RUSTC_BOOTSTRAP="mcp_tower_guard", RUSTDOCFLAGS="")
    target = ROOT / "target" / "public-api"
    subprocess.run(
        ["cargo", "rustdoc", "--lib", "--all-features", "-q", "--target-dir", str(target), "--",
         "-Z", "unstable-options", "--output-format", "json"],
        cwd=ROOT, env=env, check=True,
    )
    return json.loads((target / "doc/mcp_tower_guard.json").read_text())


class Api:
    def __init__(self, doc):
        self.doc = doc
        self.index = doc["index"]
        self.paths = doc["paths"]
        self.lines = set()
        self.types = set()
        self.type_ids = set()

    # Types, rendered compactly.
    def ty(self, t) -> str:
        if t is None:
            return "()"
        (kind, v), = t.items()
        if kind == "resolved_path":
            name = v.get("path", "?").split("::")[-1]
            return name + self.args(v.get("args"))
        if kind == "generic":
            return v
        if kind == "primitive":
            return v
        if kind == "borrowed_ref":
            life = (v.get("lifetime") or "") + " " if v.get("lifetime") else ""
            mut = "mut " if v.get("is_mutable") else ""
            return f"&{life}{mut}{self.ty(v['type'])}"
        if kind == "tuple":
            return "(" + ", ".join(self.ty(x) for x in v) + ")"
        if kind == "slice":
            return "[" + self.ty(v) + "]"
        if kind == "array":
            return f"[{self.ty(v['type'])}; {v['len']}]"
        if kind == "impl_trait":
            return "impl " + " + ".join(self.bound(b) for b in v)
        if kind == "dyn_trait":
            parts = [p["trait"]["path"].split("::")[-1] + self.args(p["trait"].get("args")) for p in v["traits"]]
            return "dyn " + " + ".join(parts)
        if kind == "raw_pointer":
            return ("*mut " if v.get("is_mutable") else "*const ") + self.ty(v["type"])
        if kind == "qualified_path":
            tr = v.get("trait")
            tname = tr["path"].split("::")[-1] if tr else "?"
            return f"<{self.ty(v['self_type'])} as {tname}>::{v['name']}"
        if kind == "function_pointer":
            sig = v["sig"]
            return "fn(" + ", ".join(self.ty(i[1]) for i in sig["inputs"]) + ") -> " + self.ty(sig.get("output"))
        return "_"

    def args(self, a) -> str:
        if not a:
            return ""
        if "angle_bracketed" in a:
            out = []
            for g in a["angle_bracketed"]["args"]:
                (k, v), = g.items() if isinstance(g, dict) else (("x", g),)
                if k == "type":
                    out.append(self.ty(v))
                elif k == "lifetime":
                    out.append(v)
                elif k == "const":
                    out.append(str(v.get("expr", "_")))
            for c in a["angle_bracketed"].get("constraints", []):
                binding = c.get("binding", {})
                if "equality" in binding:
                    eq = binding["equality"]
                    out.append(f"{c['name']} = {self.ty(eq['type']) if 'type' in eq else '_'}")
            return "<" + ", ".join(out) + ">" if out else ""
        if "parenthesized" in a:
            p = a["parenthesized"]
            return "(" + ", ".join(self.ty(x) for x in p["inputs"]) + ") -> " + self.ty(p.get("output"))
        return ""

    def bound(self, b) -> str:
        if "trait_bound" in b:
            tr = b["trait_bound"]["trait"]
            return tr["path"].split("::")[-1] + self.args(tr.get("args"))
        if "outlives" in b:
            return b["outlives"]
        return "_"

    def generics(self, g) -> str:
        params = []
        for p in g.get("params", []):
            kind = p["kind"]
            if "lifetime" in kind:
                params.append(p["name"])
            elif "type" in kind:
                if kind["type"].get("is_synthetic"):
                    continue
                bounds = kind["type"].get("bounds", [])
                params.append(p["name"] + (": " + " + ".join(self.bound(b) for b in bounds) if bounds else ""))
            elif "const" in kind:
                params.append(f"const {p['name']}: {self.ty(kind['const']['type'])}")
        where = []
        for w in g.get("where_predicates", []):
            if "bound_predicate" in w:
                bp = w["bound_predicate"]
                where.append(self.ty(bp["type"]) + ": " + " + ".join(self.bound(b) for b in bp["bounds"]))
        s = "<" + ", ".join(params) + ">" if params else ""
        if where:
            # Sorted: rustdoc lists synthesized auto-trait bounds in no fixed order.
            s += " where " + ", ".join(sorted(where))
        return s

    def fn_sig(self, name, f) -> str:
        sig = f["sig"]
        header = f.get("header", {})
        pre = ("const " if header.get("is_const") else "") + ("async " if header.get("is_async") else "")
        inputs = ", ".join(
            (n if n == "self" else f"{n}: {self.ty(t)}") if n != "self" else self.self_arg(t)
            for n, t in sig["inputs"]
        )
        out = sig.get("output")
        ret = f" -> {self.ty(out)}" if out else ""
        g = self.generics(f.get("generics", {}))
        where = ""
        if " where " in g:
            g, where = g.split(" where ", 1)
            where = " where " + where
        return f"{pre}fn {name}{g}({inputs}){ret}{where}"

    def self_arg(self, t) -> str:
        s = self.ty(t)
        return {"Self": "self", "&Self": "&self", "&mut Self": "&mut self"}.get(s, f"self: {s}")

    # Walking the crate.
    def add(self, line):
        self.lines.add(line)

    def visit_module(self, mid, path, seen):
        if mid in seen:
            return
        seen.add(mid)
        item = self.index[mid]
        self.add(f"mod {'::'.join(path)}")
        for child in item["inner"]["module"]["items"]:
            self.visit(child, path, seen)

    def visit(self, iid, path, seen, name=None):
        item = self.index.get(str(iid)) if not isinstance(iid, str) else self.index.get(iid)
        if item is None:
            return
        inner_kind, inner = next(iter(item["inner"].items()))
        if inner_kind == "use":
            if item["visibility"] != "public":
                return
            target = inner.get("id")
            if inner.get("is_glob"):
                if target is not None and str(target) in self.index:
                    for child in self.index[str(target)]["inner"]["module"]["items"]:
                        self.visit(child, path, seen)
                return
            if target is None or str(target) not in self.index:
                # A re-export of a foreign item: name it, it is part of the API.
                self.add(f"pub use {'::'.join(path + [inner['name']])} = {inner['source']}")
                return
            self.visit(target, path, seen, name=inner["name"])
            return
        if item.get("visibility") != "public" and inner_kind not in ("impl", "variant", "struct_field"):
            return
        if is_hidden(item):
            return
        name = name or item.get("name")
        full = "::".join(path + [name])
        if inner_kind in ("struct", "enum", "union", "trait", "type_alias"):
            self.type_ids.add(str(iid))
        if inner_kind == "module":
            self.visit_module(str(iid), path + [name], seen)
        elif inner_kind in ("struct", "enum", "union"):
            self.types.add(full)
            g = self.generics(inner.get("generics", {}))
            attrs = " ".join(a for a in attr_strings(item) if "non_exhaustive" in a)
            self.add(f"{inner_kind} {full}{g}{' ' + attrs if attrs else ''}")
            if inner_kind == "struct":
                kind = inner.get("kind", {})
                fields = []
                if isinstance(kind, dict) and "plain" in kind:
                    fields = kind["plain"]["fields"]
                elif isinstance(kind, dict) and "tuple" in kind:
                    fields = [f for f in kind["tuple"] if f is not None]
                for fid in fields:
                    f = self.index.get(str(fid))
                    if f and f.get("visibility") == "public":
                        self.add(f"field {full}.{f['name']}: {self.ty(f['inner']['struct_field'])}")
            if inner_kind == "enum":
                for vid in inner.get("variants", []):
                    v = self.index.get(str(vid))
                    if v:
                        self.add(f"variant {full}::{v['name']}")
            self.impls(full, inner.get("impls", []))
        elif inner_kind == "trait":
            self.types.add(full)
            self.add(f"trait {full}{self.generics(inner.get('generics', {}))}")
            for tid in inner.get("items", []):
                t = self.index.get(str(tid))
                if not t:
                    continue
                k, v = next(iter(t["inner"].items()))
                if k == "function":
                    self.add(f"trait-fn {full}::{self.fn_sig(t['name'], v)}")
                else:
                    self.add(f"trait-{k} {full}::{t['name']}")
        elif inner_kind == "type_alias":
            self.types.add(full)
            self.add(f"type {full}{self.generics(inner.get('generics', {}))} = {self.ty(inner['type'])}")
        elif inner_kind == "function":
            self.add(f"fn {'::'.join(path)}::{self.fn_sig(name, inner)}")
        elif inner_kind in ("constant", "static"):
            t = inner.get("type")
            self.add(f"const {full}: {self.ty(t)}")
        elif inner_kind == "macro":
            self.add(f"macro {full}")
        else:
            self.add(f"{inner_kind} {full}")

    def impls(self, full, impl_ids):
        for iid in impl_ids:
            imp = self.index.get(str(iid))
            if not imp:
                continue
            v = imp["inner"]["impl"]
            if v.get("blanket_impl") is not None:
                continue
            if is_hidden(imp):
                continue
            trait = v.get("trait")
            if trait is not None:
                neg = "!" if v.get("is_negative") else ""
                tname = trait["path"].split("::")[-1] + self.args(trait.get("args"))
                g = self.generics(v.get("generics", {}))
                self.add(f"impl {full}: {neg}{tname}{'  [' + g + ']' if g else ''}")
                continue
            for mid in v.get("items", []):
                m = self.index.get(str(mid))
                if not m or m.get("visibility") != "public" or is_hidden(m):
                    continue
                k, mv = next(iter(m["inner"].items()))
                if k == "function":
                    self.add(f"method {full}::{self.fn_sig(m['name'], mv)}")
                elif k in ("constant", "assoc_const"):
                    self.add(f"const {full}::{m['name']}")


def attr_strings(item):
    out = []
    for a in item.get("attrs", []):
        if isinstance(a, str):
            out.append(a)
        elif isinstance(a, dict):
            out.append(json.dumps(a))
    return out


def is_hidden(item) -> bool:
    return any("hidden" in a for a in attr_strings(item))


def render() -> str:
    doc = build()
    api = Api(doc)
    root = str(doc["root"])
    api.visit_module(root, ["mcp_tower_guard"], set())
    lines = sorted(api.lines)
    header = [
        "# The public API of mcp-tower-guard with every feature on, from",
        "# scripts/public_api.py (rustdoc JSON). CI fails when the code and this",
        "# list differ; `scripts/public_api.py --bless` rewrites it.",
        f"# {len(api.type_ids)} public types (structs, enums, unions, traits, aliases; {len(api.types)} paths), {len(lines)} lines.",
    ]
    return "\n".join(header + lines) + "\n"


def main():
    text = render()
    if "--bless" in sys.argv:
        BASELINE.write_text(text)
        print(text.splitlines()[3])
        return
    if "--check" in sys.argv:
        old = BASELINE.read_text() if BASELINE.exists() else ""
        if old == text:
            print("public API unchanged: " + text.splitlines()[3].lstrip("# "))
            return
        import difflib
        sys.stdout.writelines(difflib.unified_diff(
            old.splitlines(True), text.splitlines(True), "public-api.txt", "the code"))
        print("\nThe public API changed. If that is meant, run scripts/public_api.py --bless,"
              " and record the change in CHANGELOG.md.")
        sys.exit(1)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
