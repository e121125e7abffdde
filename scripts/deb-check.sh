#!/usr/bin/env bash
# The Debian package as a user gets it: builds it (scripts/deb.sh), installs it
# with `dpkg -i`, checks the installed binary, man pages, completions and
# examples, and removes it again with `dpkg -r`. Needs root; without root it
# says loudly that it skipped (and fails when CI=true). scripts/test.sh runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*" >&2; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" != 0 ]; then
  echo "*** not root: SKIPPED the .deb install check (dpkg -i needs root); run \`sudo bash scripts/deb-check.sh\` ***" >&2
  [ "${CI:-}" = true ] && fail "the .deb install check must run in CI"
  exit 0
fi
if dpkg-query -W -f='${Status}' sshfix 2>/dev/null | grep -q 'install ok installed'; then
  fail "a sshfix package is installed already; this check would replace it and then remove it (\`dpkg -r sshfix\` first)"
fi

started=$(date +%s)
deb=$(bash scripts/deb.sh)
[ -f "$deb" ] || fail "scripts/deb.sh printed \`$deb\`, which is not a file"
built=$(date +%s)
say "built $deb in $((built - started)) s"

man_pages=(sshfix sshfix-probe sshfix-facts sshfix-plan sshfix-apply sshfix-rollback sshfix-runs sshfix-inventory sshfix-explain)
files=(
  /usr/bin/sshfix
  /usr/share/bash-completion/completions/sshfix
  /usr/share/zsh/vendor-completions/_sshfix
  /usr/share/fish/vendor_completions.d/sshfix.fish
  /usr/share/doc/sshfix/examples/inventory.ini
  /usr/share/doc/sshfix/examples/config.toml
  /usr/share/doc/sshfix/copyright
)
for page in "${man_pages[@]}"; do files+=("/usr/share/man/man1/$page.1.gz"); done

say "the package holds every file"
listing=$(dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|')
for f in "${files[@]}"; do
  grep -qxF "$f" <<<"$listing" || fail "$deb has no $f; it has:
$listing"
done

say "dpkg -i"
removed=false
remove() { $removed || { dpkg -r sshfix >/dev/null && removed=true; }; }
trap remove EXIT
dpkg -i "$deb" >/dev/null

# Docker images of Debian may tell dpkg not to install man pages or docs
excluded() { grep -hs '^path-exclude' /etc/dpkg/dpkg.cfg.d/* | awk '{print $2}' | while read -r pat; do
  # shellcheck disable=SC2053
  [[ $1 == $pat ]] && echo yes && break; done; }
for f in "${files[@]}"; do
  if [ -n "$(excluded "$f")" ]; then
    echo "*** $f is excluded by /etc/dpkg/dpkg.cfg.d (path-exclude); checked in the package only ***" >&2
    continue
  fi
  [ -f "$f" ] || fail "dpkg -i did not install $f"
done

say "/usr/bin/sshfix --version"
version=$(/usr/bin/sshfix --version)
want="sshfix $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
[ "$version" = "$want" ] || fail "/usr/bin/sshfix --version printed \`$version\`, not \`$want\`"
echo "$version" >&2

if [ -f /usr/share/man/man1/sshfix.1.gz ] && command -v man >/dev/null; then
  say "man sshfix renders and lists every command"
  plain() { sed 's/.\x08//g'; }   # no bold or underline by overstriking
  text=$(MANWIDTH=100 man -P cat sshfix 2>/dev/null | plain)
  for page in "${man_pages[@]:1}"; do
    grep -qF "$page(1)" <<<"$text" || fail "\`man sshfix\` does not list $page(1)"
  done
  MANWIDTH=100 man -P cat sshfix-apply 2>/dev/null | plain | grep -q -- '--confirm-timeout' \
    || fail "\`man sshfix-apply\` does not document --confirm-timeout"
fi

say "bash completion from the installed file completes commands"
got=$(bash -c 'source /usr/share/bash-completion/completions/sshfix
COMP_WORDS=(sshfix ap); COMP_CWORD=1; COMP_LINE="sshfix ap"; COMP_POINT=${#COMP_LINE}
_sshfix sshfix ap sshfix; printf "%s\n" "${COMPREPLY[@]}"')
[ "$got" = apply ] || fail "bash completion of \`sshfix ap\` gave \`$got\`, not \`apply\`"

say "the installed examples load"
/usr/bin/sshfix --config /usr/share/doc/sshfix/examples/config.toml \
  inventory -i /usr/share/doc/sshfix/examples/inventory.ini --list >/dev/null

say "the installed binary explains a finding"
explained=$(/usr/bin/sshfix explain tcp-wrappers-deny) || fail "sshfix explain tcp-wrappers-deny failed"
case $explained in
tcp-wrappers-deny*hosts.allow*) ;;
*) fail "sshfix explain tcp-wrappers-deny printed: $explained" ;;
esac

say "dpkg -r sshfix"
dpkg -r sshfix >/dev/null
removed=true
[ ! -e /usr/bin/sshfix ] || fail "dpkg -r left /usr/bin/sshfix"
say ".deb check passed in $(( $(date +%s) - started )) s (build $((built - started)) s)"
