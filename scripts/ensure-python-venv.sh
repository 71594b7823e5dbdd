#!/usr/bin/env bash
# A fresh Debian has python3 without the venv module (package python3-venv); install it when missing.
set -euo pipefail
py=${1:-python3}
if ! "$py" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  source "$(dirname "$0")/lib-apt.sh"
  apt_install python3-venv python3-pip
fi
