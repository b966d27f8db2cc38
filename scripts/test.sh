#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite, slow and browser tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
export DOCCONVERT_NB_HOME="${DOCCONVERT_NB_HOME:-$(mktemp -d)}"
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
