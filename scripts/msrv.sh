#!/usr/bin/env bash
# Checks that the library builds with the `rust-version` in Cargo.toml, all
# features on, with dependencies resolved the way an MSRV-aware Cargo resolves
# them for that version (`incompatible-rust-versions = fallback`).
#
# Why 1.85: `redis` 1.x (feature `redis`) is edition 2024, which Cargo reads
# from 1.85 on; with a 1.82 toolchain its manifest does not even parse.
set -euo pipefail
cd "$(dirname "$0")/.."
msrv=$(sed -n 's/^rust-version = "\([0-9.]*\)".*/\1/p' Cargo.toml)
rustup toolchain install "$msrv" --profile minimal >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git ls-files | grep -v '^fuzz/' | tar -cf - -T - | tar -xf - -C "$work"
cd "$work"
rm -f Cargo.lock
CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback cargo "+$msrv" generate-lockfile
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/mcp-tower-guard-msrv}" cargo "+$msrv" check --lib --all-features
echo "library builds with Rust $msrv"
