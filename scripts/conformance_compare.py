#!/usr/bin/env python3
"""Compares two runs of the MCP conformance suite (`-o` output folders).

    scripts/conformance_compare.py BARE_DIR GUARDED_DIR

Each folder holds one `server-<scenario>-<time>/checks.json` per scenario,
as `conformance server -o DIR` writes them. Prints the totals of both runs
and exits 1 if any check that passed in the bare run did not pass in the
guarded one (a check the guard broke). Checks that fail in both are listed
as the server's own gaps, not the guard's.
"""

import json
import pathlib
import re
import sys


def load(root: pathlib.Path) -> dict:
    """(scenario, check id, occurrence) -> status, over every checks.json."""
    results = {}
    for path in sorted(root.rglob("checks.json")):
        match = re.match(r"server-(.+)-\d{4}-\d\d-\d\dT", path.parent.name)
        scenario = match.group(1) if match else path.parent.name
        seen = {}
        for check in json.loads(path.read_text()):
            key = check.get("id", "?")
            seen[key] = seen.get(key, 0) + 1
            results[(scenario, key, seen[key])] = check.get("status", "?")
    return results


def totals(results: dict) -> str:
    counts = {}
    for status in results.values():
        counts[status] = counts.get(status, 0) + 1
    parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    return f"{len(results)} checks: {parts}"


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    bare = load(pathlib.Path(sys.argv[1]))
    guarded = load(pathlib.Path(sys.argv[2]))
    if not bare:
        print(f"no checks.json under {sys.argv[1]}", file=sys.stderr)
        return 2
    print(f"bare:    {totals(bare)}")
    print(f"guarded: {totals(guarded)}")
    broken = [
        (key, guarded.get(key, "MISSING"))
        for key, status in sorted(bare.items())
        if status == "SUCCESS" and guarded.get(key) != "SUCCESS"
    ]
    gaps = sorted({key[0] for key, status in bare.items() if status == "FAILURE"})
    if gaps:
        print("failing without the guard too (the server's gaps): " + ", ".join(gaps))
    for (scenario, check, _), status in broken:
        print(f"BROKEN  {scenario} / {check}: SUCCESS bare, {status} guarded")
    passed = sum(1 for s in bare.values() if s == "SUCCESS")
    kept = passed - len(broken)
    print(f"the guarded server passes {kept} of the {passed} checks the bare server passes")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
