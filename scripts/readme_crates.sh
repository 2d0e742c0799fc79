#!/usr/bin/env bash
# Builds each Rust block of README.md in a fresh crate that has only the
# `[dependencies]` its first comment lines list (mcp-tower-guard from this
# checkout), as a new user who copies it would. The test suite checks that
# the blocks equal their examples/ files and runs them; this checks that the
# dependency lines are enough. Versions come from this repository's
# Cargo.lock, so nothing new is resolved.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=target/readme-crates
rm -rf "$out/crates"
mkdir -p "$out/crates"

# Split README.md's ```rust blocks into crates/block-N/src/main.rs.
awk -v out="$out/crates" '
  /^```rust/ { n++; dir = out "/block-" n; system("mkdir -p " dir "/src"); file = dir "/src/main.rs"; inside = 1; next }
  inside && /^```$/ { inside = 0; close(file); next }
  inside { print > file }
' README.md

status=0
for dir in "$out"/crates/block-*; do
  main="$dir/src/main.rs"
  name=$(basename "$dir")
  {
    printf '[package]\nname = "readme-%s"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n[workspace]\n\n[dependencies]\n' "$name"
    # `// name = …` lines after `// [dependencies]`, up to the first other line.
    awk '
      $0 == "// [dependencies]" { deps = 1; next }
      deps && /^\/\/ [A-Za-z0-9_-]+ = / { sub(/^\/\/ /, ""); sub(/ #.*$/, ""); print; next }
      deps { exit }
    ' "$main" | sed "s|^mcp-tower-guard = .*|mcp-tower-guard = { path = \"$root\" }|"
  } > "$dir/Cargo.toml"
  if ! grep -q '^mcp-tower-guard = ' "$dir/Cargo.toml"; then
    echo "README block $name lists no [dependencies]"; status=1; continue
  fi
  cp Cargo.lock "$dir/Cargo.lock"
  echo "== README $name: $(head -1 "$main")"
  if ! CARGO_TARGET_DIR="$root/$out/target" cargo check --quiet --manifest-path "$dir/Cargo.toml"; then
    echo "README block $name does not build with the dependencies it lists:"; cat "$dir/Cargo.toml"; status=1
  fi
done
# A user who turns default features off and forgets `axum` gets a message
# that names the feature (the `ReplayBody` diagnostic), not only a trait bound.
dir="$out/crates/no-axum-feature"
mkdir -p "$dir/src"
printf '[package]\nname = "no-axum-feature"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n[workspace]\n\n[dependencies]\nmcp-tower-guard = { path = "%s", default-features = false, features = ["host", "origin", "headers", "session"] }\naxum = "0.8"\n' "$root" > "$dir/Cargo.toml"
cat > "$dir/src/main.rs" <<'RUST'
fn main() {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 8000));
    let guard = mcp_tower_guard::McpGuard::local(addr).unwrap();
    let mcp = axum::Router::new().fallback(axum::routing::post(|| async {}));
    let _app: axum::Router = axum::Router::new().route_service("/mcp", guard.into_service(mcp));
}
RUST
cp Cargo.lock "$dir/Cargo.lock"
echo "== without the axum feature: the error names it"
if CARGO_TARGET_DIR="$root/$out/target" cargo check --quiet --manifest-path "$dir/Cargo.toml" > "$dir/errors.txt" 2>&1; then
  echo "an axum Router built without the axum feature; expected an error"; status=1
elif ! grep -q "enable mcp-tower-guard's \`axum\` feature" "$dir/errors.txt"; then
  echo "the error does not name the axum feature:"; cat "$dir/errors.txt"; status=1
fi

exit $status
