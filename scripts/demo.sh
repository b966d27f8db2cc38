#!/usr/bin/env bash
# Set up (if needed) and run the main job on the embedded engine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh runtime
exec .venv/bin/python -m docconvert_nb.demo "$@"
