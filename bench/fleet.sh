#!/usr/bin/env bash
# The fleet benchmark, from one command on a fresh Debian machine (as root):
#
#   sudo bash bench/fleet.sh                      # 40 and 200 hosts, 3 runs each
#   sudo bash bench/fleet.sh --hosts 40 --reps 1  # a quick look
#
# Installs the lab's packages and a virtualenv with ansible-core and pyinfra
# (PyPI), builds sshfix in release mode, then runs bench/fleet.py, which
# prints the table and writes bench/results/results.{json,md}. What each case
# measures, and the numbers of the last full run: docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n==> %s\n' "$*" >&2; }
[ "$(id -u)" = 0 ] || { echo "bench: run as root (the lab needs namespaces, the measurements cgroups)" >&2; exit 1; }

. scripts/cargo-path.sh

say "the lab's Debian packages (and python3 for Ansible's setup module on the hosts)"
bash tests/lab/lab.sh deps
if ! [ -x /usr/bin/python3 ] || ! /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null; then
  apt-get install -y python3 python3-venv
fi

# Pinned, so runs compare: the versions measured in docs/performance.md.
ANSIBLE_CORE=2.19.14
PYINFRA=3.10.0
venv=${SSHFIX_BENCH_VENV:-.venv-bench}
if ! "$venv/bin/ansible" --version 2>/dev/null | grep -q "core $ANSIBLE_CORE\]" ||
   ! "$venv/bin/pyinfra" --version 2>/dev/null | grep -q "$PYINFRA"; then
  say "virtualenv $venv: ansible-core $ANSIBLE_CORE, pyinfra $PYINFRA"
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q "ansible-core==$ANSIBLE_CORE" "pyinfra==$PYINFRA"
fi

say "cargo build --release"
cargo build --release --locked

say "benchmark"
exec /usr/bin/python3 bench/fleet.py --sshfix target/release/sshfix --venv "$venv" --out bench/results "$@"
