#!/usr/bin/env bash
# The whole test suite, as the README and CI run it: installs what it needs
# (Debian packages for the lab, ansible-core in a virtualenv for the
# inventory comparison; groff, man-db, zsh and fish for the packaging test),
# checks formatting and lints, runs every test including the namespace lab,
# builds, installs and removes the .deb (scripts/deb-check.sh). Nothing the
# tests make (namespaces, veths, sshd/ssh processes, lab and control
# directories) may be left behind: checked after `cargo test` (all three lab
# suites) and after one more run of the lab suite.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n==> %s\n' "$*" >&2; }

. scripts/cargo-path.sh

if [ "$(id -u)" = 0 ]; then
  say "installing the lab's Debian packages"
  bash tests/lab/lab.sh deps
  say "installing groff, man-db, zsh and fish for the man page and completion tests"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq groff-base man-db zsh fish >/dev/null
else
  echo "*** not root: skipping package installation; the namespace-lab tests will be SKIPPED ***" >&2
fi

say "ansible-core virtualenv for the inventory comparison"
bash tests/ansible/setup-venv.sh

say "cargo fmt --check"
cargo fmt --all -- --check

say "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

leak_before=$(mktemp)
if [ "$(id -u)" = 0 ]; then
  bash tests/lab/leak-check.sh record "$leak_before"
fi

say "cargo test (unit, inventory, probe, lab)"
cargo test --all-targets

if [ "$(id -u)" = 0 ]; then
  say "leak check: nothing cargo test made may be left behind"
  bash tests/lab/leak-check.sh compare "$leak_before" "cargo test (lab, lab_apply, lab_hostile)"
fi
rm -f "$leak_before"

# `cargo install --locked --path .` as docs/install.md says, but a debug build
# into a temporary root: with --path, cargo builds in this target/, so it
# reuses what cargo test built (seconds, not a 7-minute release build)
say "cargo install --locked --path . --debug (into a temporary root)"
install_root=$(mktemp -d)
cargo install --quiet --locked --path . --debug --root "$install_root"
"$install_root/bin/sshfix" --version
"$install_root/bin/sshfix" explain tcp-wrappers-deny >/dev/null
rm -rf "$install_root"

# the .deb of the debug binary cargo test just built: built, installed with
# dpkg -i, checked, removed (about 20 s; not root: skipped loudly). The check
# is about the package (files, dpkg, man, completions); a release build would
# add 7 minutes (`bash scripts/deb.sh` alone builds the release package)
say "Debian package of the debug binary: build, dpkg -i, check, dpkg -r (scripts/deb-check.sh)"
SSHFIX_DEB_PROFILE=dev bash scripts/deb-check.sh

if [ "$(id -u)" = 0 ]; then
  # the harness must keep working; the numbers of 3 hosts mean nothing
  say "fleet benchmark harness on 3 hosts (bench/fleet.py; every host must be reached)"
  bench_out=$(mktemp -d)
  python3 bench/fleet.py --hosts 3 --reps 1 --sshfix target/debug/sshfix --out "$bench_out" \
    --only floor,floor-jump,script-ssh,script-on-host-x10,sshfix-probe,sshfix-facts,sshfix-plan,sshfix-facts-jump,sshfix-plan-faulty >/dev/null
  rm -rf "$bench_out"
fi

if [ "$(id -u)" = 0 ]; then
  say "lab suite x${SSHFIX_LEAK_RUNS:-1} more: nothing may be left behind"
  bash tests/lab/leak-check.sh "${SSHFIX_LEAK_RUNS:-1}"
fi
say "all tests passed"
