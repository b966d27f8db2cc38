"""The teaching notebooks: committed clean, and every one runs top to bottom without an error.

Execution uses nbclient with a kernel on this interpreter, in a temporary
copy of ``notebooks/`` (so the samples and results a notebook writes never
land in the repository). ``test_binder_environment`` builds the environment
the way Binder does (``scripts/binder-check.sh``) and runs the notebooks there.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
NOTEBOOK_PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
#: Seconds one cell may take; the slowest cells (OCR, LibreOffice's first start) take a few.
CELL_TIMEOUT = 180
#: Text that means something went wrong although no cell raised (a background thread's error, a
#: warning a learner would stumble over).
TROUBLE_IN_STDERR = re.compile(r"Traceback \(most recent call last\)|Exception in thread|\b\w*(Error|Warning): ")


def notebook_id(path: Path) -> str:
    return path.stem


#: The lessons the project promises (issue 10); more may be added.
LESSONS = ["01-quickstart", "02-tables-to-dataframes", "03-ocr-previews", "04-batch-jobs",
           "05-cloud-providers", "06-magics"]


def test_every_lesson_is_there():
    missing = sorted(set(LESSONS) - {path.stem for path in NOTEBOOK_PATHS})
    assert not missing, f"notebooks missing from {NOTEBOOKS}: {missing}"


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=notebook_id)
def test_committed_notebook_is_valid_and_has_no_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    dirty = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: clear the outputs of cells {dirty} before committing"
    assert notebook.metadata.get("kernelspec", {}).get("name") == "python3", (
        f"{path.name}: the kernel must be the default 'python3' (Binder has no other)"
    )


def test_readme_lists_every_notebook():
    index = (NOTEBOOKS / "README.md").read_text(encoding="utf-8")
    missing = [path.name for path in NOTEBOOK_PATHS if f"({path.name})" not in index]
    assert not missing, f"notebooks/README.md does not link to {missing}"


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory):
    """A kernelspec that starts ipykernel on this very interpreter, found before any user-level one."""
    spec_root = tmp_path_factory.mktemp("jupyter-path")
    spec_dir = spec_root / "kernels" / "docconvert-notebooks"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "docconvert_nb notebook tests",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    previous = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(spec_root), previous]))
    yield "docconvert-notebooks"
    if previous is None:
        os.environ.pop("JUPYTER_PATH", None)
    else:
        os.environ["JUPYTER_PATH"] = previous


def execute(path: Path, workdir: Path, kernel: str) -> nbformat.NotebookNode:
    """Run the notebook at ``path`` with ``workdir`` as its folder; return it with its outputs."""
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name=kernel,
        timeout=CELL_TIMEOUT,
        startup_timeout=120,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()
    return notebook


def copy_notebooks(destination: Path) -> Path:
    """A copy of notebooks/ without anything a previous local run generated."""
    shutil.copytree(NOTEBOOKS, destination, ignore=shutil.ignore_patterns("data", "output", "samples", ".ipynb_checkpoints"))
    return destination


def stderr_text(notebook) -> str:
    return "\n".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream" and output.name == "stderr"
    )


def test_kernel_runs_on_this_interpreter(tmp_path, kernel_name):
    """Guard for the tests below: the notebooks must see the package installed here."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys; print(sys.executable)")])
    path = tmp_path / "which.ipynb"
    nbformat.write(notebook, path)
    executed = execute(path, tmp_path, kernel_name)
    printed = executed.cells[0].outputs[0]["text"].strip()
    assert Path(printed).resolve() == Path(sys.executable).resolve()


@pytest.mark.slow
@pytest.mark.tools
@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=notebook_id)
def test_notebook_runs_top_to_bottom(path, tmp_path, kernel_name):
    workdir = copy_notebooks(tmp_path / "notebooks")
    executed = execute(workdir / path.name, workdir, kernel_name)
    trouble = TROUBLE_IN_STDERR.search(stderr_text(executed))
    assert trouble is None, f"{path.name} wrote an error to stderr:\n{stderr_text(executed)}"
    ran = [cell for cell in executed.cells if cell.cell_type == "code" and cell.execution_count]
    assert ran and len(ran) == sum(cell.cell_type == "code" for cell in executed.cells)


@pytest.mark.slow
@pytest.mark.tools
@pytest.mark.timeout(1800)  # a cold pip cache downloads JupyterLab, pandas, OpenCV...
def test_binder_environment(tmp_path):
    """Build a fresh environment from binder/ as repo2docker would, and run every notebook in it."""
    script = ROOT / "scripts" / "binder-check.sh"
    result = subprocess.run(
        ["bash", str(script), str(tmp_path / "binder-env")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, f"binder-check failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    for path in NOTEBOOK_PATHS:
        assert f"ran {path.name}" in result.stdout
