# Sourced by scripts/test.sh, scripts/demo.sh and bench/fleet.sh: sudo resets
# PATH, so find rustup's cargo of root or of the user who ran sudo, and stop
# with a clear message when there is none.
for d in "$HOME/.cargo/bin" ${SUDO_USER:+"$(getent passwd "$SUDO_USER" | cut -d: -f6)/.cargo/bin"}; do
  command -v cargo >/dev/null 2>&1 || { [ -x "$d/cargo" ] && PATH="$d:$PATH"; }
done
export PATH
if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo is not installed; install Rust with rustup (https://rustup.rs) and rerun" >&2
  exit 1
fi
