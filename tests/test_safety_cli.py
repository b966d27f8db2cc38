"""The command line shows hostile file names escaped and never deletes jobs it was not named."""

from __future__ import annotations

import pytest

from docconvert_nb.cli import main, shown
from docconvert_nb.engine import Engine

from .helpers import image_bytes


def test_control_characters_are_escaped_and_plain_names_kept():
    assert shown("a\x1b[2Jb\nc\rd\x85e.png") == "a\\x1b[2Jb\\nc\\rd\\x85e.png"
    assert shown("scan-\udcff.png") == "scan-\\xff.png"
    assert shown("Résumé page 1.pdf") == "Résumé page 1.pdf"


def test_written_paths_are_one_per_line_whatever_the_name(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DOCCONVERT_NB_HOME", str(tmp_path / "home"))
    source = tmp_path / "evil\x1b[31m\nname.png"
    source.write_bytes(image_bytes())
    assert main(["convert", str(source), "--to", "pdf", "-o", str(tmp_path / "out")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and "\x1b" not in lines[0] and "\\x1b[31m\\nname.pdf" in lines[0]


@pytest.mark.parametrize("job_id", ["", "   "])
def test_jobs_delete_with_an_empty_id_deletes_nothing(tmp_path, monkeypatch, capsys, job_id):
    home = tmp_path / "home"
    monkeypatch.setenv("DOCCONVERT_NB_HOME", str(home))
    engine = Engine(home)
    from docconvert_nb.documents import ConversionRequest, Source

    ids = [engine.submit(ConversionRequest(Source.from_input(image_bytes()), "pdf")) for _ in range(2)]
    engine.shutdown()
    assert main(["jobs", "delete", job_id]) != 0
    assert "empty" in capsys.readouterr().err
    survivors = Engine(home)
    assert all(survivors.get(i).status != "deleted" for i in ids)
    survivors.shutdown()
