"""Jobs in a real kernel: executed headless with nbclient, interrupted, and with 1,000 jobs tracked."""

from __future__ import annotations

import json
import re
import time

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from docconvert_nb.notebook import WIDGET_MIME

from ._jupyterlab import SLOW_PROVIDER, Kernel, kernel_manager

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def run_notebook(cells: list[str], tmp_path) -> nbformat.NotebookNode:
    notebook = new_notebook(cells=[new_code_cell(code) for code in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    manager, env = kernel_manager(tmp_path / "jupyter")
    client = NotebookClient(notebook, km=manager, timeout=120, store_widget_state=True,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=env)
    nbformat.validate(notebook)
    return notebook


@pytest.mark.slow
def test_notebook_shows_live_job_saves_widget_state_and_html_fallback(tmp_path):
    notebook = run_notebook([
        "import docconvert_nb as dc\nfrom docconvert_nb.samples import text_page",
        # displayed while it is still running: the widget must reach 'completed' by itself
        "job = dc.convert(text_page('Hello from a kernel'), to='pdf', name='hello.png')\njob",
        "job.wait(timeout=60)\nprint('waited', job.status)",
        "again = await job\nprint('awaited', again is job)",
        "group = dc.convert_many([text_page(f'page {n}') for n in range(3)], to='pdf', name='three')\ngroup",
        "done = await group\nprint('group', done.summary())",
        "import time; time.sleep(1.0)  # let the last throttled redraws land before the state is saved",
        "job",
        "kept = dc.convert(text_page('kept'), to='pdf', name='kept.png')\nkept.wait(timeout=60)",
        "kept.delete()",
    ], tmp_path)
    cells = notebook.cells
    stdout = lambda cell: "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")  # noqa: E731
    assert "waited completed" in stdout(cells[2])
    assert "awaited True" in stdout(cells[3])
    assert "group 3/3 done (3 completed)" in stdout(cells[5])

    # the job's display: once final, the static card and text replaced the live view in the same output,
    # so a notebook saved without widget state (JupyterLab's default) shows it instead of "model not found"
    data = cells[1].outputs[0]["data"]
    assert WIDGET_MIME not in data and data["text/plain"].startswith("<Job ")
    assert "docconvert-job" in data["text/html"] and "hello.png" in data["text/html"]
    assert "completed" in data["text/html"] and "hello.pdf" in data["text/html"]
    assert "completed" in data["text/plain"]
    assert "3 completed" in cells[4].outputs[0]["data"]["text/plain"]
    assert WIDGET_MIME not in cells[4].outputs[0]["data"]
    final = cells[7].outputs[0]["data"]
    assert "completed" in final["text/html"] and "hello.pdf" in final["text/html"]
    assert not any(WIDGET_MIME in output.get("data", {}) for cell in cells for output in cell.outputs)

    # ending a cell with .delete() draws no second card: the one above follows the change
    assert len(cells[8].outputs) == 1 and cells[9].outputs == []
    deleted = cells[8].outputs[0]["data"]
    assert "deleted" in deleted["text/plain"] and "docconvert-status-deleted" in deleted["text/html"]

    # small: no multi-MB payloads anywhere in the saved notebook
    assert len(json.dumps(notebook)) < 300_000


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    root = tmp_path_factory.mktemp("kernel")
    kernel = Kernel(root)
    setup = kernel.execute("import docconvert_nb as dc\n" + SLOW_PROVIDER)
    assert setup["status"] == "ok", setup
    yield kernel
    kernel.shutdown()


@pytest.mark.slow
def test_a_job_finishing_between_cells_reaches_the_next_cell(kernel):
    """Headless runners keep only what belongs to the running cell: the final card is sent again then."""
    shown = kernel.execute("between = dc.convert(PNG, to='pdf', provider=SlowProvider(2.0))\nbetween")
    assert shown["status"] == "ok" and "update_display_data" not in shown["messages"]
    time.sleep(3.5)  # the job finishes while no cell runs
    later = kernel.execute("print(between.status)")
    assert later["stdout"].strip() == "completed"
    assert "update_display_data" in later["messages"]  # the final static card replaces the live view
    assert "update_display_data" not in kernel.execute("1 + 1")["messages"]  # once


@pytest.mark.slow
def test_interrupting_wait_leaves_the_job_tracked(kernel):
    started = kernel.execute("slow = dc.convert(PNG, to='pdf', provider=SlowProvider(4.0))\nprint(slow.status)")
    assert started["status"] == "ok"
    reply = kernel.execute_and_interrupt("slow.wait()", after=1.0)
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
    later = kernel.execute("slow.wait(timeout=30)\nprint(slow.status, slow in dc.jobs(), len(slow.outputs))")
    assert later["status"] == "ok" and later["stdout"].split() == ["completed", "True", "1"]


@pytest.mark.slow
def test_a_trivial_cell_stays_fast_with_a_thousand_tracked_jobs(kernel):
    submitted = kernel.execute(
        "many = dc.convert_many([PNG] * 1000, to='pdf', provider=SlowProvider(2.0), name='many')\nmany")
    assert submitted["status"] == "ok"
    assert any(WIDGET_MIME in data for data in submitted["data"])  # the group view is live meanwhile
    latencies = []
    end = time.monotonic() + 4  # while all are polled, then through the wave of completions
    while time.monotonic() < end:
        latencies.append(kernel.execute("1 + 1")["seconds"])
        time.sleep(0.1)
    assert max(latencies) < 1.0, latencies
    finished = kernel.execute("many.wait(timeout=120)\nprint(many.summary())")
    assert re.search(r"1000/1000 done \(1000 completed\)", finished["stdout"]), finished
