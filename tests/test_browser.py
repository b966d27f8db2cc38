"""Notebooks run in real JupyterLab by headless Chromium: live cards, final cards that survive saving
and reopening, and the layout at 700 and 1400 px, light and dark.

JupyterLab runs on 127.0.0.1 with a token and private config/data/runtime
folders, with its default settings (widget state is not saved); Playwright
drives Debian's ``/usr/bin/chromium`` (no browser is downloaded).
Screenshots are kept in the test's temporary folder (the path is printed).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from ._jupyterlab import SLOW_PROVIDER, JupyterLab

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "notebooks" / "01-quickstart.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
IDLE = ".jp-Notebook-ExecutionIndicator[data-status='idle']"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium "
                                                    "(the setup script installs it: apt-get install chromium)"),
]


def accept_kernel_dialog(page, accept: bool = True) -> None:
    """Accept the preselected kernel (or choose "No Kernel") if JupyterLab asks which one to start."""
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    try:
        dialog.wait_for(timeout=3_000)
    except Exception:  # no dialog: the kernel started by itself
        return
    dialog.locator(".jp-Dialog-button.jp-mod-accept" if accept else ".jp-Dialog-button.jp-mod-reject").click()


def screenshot(page, path: Path, **options) -> Path:
    """Take a screenshot; also copy it to ``$DOCCONVERT_NB_SCREENSHOTS`` when set (pytest rotates tmp folders)."""
    page.screenshot(path=str(path), **options)
    keep = os.environ.get("DOCCONVERT_NB_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    print(f"screenshot: {path}")
    return path


def write_notebook(path: Path, cells: list[str]) -> Path:
    notebook = new_notebook(cells=[new_code_cell(code) for code in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, str(path))
    return path


@pytest.fixture
def lab(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(QUICKSTART, root / QUICKSTART.name)
    with JupyterLab(root, tmp_path / "state") as server:
        yield server


@pytest.fixture
def browser():
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=90_000)  # a loaded CI machine runs the notebook slowly
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def open_notebook(browser, lab, name: str, width: int = 1400, *, kernel: bool = True):
    page = browser.new_page(viewport={"width": width, "height": 1000})
    page.set_default_timeout(90_000)
    page.goto(lab.notebook_url(name))
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
    accept_kernel_dialog(page, accept=kernel)
    if kernel:  # wait for the kernel before running, so "Run All" is not queued behind a dialog
        page.wait_for_selector(IDLE)
    return page


def run_all(page) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def menu(page, top: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=top).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


def test_quickstart_runs_in_jupyterlab_and_shows_a_completed_job(lab, browser, tmp_path):
    from playwright.sync_api import expect

    page = open_notebook(browser, lab, QUICKSTART.name)
    run_all(page)
    # once final, each card is the static card (what the saved notebook keeps), in the same output
    job_card = page.locator(".jp-OutputArea-output .docconvert-job").first
    expect(job_card.locator(".docconvert-badge").first).to_have_text("completed")
    expect(job_card).to_contain_text("page.png")
    expect(job_card).to_contain_text("page.pdf")
    group_card = page.locator(".jp-OutputArea-output .docconvert-group").first
    expect(group_card).to_contain_text("5/5 done")
    expect(group_card.locator("table.docconvert-jobs tbody tr")).to_have_count(5)
    page.wait_for_selector(IDLE)
    expect(page.locator(".docconvert-job-widget, .docconvert-group-widget")).to_have_count(0)
    expect(page.locator(".jp-OutputArea-output img").first).to_be_visible()  # the preview cell
    # job.save("results") gave the card links; JupyterLab resolves them against the notebook
    download = job_card.locator("a.docconvert-download")
    expect(download).to_have_attribute("href", re.compile(r"files/results/page\.pdf"))
    expect(job_card.locator("a.docconvert-open")).to_have_count(1)

    job_card.scroll_into_view_if_needed()
    shot = screenshot(page, tmp_path / "quickstart.png")
    assert shot.stat().st_size > 10_000


SAVED_CELLS = [
    "import docconvert_nb as dc\n" + SLOW_PROVIDER,
    "job = dc.convert(PNG, to='pdf', provider=SlowProvider(2.0), name='slow scan.png')\njob",
    "group = dc.convert_many([PNG, PNG], to='pdf', provider=SlowProvider(2.5), name='two scans')\ngroup",
    "gone = dc.convert(PNG, to='pdf', provider=SlowProvider(0.5), name='gone.png')\ngone",
    "await group\nprint('done', job.status)",
    "await gone\ngone.delete()  # the card above follows; no second card here",
]


def test_a_saved_notebook_reopens_with_final_cards_after_the_kernel_stops(lab, browser, tmp_path):
    """Run, wait, save from the UI, shut the kernel down, reopen (no kernel, then a new one): final cards."""
    from playwright.sync_api import expect

    write_notebook(lab.root_dir / "saved.ipynb", SAVED_CELLS)
    page = open_notebook(browser, lab, "saved.ipynb")
    run_all(page)
    live = page.locator(".docconvert-job-widget").first
    expect(live).to_contain_text("processing")  # live while it runs
    expect(page.locator(".jp-OutputArea-output", has_text="done completed")).to_have_count(1)
    page.wait_for_selector(IDLE)
    expect(page.locator(".docconvert-job-widget, .docconvert-group-widget")).to_have_count(0)
    expect(page.locator(".jp-OutputArea-output .docconvert-job.docconvert-status-deleted")).to_have_count(1)
    expect(page.locator(".jp-OutputArea-output .docconvert-job")).to_have_count(2)

    page.locator(".jp-NotebookPanel .jp-Cell").first.click()
    page.keyboard.press("Control+s")
    saved_path = lab.root_dir / "saved.ipynb"
    expect(page.locator(".jp-mod-dirty")).to_have_count(0)
    menu(page, "Kernel", "Shut Down Kernel")
    page.wait_for_timeout(1_500)
    page.close()

    saved = json.loads(saved_path.read_text())
    outputs = [o for cell in saved["cells"] for o in cell.get("outputs", [])]
    assert not any(WIDGET_MIME in o.get("data", {}) for o in outputs)
    assert "widgets" not in saved["metadata"]  # default settings: no widget state was saved

    # Reopened with a new kernel (a restart): the final cards, drawn from the saved HTML.
    page = open_notebook(browser, lab, "saved.ipynb")
    for stage in ("reopened", "kernel-stopped"):
        card = page.locator(".jp-OutputArea-output .docconvert-job").first
        expect(card.locator(".docconvert-badge").first).to_have_text("completed")
        expect(card).to_contain_text("result.pdf")
        expect(card).to_contain_text("slow scan.png")
        group = page.locator(".jp-OutputArea-output .docconvert-group").first
        expect(group).to_contain_text("2/2 done")
        deleted = page.locator(".jp-OutputArea-output .docconvert-job.docconvert-status-deleted")
        expect(deleted).to_contain_text("gone.png")
        page.wait_for_timeout(1_000)  # the widget manager has restored by now (it would say "model not found")
        assert "Error displaying widget" not in page.locator(".jp-Notebook").inner_text()
        group.scroll_into_view_if_needed()
        screenshot(page, tmp_path / f"{stage}.png")
        if stage == "reopened":  # ...and still with no kernel at all
            menu(page, "Kernel", "Shut Down Kernel")
            expect(page.locator(".jp-Toolbar-kernelName, .jp-KernelStatus").first).to_contain_text("No Kernel")
    page.close()


LAYOUT_CELLS = [
    "import docconvert_nb as dc\n" + SLOW_PROVIDER,
    "from pathlib import Path\n"
    "scans = Path('scans'); scans.mkdir(exist_ok=True)\n"
    "for n in range(1, 21):\n"
    "    name = f'bad scan {n:02d}.png' if n % 3 == 0 else f'quarterly report {n:02d} with a very long name that goes on.png'\n"
    "    (scans / name).write_bytes(PNG)\n"
    "paths = sorted(scans.glob('*.png'))",
    "finished = dc.convert_many(paths, to='pdf', provider=FlakySlowProvider(0.5), name='twenty scans, finished')\n"
    "finished",
    "await finished\nprint('finished')",
    "running = dc.convert_many(paths, to='pdf', provider=FlakySlowProvider(90.0), name='twenty scans, running')\n"
    "running",
    "job = dc.convert(PNG, to='pdf', provider=FlakySlowProvider(90.0), name='still running.png')\njob",
]

MEASURE = """(node) => {
    const PARTS = '.widget-box, .widget-html, .widget-button, .widget-dropdown, .widget-text, table, '
                  + '.docconvert-job-header, .docconvert-group-header, .docconvert-live-bar';
    const rows = [...node.querySelectorAll('table.docconvert-jobs tbody tr')].map(r => r.getBoundingClientRect().height);
    const area = node.closest('.jp-OutputArea-output');
    const parts = [node, ...node.querySelectorAll(PARTS)].filter(e => e.offsetParent !== null);
    const table = node.querySelector('table.docconvert-jobs');
    return {rows, tableHeight: table ? table.getBoundingClientRect().height : 0,
            cardHeight: node.getBoundingClientRect().height,
            overflow: area.scrollWidth - area.clientWidth, width: area.clientWidth,
            // the card and its layout boxes end inside the output (a moving indeterminate bar may not)
            clipped: Math.max(...parts.map(e => e.getBoundingClientRect().right)) - area.getBoundingClientRect().right,
            widest: parts.reduce((a, e) => e.getBoundingClientRect().right > a.getBoundingClientRect().right ? e : a)
                    .className};
}"""


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_group_and_job_cards_fit_700_and_1400_px(lab, browser, tmp_path, theme):
    """No horizontal overflow, one-line rows with long names ellipsised, a 20-row page under 900 px,
    for a finished group (its static card), a running group and a running job (live widgets)."""
    from playwright.sync_api import expect

    write_notebook(lab.root_dir / "layout.ipynb", LAYOUT_CELLS)
    lab.configure(theme=theme)
    page = open_notebook(browser, lab, "layout.ipynb")
    run_all(page)
    expect(page.locator(".docconvert-group-widget table.docconvert-jobs tbody tr")).to_have_count(20)
    expect(page.locator(".jp-OutputArea-output .docconvert-group table.docconvert-jobs tbody tr")).to_have_count(20)
    expect(page.locator(".docconvert-job-widget")).to_have_count(1)
    page.wait_for_timeout(2_500)  # progress reported twice: percent, rate and time left appear
    expect(page.locator(".docconvert-job-widget .docconvert-progress-details").first).to_contain_text("left")
    tag = theme.split()[-1].lower()
    cards = {"finished": ".jp-OutputArea-output .docconvert-group", "running": ".docconvert-group-widget",
             "job": ".docconvert-job-widget"}
    for width in (1400, 700):
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(800)
        for name, selector in cards.items():
            card = page.locator(selector).first
            card.scroll_into_view_if_needed()
            metrics = card.evaluate(MEASURE)
            assert metrics["overflow"] <= 1 and metrics["clipped"] <= 1, (name, width, metrics["widest"], metrics)
            if metrics["rows"]:
                assert max(metrics["rows"]) <= 26, (name, width, metrics["rows"])
                assert metrics["tableHeight"] < 900 and metrics["cardHeight"] < 900 + 200, (name, metrics)
            screenshot(page, tmp_path / f"{name}-{tag}-{width}.png")


PLOT_CELLS = [
    "%matplotlib inline\nimport pandas as pd\nimport docconvert_nb as dc",
    "df = pd.DataFrame({'City': ['Lisbon', 'Porto', 'Braga'], 'Population': [545923, 231800, 193300]})\n"
    "dc.plot_table(df);",
]


def test_a_table_plot_sits_on_the_dark_theme_without_a_white_box(lab, browser, tmp_path):
    from playwright.sync_api import expect

    write_notebook(lab.root_dir / "plot.ipynb", PLOT_CELLS)
    lab.configure(theme="JupyterLab Dark")
    page = open_notebook(browser, lab, "plot.ipynb")
    run_all(page)
    image = page.locator(".jp-RenderedImage img").first
    expect(image).to_be_visible()
    shot = screenshot(page, tmp_path / "plot-dark.png")
    box = image.bounding_box()
    from PIL import Image

    with Image.open(shot) as picture:
        corner = picture.convert("RGB").getpixel((int(box["x"]) + 3, int(box["y"]) + 3))
    assert max(corner) < 90, f"the plot's corner is {corner}: a light box on the dark theme"
