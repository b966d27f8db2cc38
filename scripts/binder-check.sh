#!/usr/bin/env bash
# Build the notebooks' environment the way Binder (repo2docker) does, then run every notebook in it.
#   scripts/binder-check.sh [ENV_DIR]
# ENV_DIR: where to create the fresh virtual environment (default: a temporary folder, removed
# at exit). Steps, in repo2docker's order:
#   1. binder/apt.txt: every package installed (missing ones with apt-get, as root or through sudo);
#   2. a fresh virtual environment on the Python of binder/runtime.txt;
#   3. `pip install -r binder/requirements.txt` from the repository root (pip's cache is reused);
#   4. binder/postBuild, if there is one, with the environment first on PATH;
# then: JupyterLab has the widgets extension, and each notebook runs top to bottom
# (`jupyter execute`, in a copy of notebooks/) on the environment's own kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

work=$(mktemp -d "${TMPDIR:-/tmp}/binder-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
env_dir=${1:-$work/env}
[ -e "$env_dir" ] && { echo "binder-check: $env_dir already exists; give a new folder" >&2; exit 2; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

echo "== apt.txt"
missing=()
for pkg in $(grep -v '^\s*#' binder/apt.txt); do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "== python"
runtime=$(sed -n 's/^python-\([0-9.]*\).*/\1/p' binder/runtime.txt 2>/dev/null || true)
python=${BINDER_PYTHON:-python${runtime:-3}}
command -v "$python" >/dev/null || { echo "binder-check: $python not found (binder/runtime.txt asks for it); set BINDER_PYTHON" >&2; exit 1; }
"$python" -m venv "$env_dir"
"$env_dir/bin/python" -VV

echo "== requirements.txt"
# Like repo2docker: from the repository root, so "." in the file is this repository.
"$env_dir/bin/python" -m pip install -q --disable-pip-version-check -r binder/requirements.txt

export PATH="$env_dir/bin:$PATH" VIRTUAL_ENV="$env_dir"
if [ -f binder/postBuild ]; then
  echo "== postBuild"
  bash binder/postBuild
fi

echo "== JupyterLab widgets"
jupyter labextension list 2>&1 | grep -E "@jupyter-widgets/jupyterlab-manager.*enabled" \
  || { echo "binder-check: JupyterLab has no enabled widgets extension" >&2; exit 1; }

echo "== notebooks"
# Only this environment's kernelspecs, and a private engine store.
export JUPYTER_PATH="$env_dir/share/jupyter" DOCCONVERT_NB_HOME="$work/home"
mkdir -p "$work/notebooks"
cp "$repo"/notebooks/*.ipynb "$work/notebooks/"
cd "$work/notebooks"
python - <<'PY'
import sys
from jupyter_client.kernelspec import KernelSpecManager
spec = KernelSpecManager().get_kernel_spec("python3")
assert spec.resource_dir.startswith(sys.prefix), f"kernel python3 comes from {spec.resource_dir}, not {sys.prefix}"
PY
for notebook in *.ipynb; do
  start=$SECONDS
  jupyter execute --kernel_name=python3 --timeout=180 --startup_timeout=120 "$notebook"
  echo "ran $notebook in $((SECONDS - start)) s"
done
echo "binder-check: OK"
