"""The quickstart notebook run in real JupyterLab by headless Chromium: the live job widget renders.

JupyterLab runs on 127.0.0.1 with a token and private config/data/runtime
folders; Playwright drives Debian's ``/usr/bin/chromium`` (no browser is
downloaded). The screenshot is kept in the test's temporary folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ._jupyterlab import JupyterLab

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "notebooks" / "01-quickstart.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium "
                                                    "(the setup script installs it: apt-get install chromium)"),
]


def accept_kernel_dialog(page) -> None:
    """Accept the preselected kernel if JupyterLab still asks which one to start."""
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    try:
        dialog.wait_for(timeout=3_000)
    except Exception:  # no dialog: the kernel started by itself
        return
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()


@pytest.fixture
def lab(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(QUICKSTART, root / QUICKSTART.name)
    with JupyterLab(root, tmp_path / "state") as server:
        yield server


def test_quickstart_runs_in_jupyterlab_and_shows_a_completed_job(lab, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(90_000)
            page.goto(lab.notebook_url(QUICKSTART.name))
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
            accept_kernel_dialog(page)
            # Wait for the kernel before running, so "Run All" is not queued behind a dialog.
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")

            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()

            job_card = page.locator(".docconvert-job-widget").first
            expect(job_card.locator(".widget-html .docconvert-badge")).to_have_text("completed")
            expect(job_card).to_contain_text("page.png")
            expect(job_card).to_contain_text("page.pdf")
            expect(job_card.locator("button", has_text="Preview")).to_be_enabled()
            expect(job_card.locator("button", has_text="Delete")).to_be_enabled()

            group_card = page.locator(".docconvert-group-widget").first
            expect(group_card).to_contain_text("5 of 5 done")
            expect(group_card.locator(".widget-html table tbody tr")).to_have_count(5)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")

            # Preview through the widget's own button: the output shows up under the card.
            job_card.locator("button", has_text="Preview").click()
            expect(job_card.locator(".widget-output img").first).to_be_visible()

            job_card.scroll_into_view_if_needed()
            shot = tmp_path / "quickstart.png"
            page.screenshot(path=str(shot), full_page=False)
            assert shot.stat().st_size > 10_000
            print(f"screenshot: {shot}")
        finally:
            browser.close()
