"""The IPython magics, run through a real InteractiveShell that re-raises (like jupysql's tests).

Documents are generated (docconvert_nb.samples) in folders whose names have
spaces; every check opens the output and compares it with what was drawn.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from PIL import Image
from traitlets.config import Config

import docconvert_nb as dc
from docconvert_nb import providers, samples
from docconvert_nb.magics import DocconvertMagics, MagicError

TABLE_ROWS = [["Item", "Qty", "Price"], ["Apple", "3", "1.50"], ["Pear", "12", "0.75"]]


class RaisingShell(InteractiveShell):
    """An InteractiveShell whose run_cell raises the cell's exception, so tests see it."""

    def run_cell(self, *args, **kwargs):
        result = super().run_cell(*args, **kwargs)
        result.raise_error()
        return result

    def run_cell_quietly(self, source: str):
        """Run a cell the way a notebook does: errors are shown, not raised."""
        return super().run_cell(source)


@pytest.fixture(scope="module")
def shell():
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    if InteractiveShell.initialized() and not isinstance(InteractiveShell.instance(), RaisingShell):
        InteractiveShell.clear_instance()  # another module's plain shell: the singleton must be ours
    ip = RaisingShell.instance(config=config)
    ip.run_cell("%load_ext docconvert_nb")
    yield ip
    ip.run_cell("%unload_ext docconvert_nb")
    RaisingShell.clear_instance()


@pytest.fixture(autouse=True)
def _embedded_default(shell):
    yield
    providers.set_default("embedded")
    magics = shell.magics_manager.registry.get("DocconvertMagics")
    if magics is not None:
        magics.default_provider = None
        magics.wait_timeout = None
        magics.save_to = None


@pytest.fixture
def scans(tmp_path) -> Path:
    """A folder with spaces in its name holding two text pages."""
    folder = tmp_path / "my scans"
    folder.mkdir()
    (folder / "page one.png").write_bytes(samples.text_page("Page one of the magic test", width=600, height=400))
    (folder / "page two.png").write_bytes(samples.text_page("Page two of the magic test", width=600, height=400))
    return folder


def test_convert_returns_the_live_job_as_the_cell_result(shell, scans):
    result = shell.run_cell(f'%convert "{scans}/page one.png" --to jpeg')
    job = result.result
    assert isinstance(job, dc.Job)
    job.wait(60)
    image = Image.open(io.BytesIO(job.outputs[0].read()))
    assert image.format == "JPEG" and image.size == (600, 400)
    assert job.source_name == "page one.png"


def test_dash_o_stores_the_job_and_returns_nothing(shell, scans):
    result = shell.run_cell(f'%convert "{scans}/page two.png" --to tiff -o converted --wait')
    assert result.result is None
    job = shell.user_ns["converted"]
    assert job.ok
    original = Image.open(scans / "page two.png").convert("L")
    converted = Image.open(io.BytesIO(job.outputs[0].read())).convert("L")
    assert converted.size == original.size
    assert converted.tobytes() == original.tobytes()  # TIFF is lossless


def test_ipython_assignment_syntax_works_too(shell, scans):
    shell.run_cell(f"path = r'{scans / 'page one.png'}'")
    shell.run_cell('job = %convert "{path}" --to png --wait')  # {path} is expanded by IPython
    assert shell.user_ns["job"].ok


def test_glob_gives_a_group_of_jobs(shell, scans):
    shell.run_cell(f'%convert "{scans}/*.png" --to pdf -o group --wait')
    group = shell.user_ns["group"]
    assert isinstance(group, dc.JobGroup)
    assert sorted(job.source_name for job in group) == ["page one.png", "page two.png"]
    assert all(job.ok for job in group)
    for job in group:
        assert job.outputs[0].read()[:5] == b"%PDF-"


def test_a_folder_gives_a_group_and_save_to_writes_the_outputs(shell, scans, tmp_path):
    out = tmp_path / "out dir"
    group = shell.run_cell(f'%convert "{scans}" --to jpeg --save-to "{out}" --wait').result
    assert isinstance(group, dc.JobGroup) and len(group) == 2
    assert sorted(p.name for p in out.iterdir()) == ["page one.jpg", "page two.jpg"]
    assert Image.open(out / "page one.jpg").size == (600, 400)


def test_opt_values_reach_the_converter_as_strings_and_are_coerced(shell, scans):
    page = f"{scans}/page one.png"
    rough = shell.run_cell(f'%convert "{page}" --to jpeg --opt quality=5 --wait').result
    fine = shell.run_cell(f'%convert "{page}" --to jpeg --opt quality=95 --wait').result
    assert rough.request.options == {"quality": "5"}
    assert rough.outputs[0].size < fine.outputs[0].size / 2


def test_config_sets_the_default_provider(shell):
    shell.run_cell("%config DocconvertMagics.default_provider = 'convertapi'")
    assert providers.default().name == "convertapi"
    assert "convertapi" in repr(shell.run_cell("%docconvert").result)


def test_a_bad_config_value_is_refused_and_does_not_break_reloading(shell, capsys):
    shell.run_cell("%config DocconvertMagics.default_provider = 'nowhere'")  # %config logs, never raises
    assert providers.default().name == "embedded"
    shell.run_cell("%unload_ext docconvert_nb")
    shell.run_cell("%load_ext docconvert_nb")
    assert "ignoring the DocconvertMagics settings: unknown provider 'nowhere'" in capsys.readouterr().err
    assert "convert" in shell.magics_manager.magics["line"]


def test_docconvert_provider_switches_and_status_shows_it(shell):
    status = shell.run_cell("%docconvert provider aspose").result
    assert providers.default().name == "aspose"
    assert "default provider aspose" in repr(status)
    shell.run_cell("%docconvert provider embedded")
    assert providers.default().name == "embedded"
    with pytest.raises(UsageError, match="unknown provider 'nowhere'"):
        shell.run_cell("%docconvert provider nowhere")


def test_docconvert_lists_providers_formats_and_jobs(shell, scans):
    job = shell.run_cell(f'%convert "{scans}/page one.png" --to gif --wait').result
    listed = shell.run_cell("%docconvert providers").result
    assert set(listed["name"]) == set(providers.BUILTIN)
    assert listed.loc[listed["name"] == "embedded", "default"].item()
    formats = shell.run_cell("%docconvert formats --task ocr").result
    assert set(formats["task"]) == {"ocr"} and "txt" in set(formats["target"])
    jobs = shell.run_cell("%docconvert jobs").result
    assert list(jobs.columns) == ["id", "provider", "source", "target", "status", "elapsed"]
    row = jobs[jobs["id"] == job.id]
    assert row[["source", "target", "status"]].values.tolist() == [["page one.png", "gif", "completed"]]
    with pytest.raises(UsageError, match="unknown %docconvert command"):
        shell.run_cell("%docconvert frobnicate")


@pytest.mark.parametrize(
    "line, message",
    [
        ('%convert "{scans}/no such page.png" --to pdf', "InputNotFound: no such file: "),
        ('%convert "{scans}/page one.png" --to docx', "UnsupportedConversion: the embedded engine cannot convert png to docx"),
        ('%convert "{scans}/page one.png" --to pdf --provider nowhere', "unknown provider 'nowhere'"),
        ('%convert "{scans}/page one.png" --to pdf --opt colour=red', "InvalidOptions: unknown option 'colour'"),
        ('%convert "{scans}/*.gif" --to pdf', "FileNotFoundError: no file matches"),
    ],
)
def test_library_errors_are_one_line_messages_that_still_raise(shell, scans, line, message):
    with pytest.raises(MagicError) as raised:
        shell.run_cell(line.format(scans=scans))
    lines = raised.value._render_traceback_()
    assert len(lines) == 1 and message in lines[0]


@pytest.mark.parametrize(
    "line, message",
    [
        ('%convert "{scans}/page one.png" --to pdf --opt dpi', "--opt expects key=value"),
        ('%convert "{scans}/page one.png" --to pdf --colour red', "unrecognized arguments"),
        ('%convert "{scans}/page one.png"', "the following arguments are required: --to"),
        ("%convert --to pdf", "%convert needs a file"),
        ('%convert "{scans}/page one.png --to pdf', "cannot parse"),
        ('%convert "{scans}/page one.png" --to pdf -o "not a name"', "-o expects a Python variable name"),
        ('%ocr "{scans}/page one.png" --format docx', "invalid choice"),
    ],
)
def test_usage_problems_raise_usage_error(shell, scans, line, message):
    with pytest.raises(UsageError, match=message):
        shell.run_cell(line.format(scans=scans))


def test_the_notebook_sees_the_message_not_a_traceback(shell, scans, capsys):
    result = shell.run_cell_quietly(f'%convert "{scans}/missing page.png" --to pdf')
    assert isinstance(result.error_in_exec, MagicError)
    shown = capsys.readouterr()
    text = shown.out + shown.err
    assert f"InputNotFound: no such file: {scans}/missing page.png" in text
    assert "Traceback" not in text and "magics.py" not in text


def test_cell_magic_needs_a_name_and_reads_the_cell(shell):
    with pytest.raises(UsageError, match="needs --name"):
        shell.run_cell("%%convert --to pdf\n<h1>Hi</h1>\n")
    with pytest.raises(UsageError, match="not a path"):
        shell.run_cell("%%convert somefile.html --to pdf --name a.html\n<h1>Hi</h1>\n")
    with pytest.raises(MagicError, match="cannot convert md to pdf"):
        shell.run_cell("%%convert --to pdf --name notes.md\n# Notes\n\nSome *markdown*.\n")


def test_help_shows_the_docstring_and_the_arguments(shell):
    text = shell.object_inspect_text("%convert")
    for expected in ("Convert a document", "--to FORMAT", "--opt", "-o NAME", "%%convert --to pdf --name"):
        assert expected in text
    assert "--format" in shell.object_inspect_text("%table")


def test_unload_removes_the_magics_and_load_restores_them(shell):
    shell.run_cell("%unload_ext docconvert_nb")
    assert "convert" not in shell.magics_manager.magics["line"]
    assert not any(isinstance(c, DocconvertMagics) for c in shell.configurables)
    shell.run_cell("%load_ext docconvert_nb")
    assert "convert" in shell.magics_manager.magics["cell"]
    assert sum(isinstance(c, DocconvertMagics) for c in shell.configurables) == 1


# -- with Tesseract -------------------------------------------------------------------------
@pytest.fixture
def table_scan(tmp_path) -> Path:
    path = tmp_path / "my tables" / "price list.png"
    path.parent.mkdir()
    path.write_bytes(samples.table_image(TABLE_ROWS))
    return path


def _assert_price_table(frame) -> None:
    assert list(frame.columns) == TABLE_ROWS[0]
    assert frame["Item"].tolist() == ["Apple", "Pear"]
    assert frame["Qty"].tolist() == [3, 12]
    assert frame["Price"].tolist() == pytest.approx([1.5, 0.75])


@pytest.mark.tools
def test_table_wait_returns_the_dataframe(shell, table_scan):
    _assert_price_table(shell.run_cell(f'%table "{table_scan}" --wait').result)


@pytest.mark.tools
def test_table_puts_the_dataframe_in_the_namespace_when_the_job_completes(shell, table_scan):
    shell.user_ns.pop("prices", None)
    job = shell.run_cell(f'%table "{table_scan}" -o prices').result
    assert isinstance(job, dc.Job)  # the cell did not block
    job.wait(120)  # callbacks run before wait() returns
    _assert_price_table(shell.user_ns["prices"])


@pytest.mark.tools
def test_ocr_text_and_wait_timeout(shell, scans):
    shell.run_cell(f'%ocr "{scans}/page one.png" --wait -o read')
    assert "Page one of the magic test" in " ".join(shell.user_ns["read"].outputs[0].text().split())
    shell.run_cell("%config DocconvertMagics.wait_timeout = 0.001")
    with pytest.raises(MagicError, match="JobTimeout: .* after 0.001 s"):
        shell.run_cell(f'%ocr "{scans}/page two.png" --format hocr --wait')


@pytest.mark.tools
@pytest.mark.slow
def test_cell_magic_converts_html_from_the_cell(shell):
    import pypdfium2

    job = shell.run_cell(
        "%%convert --to pdf --name invoice.html --wait\n"
        "<html><body><h1>Invoice 4711</h1><p>Total due: 12.50 EUR</p></body></html>\n"
    ).result
    assert job.request.source.name == "invoice.html" and job.request.source.format == "html"
    text = pypdfium2.PdfDocument(job.outputs[0].read())[0].get_textpage().get_text_range()
    assert "Invoice 4711" in text and "12.50 EUR" in text


# -- once in a real kernel ------------------------------------------------------------------------
@pytest.mark.tools
@pytest.mark.slow
def test_an_executed_notebook_runs_the_magics_and_stops_at_an_error(tmp_path):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    folder = tmp_path / "in here"
    folder.mkdir()
    (folder / "page one.png").write_bytes(samples.text_page("Executed notebook page", width=600, height=400))
    (folder / "price list.png").write_bytes(samples.table_image(TABLE_ROWS))
    cells = [
        "%load_ext docconvert_nb",
        '%convert "in here/page one.png" --to pdf -o job --wait\nprint(job.status.value, job.outputs[0].read()[:5])',
        '%table "in here/price list.png" --wait',
        '%convert "in here/missing.png" --to pdf',
        'print("not reached")',
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = NotebookClient(notebook, kernel_name="python3", timeout=240,
                            resources={"metadata": {"path": str(tmp_path)}})
    with pytest.raises(CellExecutionError):
        client.execute()
    converted, table, failing, after = notebook.cells[1:]
    assert "completed b'%PDF-'" in converted.outputs[0]["text"]
    frame_text = table.outputs[0]["data"]["text/plain"]
    assert "Apple" in frame_text and "0.75" in frame_text
    error = failing.outputs[0]
    assert error["output_type"] == "error" and error["ename"] == "MagicError"
    assert error["traceback"] == ["InputNotFound: no such file: in here/missing.png"]
    assert after.execution_count is None and not after.outputs
