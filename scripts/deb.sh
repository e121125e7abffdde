#!/usr/bin/env bash
# Builds the Debian package: the release binary, then the man pages and shell
# completions that binary generates from its own clap definitions (into
# target/assets, where [package.metadata.deb] in Cargo.toml expects them), then
# `cargo deb --no-build`. Installs cargo-deb with `cargo install --locked` when
# it is missing. Prints the path of the .deb as its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/cargo-path.sh

if ! cargo deb --version >/dev/null 2>&1; then
  echo "==> installing cargo-deb (cargo install --locked cargo-deb)" >&2
  cargo install --locked cargo-deb >&2
fi

target=${CARGO_TARGET_DIR:-target}
if [ "$target" != target ]; then
  # cargo-deb maps target/release to CARGO_TARGET_DIR, but not target/assets
  echo "error: scripts/deb.sh expects the default target directory; unset CARGO_TARGET_DIR" >&2
  exit 1
fi

echo "==> cargo build --release --locked" >&2
cargo build --release --locked >&2

echo "==> man pages and completions into target/assets" >&2
rm -rf target/assets
target/release/sshfix generate man target/assets/man >&2
for shell in bash zsh fish; do
  target/release/sshfix generate completions "$shell" target/assets/completions >&2
done

echo "==> cargo deb --no-build" >&2
cargo deb --no-build --locked | tail -n 1
