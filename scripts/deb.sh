#!/usr/bin/env bash
# Builds the Debian package: the release binary, then the man pages and shell
# completions that binary generates from its own clap definitions (into
# target/assets, where [package.metadata.deb] in Cargo.toml expects them), then
# `cargo deb --no-build`. Installs cargo-deb with `cargo install --locked` when
# it is missing. Prints the path of the .deb as its last line.
# SSHFIX_DEB_PROFILE=dev packages the debug binary instead (the test suite's
# package check: the binary `cargo test` built, not a 7-minute release build).
# cargo-deb refuses the dev profile itself (a warning today, "a hard error in
# the future"), so the debug binary is staged under the custom profile
# `deb-check` (Cargo.toml: inherits dev) and packaged from there.
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

profile=${SSHFIX_DEB_PROFILE:-release}
case $profile in
release)
  bin=target/release/sshfix
  deb_profile=release
  ;;
dev)
  bin=target/deb-check/sshfix
  deb_profile=deb-check
  ;;
*)
  echo "error: SSHFIX_DEB_PROFILE=$profile: use release or dev" >&2
  exit 1
  ;;
esac

echo "==> cargo build --profile $profile --locked" >&2
cargo build --profile "$profile" --locked >&2
if [ "$profile" = dev ]; then
  echo "==> staging target/debug/sshfix as $bin" >&2
  mkdir -p "$(dirname "$bin")"
  cp target/debug/sshfix "$bin"
fi

echo "==> man pages and completions into target/assets" >&2
rm -rf target/assets
"$bin" generate man target/assets/man >&2
for shell in bash zsh fish; do
  "$bin" generate completions "$shell" target/assets/completions >&2
done

echo "==> cargo deb --no-build --profile $deb_profile" >&2
cargo deb --no-build --profile "$deb_profile" --locked | tail -n 1
