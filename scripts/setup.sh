#!/usr/bin/env bash
# Install what docconvert_nb needs on a Debian machine with Python 3.10+.
#   scripts/setup.sh            runtime: system tools (binder/apt.txt) + .venv with the package
#   scripts/setup.sh test       also the test tools (scripts/apt-test.txt) and test dependencies
# Idempotent: packages already present are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-runtime}"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_lists=(binder/apt.txt)
[ "$mode" = test ] && apt_lists+=(scripts/apt-test.txt)
python3 -c 'import ensurepip' 2>/dev/null || need_venv=python3-venv

missing=()
for pkg in $(grep -hv '^\s*#' "${apt_lists[@]}") ${need_venv:-}; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
extras="tables,simulators"
[ "$mode" = test ] && extras="test"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$extras]"
