#!/usr/bin/env bash
# The README's demo: builds sshfix, brings up a lab of real OpenSSH hosts in
# network namespaces, breaks some of them the classic ways, and runs from the
# lab's controller: `sshfix probe`, `sshfix plan` (saved to plan.json),
# `sshfix apply --plan plan.json --yes` on the hosts that have a fix, `sshfix
# probe` again (the healed fleet) and `sshfix runs`. Needs root (namespaces);
# tears the lab down on exit. `--keep` leaves it up and prints how to use it.
set -euo pipefail
cd "$(dirname "$0")/.."
keep=no
[ "${1:-}" = "--keep" ] && keep=yes

[ "$(id -u)" = 0 ] || { echo "error: the lab needs root (network namespaces); rerun with sudo" >&2; exit 1; }
. scripts/cargo-path.sh

bash tests/lab/lab.sh deps
cargo build --quiet
sshfix="$PWD/target/debug/sshfix"

# Shows `$ sshfix ARGS` on stderr, then runs exactly those ARGS in the lab's
# controller namespace: one argv for both, so the transcript is the command
# that ran (each argument quoted as the shell needs it). A failing command does
# not stop the demo: what it prints is part of the show.
sshfix_shown() {
  local shown
  printf -v shown ' %q' "$@"
  printf '\n$ sshfix%s\n' "$shown" >&2
  ip netns exec "$LAB_CTL_NS" "$sshfix" "$@" || true
}

# The lab belongs to a process: `lab.sh gc` (run by every lab test) removes
# labs whose owner is gone. Without --keep that is this script; with --keep it
# is the shell that started it (through sudo: the process above sudo's), so
# the lab stays up while that shell lives.
owner=$$
if [ "$keep" = yes ]; then
  owner=$PPID
  while [ "$(cat "/proc/$owner/comm" 2>/dev/null)" = sudo ]; do
    owner=$(awk '/^PPid:/ {print $2}' "/proc/$owner/status")
  done
fi
dir=$(bash tests/lab/lab.sh up --hosts 7 --owner "$owner" | sed -n 's/^LAB_DIR=//p' | tail -n1)
if [ "$keep" = no ]; then
  trap 'bash tests/lab/lab.sh down "$dir" >/dev/null 2>&1 || true' EXIT
fi
# shellcheck disable=SC1091
. "$dir/lab.env"

echo "Breaking hosts the classic ways:" >&2
for f in "h2 wrappers-deny" "h3 maxstartups-trap" "h4 nft-drop" "h5 http-on-22" "h6 hostkey-perms" "h7 config-invalid-trap"; do
  set -- $f
  printf '  %-3s %s\n' "$1" "$2" >&2
  bash tests/lab/lab.sh fault "$dir" "$1" "$2" >/dev/null
done

sshfix_shown probe -i "$dir/inventory.ini" --banner-timeout 8
sshfix_shown plan -i "$dir/inventory.ini" --ssh-config "$dir/ssh_config" \
  --markdown "$dir/plan.md" --out "$dir/plan.json"
# h5's port 22 is held by another service: no safe fix, it needs a human
sshfix_shown apply -i "$dir/inventory.ini" --ssh-config "$dir/ssh_config" \
  --state-dir "$dir/state" --plan "$dir/plan.json" -l h2:h3:h4:h6:h7 --yes
sshfix_shown probe -i "$dir/inventory.ini" --banner-timeout 8
sshfix_shown runs --state-dir "$dir/state"

if [ "$keep" = yes ]; then
  cat >&2 <<EOM

The lab is still up in $dir. Try:
  ip netns exec $LAB_CTL_NS $sshfix probe -i $dir/inventory.ini --format json
  ip netns exec $LAB_CTL_NS $sshfix facts -i $dir/inventory.ini --ssh-config $dir/ssh_config -l h2
  less $dir/plan.md
  ip netns exec $LAB_CTL_NS $sshfix rollback -i $dir/inventory.ini --ssh-config $dir/ssh_config --state-dir $dir/state -l h2
  ls $dir/state/runs/*/
  ip netns exec $LAB_CTL_NS ssh -F $dir/ssh_config $LAB_ADDR_h1 hostname
  bash tests/lab/lab.sh down $dir
EOM
fi
