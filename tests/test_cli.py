"""The ``docconvert-nb`` command line, run as a subprocess on generated files.

Each test gets its own engine store (``DOCCONVERT_NB_HOME``) and works in a
folder whose name has a space. Outputs are opened and compared with the input.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from docconvert_nb import samples
from docconvert_nb.cli import main

VENV_BIN = Path(sys.executable).parent
SCRIPT = VENV_BIN / "docconvert-nb"
TABLE_ROWS = [["City", "Visitors"], ["Oslo", "120"], ["Lima", "45"]]


def run(args, *, cwd, home, env=None, timeout=180, module=False):
    command = [sys.executable, "-m", "docconvert_nb"] if module or not SCRIPT.exists() else [str(SCRIPT)]
    environment = {**os.environ, "DOCCONVERT_NB_HOME": str(home), "OMP_THREAD_LIMIT": "1", **(env or {})}
    return subprocess.run(command + list(args), cwd=cwd, env=environment, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def work(tmp_path) -> Path:
    folder = tmp_path / "work dir"
    folder.mkdir()
    (folder / "page one.png").write_bytes(samples.text_page("Command line page one", width=500, height=300))
    (folder / "page two.png").write_bytes(samples.text_page("Command line page two", width=500, height=300))
    return folder


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "store"


def assert_no_traceback(proc):
    assert "Traceback" not in proc.stderr, proc.stderr


def test_console_script_is_installed():
    assert SCRIPT.exists(), "run `.venv/bin/pip install --no-deps -e .` to create the docconvert-nb script"


def test_convert_writes_outputs_and_prints_their_paths(work, home):
    proc = run(["convert", "page one.png", "page two.png", "--to", "pdf", "-o", "out put"], cwd=work, home=home)
    assert proc.returncode == 0, proc.stderr
    written = [Path(line) for line in proc.stdout.splitlines()]
    assert sorted(p.name for p in written) == ["page one.pdf", "page two.pdf"]
    import pypdfium2

    for path in written:
        pdf = pypdfium2.PdfDocument(str(work / path))
        assert len(pdf) == 1
        width, height = pdf[0].get_size()
        assert width / height == pytest.approx(500 / 300, rel=0.01)
    # progress: one line per state change, on stderr only
    assert "page one.png → pdf: completed" in proc.stderr
    assert "page two.png → pdf: processing" in proc.stderr


def test_python_dash_m_converts_into_the_current_directory_by_default(work, home):
    proc = run(["convert", "page one.png", "--to", "tiff"], cwd=work, home=home, module=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "page one.tiff"
    original = Image.open(work / "page one.png").convert("L")
    converted = Image.open(work / "page one.tiff").convert("L")
    assert converted.tobytes() == original.tobytes()


def test_a_folder_and_options_pass_through(work, home, tmp_path):
    out = tmp_path / "jpegs"
    rough = run(["convert", str(work), "--to", "jpg", "-o", str(out / "rough"), "--opt", "quality=5", "-q"],
                cwd=work, home=home)
    fine = run(["convert", str(work), "--to", "jpg", "-o", str(out / "fine"), "--opt", "quality=95", "-q"],
               cwd=work, home=home)
    assert rough.returncode == fine.returncode == 0
    assert rough.stderr == ""  # -q: no progress
    for name in ("page one.jpg", "page two.jpg"):
        assert Image.open(out / "rough" / name).size == (500, 300)
        assert (out / "rough" / name).stat().st_size < (out / "fine" / name).stat().st_size / 2


def test_a_failing_job_gives_exit_1_and_the_others_are_still_written(work, home):
    (work / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really an image" * 10)
    proc = run(["convert", "page one.png", "missing.png", "broken.png", "--to", "pdf"], cwd=work, home=home)
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == ["page one.pdf"]
    assert (work / "page one.pdf").read_bytes()[:5] == b"%PDF-"
    assert "docconvert-nb: error: missing.png → pdf: failed: no such file: missing.png" in proc.stderr
    assert "docconvert-nb: error: broken.png → pdf: failed" in proc.stderr
    assert_no_traceback(proc)


@pytest.mark.parametrize(
    "args, message",
    [
        (["convert", "page one.png"], "the following arguments are required: --to"),
        (["convert", "page one.png", "--to", "docxx"], "embedded cannot convert to 'docxx'"),
        (["convert", "page one.png", "--to", "pdf", "--provider", "nowhere"], "unknown provider 'nowhere'"),
        (["convert", "page one.png", "--to", "pdf", "--opt", "dpi"], "--opt expects KEY=VALUE"),
        (["convert", "*.gif", "--to", "pdf"], "no file matches '*.gif'"),
        (["ocr", "page one.png", "--format", "docx"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_usage_errors_exit_2_with_one_message(work, home, args, message):
    proc = run(args, cwd=work, home=home)
    assert proc.returncode == 2
    assert message in proc.stderr and proc.stdout == ""
    assert_no_traceback(proc)


def test_jobs_list_status_and_delete_use_the_persistent_store(work, home):
    assert run(["convert", "page one.png", "--to", "png", "-o", "out"], cwd=work, home=home).returncode == 0
    listed = run(["jobs", "list", "--json"], cwd=work, home=home)
    records = json.loads(listed.stdout)
    assert [(r["source_name"], r["target"], r["status"]) for r in records] == [("page one.png", "png", "completed")]
    job_id = records[0]["id"]
    assert job_id in run(["jobs"], cwd=work, home=home).stdout

    status = run(["jobs", "status", job_id[:8]], cwd=work, home=home)
    assert status.returncode == 0
    assert f"job {job_id}" in status.stdout and "completed" in status.stdout
    stored = Path(status.stdout.split("image/png")[1].split("bytes")[1].strip())
    assert Image.open(stored).tobytes() == Image.open(work / "page one.png").tobytes()

    deleted = run(["jobs", "delete", job_id], cwd=work, home=home)
    assert deleted.returncode == 0 and deleted.stdout.strip() == f"deleted {job_id}"
    assert not stored.exists()
    gone = run(["jobs", "status", job_id], cwd=work, home=home)
    assert gone.returncode == 1 and "deleted" in gone.stdout

    unknown = run(["jobs", "status", "0000"], cwd=work, home=home)
    assert unknown.returncode == 1 and "no job 0000" in unknown.stderr
    assert_no_traceback(unknown)


def test_formats_lists_each_source_with_its_targets(work, home):
    proc = run(["formats", "--task", "ocr"], cwd=work, home=home)
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines and all(line.startswith("ocr") for line in lines)
    png = next(line for line in lines if line.split()[1] == "png")
    assert png.split("→")[1].split() == ["hocr", "pdf", "tsv", "txt"]


def test_doctor_exit_code_follows_the_report(work, home):
    from docconvert_nb.engine.doctor import doctor

    proc = run(["doctor"], cwd=work, home=home)
    assert proc.returncode == (0 if doctor().ok else 3)
    assert "tesseract" in proc.stdout
    bare = run(["doctor"], cwd=work, home=home, env={"PATH": "/nonexistent"})
    assert bare.returncode == 3
    assert "MISSING tesseract" in " ".join(bare.stdout.split())
    assert "apt-get install" in bare.stdout


def test_a_missing_tool_gives_exit_3_with_the_install_command(work, home):
    proc = run(["ocr", "page one.png"], cwd=work, home=home, env={"PATH": "/nonexistent"})
    assert proc.returncode == 3
    assert "tesseract is not installed" in proc.stderr and "apt-get install" in proc.stderr
    assert proc.stdout == ""
    assert_no_traceback(proc)


@pytest.mark.tools
def test_ocr_writes_the_recognized_text(work, home):
    proc = run(["ocr", "page one.png", "page two.png", "-o", "text"], cwd=work, home=home)
    assert proc.returncode == 0, proc.stderr
    assert sorted(Path(p).name for p in proc.stdout.splitlines()) == ["page one.txt", "page two.txt"]
    assert "Command line page one" in " ".join((work / "text" / "page one.txt").read_text().split())
    assert "Command line page two" in " ".join((work / "text" / "page two.txt").read_text().split())


@pytest.mark.tools
def test_table_writes_a_csv_with_the_drawn_cells(work, home):
    import pandas as pd

    (work / "visitors.png").write_bytes(samples.table_image(TABLE_ROWS))
    proc = run(["table", "visitors.png", "-o", "tables"], cwd=work, home=home, module=True)
    assert proc.returncode == 0, proc.stderr
    written = [Path(p) for p in proc.stdout.splitlines()]
    assert len(written) == 1 and written[0].suffix == ".csv"
    frame = pd.read_csv(work / written[0], dtype=str)
    assert [list(frame.columns)] + frame.values.tolist() == TABLE_ROWS


def test_simulate_delegates_and_stops_on_sigterm(work, home):
    environment = {**os.environ, "DOCCONVERT_NB_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "docconvert_nb", "simulate", "convertapi", "--port", "0"],
                            cwd=work, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert "simulator listening on http://127.0.0.1:" in first
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()


def test_main_returns_exit_codes_instead_of_exiting(capsys):
    assert main(["--version"]) == 0
    assert "docconvert-nb 0.1.0" in capsys.readouterr().out
    assert main(["convert"]) == 2
    assert main(["--help"]) == 0
    assert "exit codes:" in capsys.readouterr().out


def test_main_in_process_converts_and_leaves_logging_as_it_was(work, tmp_path, capsys):
    import logging

    logger = logging.getLogger("docconvert_nb")
    before = (logger.level, list(logger.handlers), logger.propagate)
    code = main(["convert", str(work / "page one.png"), "--to", "gif", "-o", str(tmp_path / "gifs"), "-q"])
    assert code == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "gifs" / "page one.gif")
    assert Image.open(tmp_path / "gifs" / "page one.gif").size == (500, 300)
    assert (logger.level, list(logger.handlers), logger.propagate) == before


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_is_one_bar_redrawn_in_place(work):
    from docconvert_nb import convert_many
    from docconvert_nb.cli import Progress

    stream = _Terminal()
    progress = Progress(stream)
    group = convert_many([work / "page one.png", work / "missing.png"], "png")
    progress.follow(group)
    group.wait(60)
    progress.close()
    text = stream.getvalue()
    assert text.endswith("\r[########################] 2/2 done, 1 failed\n")
    assert "\n" not in text[:-1]  # every update before the end redraws the same line
