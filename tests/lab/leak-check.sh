#!/usr/bin/env bash
# Runs the lab test suite N times (default 10) and fails if anything it made
# is left behind: network namespaces, veth interfaces in the root namespace,
# sshd/ssh/socat/nc processes, lab directories, ssh control directories or
# mounts. Needs root.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-10}"

# The artifact of the `lab` test target (not the sshfix binary cargo also lists).
bin=$(cargo test --test lab --no-run --message-format=json 2>/dev/null \
  | grep '"target":{[^}]*"name":"lab"' \
  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n1)
[ -x "$bin" ] || { echo "error: could not build the lab test binary" >&2; exit 1; }

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
after=$(snapshot)
took=$(( $(date +%s) - start ))
if [ "$before" != "$after" ]; then
  echo "error: $runs runs of the lab suite left things behind:" >&2
  diff <(echo "$before") <(echo "$after") >&2 || true
  exit 1
fi
echo "leak check: $runs runs of the lab suite in ${took}s, nothing left behind" >&2
