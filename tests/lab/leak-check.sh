#!/usr/bin/env bash
# Runs the lab test suite N times (default 10) and fails if anything it made
# is left behind: network namespaces, veth interfaces in the root namespace,
# sshd/ssh/socat/nc processes, lab directories, ssh control directories or
# mounts. Needs root.
#
#   leak-check.sh [N]                 run the lab suite N times (default 10)
#   leak-check.sh record FILE         write what exists now to FILE
#   leak-check.sh compare FILE WHAT   fail if anything exists now that FILE
#                                     did not list (WHAT names what ran since)
# scripts/test.sh records before `cargo test` and compares after it, so all
# three lab suites (lab, lab_apply, lab_hostile) are checked, then runs the
# lab suite once more here.
set -euo pipefail
cd "$(dirname "$0")/../.."

snapshot() {
  {
    echo "## netns"; ip netns list 2>/dev/null | awk '{print $1}' | sort
    echo "## veth"; ip -o link show type veth 2>/dev/null | awk -F': ' '{print $2}' | sort
    # zombies are left out: they hold nothing, and other programs on a busy
    # machine (not the suite, whose processes all exit) leave them briefly
    echo "## procs"; ps -eo pid=,stat=,comm=,args= 2>/dev/null \
      | awk '$2 !~ /^Z/ && $3 ~ /^(sshd|ssh|socat|nc|nc\.openbsd)$/ { $2 = ""; print }' | sort || true
    echo "## dirs"; ls -d /tmp/sshfix-lab.* /tmp/sfx-* 2>/dev/null | sort || true
    echo "## mounts"; grep -c sshfix /proc/self/mountinfo || true
  }
}

# $1: the snapshot taken before; $2: what ran since, for the message
compare() {
  local after
  after=$(snapshot)
  if [ "$1" != "$after" ]; then
    echo "error: $2 left things behind:" >&2
    diff <(echo "$1") <(echo "$after") >&2 || true
    exit 1
  fi
}

case "${1:-}" in
record)
  [ -n "${2:-}" ] || { echo "usage: leak-check.sh record FILE" >&2; exit 2; }
  snapshot >"$2"
  exit 0
  ;;
compare)
  [ -n "${3:-}" ] || { echo "usage: leak-check.sh compare FILE WHAT" >&2; exit 2; }
  compare "$(cat "$2")" "$3"
  echo "leak check: $3 left nothing behind" >&2
  exit 0
  ;;
esac
runs="${1:-10}"

# The artifact of the `lab` test target (not the sshfix binary cargo also lists).
bin=$(cargo test --test lab --no-run --message-format=json 2>/dev/null \
  | grep '"target":{[^}]*"name":"lab"' \
  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n1)
[ -x "$bin" ] || { echo "error: could not build the lab test binary" >&2; exit 1; }

before=$(snapshot)
start=$(date +%s)
for i in $(seq 1 "$runs"); do
  if ! "$bin" --quiet >"/tmp/sshfix-leak-run.$$.log" 2>&1; then
    echo "error: lab suite run $i of $runs failed:" >&2
    tail -n 40 "/tmp/sshfix-leak-run.$$.log" >&2
    rm -f "/tmp/sshfix-leak-run.$$.log"
    exit 1
  fi
done
rm -f "/tmp/sshfix-leak-run.$$.log"
took=$(( $(date +%s) - start ))
compare "$before" "$runs runs of the lab suite"
echo "leak check: $runs runs of the lab suite in ${took}s, nothing left behind" >&2
