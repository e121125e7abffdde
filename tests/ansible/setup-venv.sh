#!/bin/sh
# Creates a virtualenv with ansible-core (from PyPI) for the tests that compare
# sshfix's inventory output with the real `ansible-inventory`.
#
#   tests/ansible/setup-venv.sh            # venv at <repo>/.venv-ansible
#   SSHFIX_ANSIBLE_VENV=/tmp/v tests/ansible/setup-venv.sh
#
# Idempotent: does nothing when `bin/ansible-inventory` in the venv already works.
set -eu

repo=$(cd "$(dirname "$0")/../.." && pwd)
venv=${SSHFIX_ANSIBLE_VENV:-"$repo/.venv-ansible"}
python=${PYTHON:-python3}
# Pinned: the comparison tests assert byte-for-byte agreement with this version.
version=2.19.14

if "$venv/bin/ansible-inventory" --version 2>/dev/null | head -n1 | grep -q "core $version\]"; then
    echo "setup-venv: $venv already has ansible-core $version"
    exit 0
fi

if ! command -v "$python" >/dev/null 2>&1; then
    echo "setup-venv: \`$python\` not found; install Python 3 first" >&2
    exit 1
fi

make_venv() {
    rm -rf "$venv"
    "$python" -m venv "$venv"
}

if ! make_venv; then
    echo "setup-venv: \`$python -m venv\` failed; installing python3-venv and retrying" >&2
    if command -v apt-get >/dev/null 2>&1; then
        if [ "$(id -u)" -eq 0 ]; then
            apt-get install -y python3-venv
        else
            sudo apt-get install -y python3-venv
        fi
        make_venv
    else
        echo "setup-venv: no apt-get; install your distribution's Python venv package" >&2
        exit 1
    fi
fi

"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "ansible-core==$version"
"$venv/bin/ansible-inventory" --version
echo "setup-venv: ready at $venv"
