"""No Office conversion reads a local file or the network because the document says so.

Each document of :mod:`tests.safety_corpus` names images, frames, sections, linked sheets, fields and
formulas on a loopback HTTP server and in local canary files. Converted, it must make no request and
show neither a canary image nor the canary text, while its own words are in the PDF. A control run with
an office that lacks the protection shows the corpus does reach out, so the checks can fail.
"""

from __future__ import annotations

import os
import subprocess

import pypdfium2 as pdfium
import pytest

import docconvert_nb as dc
from docconvert_nb.engine import office_server, sandbox
from docconvert_nb.engine.office_server import OfficeServer, get_server

from . import safety_corpus as corpus

pytestmark = [pytest.mark.tools, pytest.mark.slow]

#: Made from a corpus document by LibreOffice itself (no Python writer knows the old binary formats).
LEGACY = {"hostile.doc": "hostile.docx", "hostile.xls": "hostile.xlsx", "hostile.ppt": "hostile.pptx"}
#: Import paths that ignore LibreOffice's link settings for local files; only Landlock stops them.
NEEDS_LANDLOCK = {"hostile.rtf", "hostile.ods"}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """(server, {name: path}) for every hostile document, the server recording from here on."""
    if office_server.soffice_binary() is None or not office_server.uno_available():
        pytest.skip("LibreOffice with python3-uno is not installed")
    folder = tmp_path_factory.mktemp("hostile")
    canaries = corpus.Canaries.create(folder / "canaries")
    with corpus.RecordingServer() as server:
        paths = {}
        for name, build in corpus.BUILDERS.items():
            paths[name] = folder / name
            paths[name].write_bytes(build(server, canaries))
        _make_legacy(folder, paths)
        del server._httpd.requests[:]  # writing the legacy files must not count (and made no request)
        yield server, paths


def _make_legacy(folder, paths):
    profile = folder / "legacy-profile"
    office_server.write_offline_profile(profile)
    for name, source in LEGACY.items():
        target = name.rsplit(".", 1)[1]
        subprocess.run([office_server.SOFFICE.require(), "--headless", "--norestore",
                        f"-env:UserInstallation={profile.as_uri()}", "--convert-to", target,
                        "--outdir", str(folder), str(paths[source])],
                       check=True, capture_output=True, timeout=180, env={**os.environ, "TMPDIR": str(folder)})
        paths[name] = folder / name
    office_server.remove_stale_pipe(profile)


def _words(pdf_bytes: bytes) -> str:
    pdf = pdfium.PdfDocument(pdf_bytes)
    return " ".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))


ALL = [*corpus.BUILDERS, *LEGACY]


@pytest.mark.parametrize("name", ALL)
def test_the_warm_office_follows_no_link_of_the_document(hostile, tmp_path, name):
    server, paths = hostile
    if name in NEEDS_LANDLOCK and not sandbox.available():
        pytest.xfail("without Landlock LibreOffice's RTF/ODS import still reads local images")
    before = len(server.requests)
    target = tmp_path / "out.pdf"
    get_server().convert_to_pdf(paths[name], target, timeout=90)
    data = target.read_bytes()
    assert "Hostile" in _words(data), "the document itself was not rendered"
    assert server.requests[before:] == []
    assert corpus.leaks(data) == []


@pytest.mark.parametrize("name, warm", [
    *((name, True) for name in ("hostile.html", "hostile.docx", "hostile.odt", "hostile.ods", "hostile.rtf",
                               "hostile.xlsx", "hostile.pptx", "hostile.doc")),
    *((name, False) for name in ("hostile.html", "hostile.docx", "hostile.rtf")),  # the cold soffice --convert-to
])
def test_jobs_stay_offline(hostile, provider, name, warm):
    server, paths = hostile
    before = len(server.requests)
    job = dc.convert(paths[name], to="pdf", provider=provider, warm=warm).wait(timeout=180)
    data = job.outputs[0].read()
    if warm or name != "hostile.html":  # LibreOffice's own --convert-to drops that page's text
        assert "Hostile" in _words(data)
    assert corpus.leaks(data) == []
    assert server.requests[before:] == []


def test_the_corpus_does_reach_out_from_an_unprotected_office(hostile, tmp_path):
    """The control: the same documents fetch and embed from an office without the protection."""
    server, paths = hostile
    unprotected = OfficeServer(offline=False)
    try:
        for name in ("hostile.html", "hostile.docx", "hostile.odt", "hostile.doc"):
            before = len(server.requests)
            target = tmp_path / f"{name}.pdf"
            unprotected.convert_to_pdf(paths[name], target, timeout=90)
            assert server.requests[before:], f"{name} made no request even unprotected"
            assert corpus.leaks(target.read_bytes()), f"{name} embedded nothing even unprotected"
    finally:
        unprotected.stop()


def test_the_profile_pins_the_offline_settings(tmp_path):
    settings = office_server.write_offline_profile(tmp_path / "profile").read_text()
    for name in ("BlockUntrustedRefererLinks", "SecureURL", "ooInetProxyType", "DisableMacrosExecution"):
        assert f'oor:name="{name}"' in settings
    assert settings.count('oor:finalized="true"') == len(office_server.OFFLINE_SETTINGS)


@pytest.mark.skipif(not sandbox.available(), reason="the kernel has no Landlock")
def test_a_confined_process_reads_neither_home_nor_tmp_nor_the_network(tmp_path):
    """The sandbox on its own: a shell under the office's policy cannot read a file in /tmp or connect."""
    secret = tmp_path / "secret.txt"
    secret.write_text(corpus.CANARY_WORD)
    profile = tmp_path / "profile"
    profile.mkdir()
    (profile / "mine.txt").write_text("own file")
    with corpus.RecordingServer() as server:
        script = (f"cat {secret}; echo rc=$?; cat {profile / 'mine.txt'}; "
                  f"python3 -c \"import urllib.request as u; u.urlopen('{server.url('x')}', timeout=5)\" "
                  "2>/dev/null; echo net=$?")
        from docconvert_nb.engine import tools

        out = tools.run(["/bin/sh", "-c", script], cwd=profile, timeout=30,
                        confine=office_server.office_policy(profile)).stdout.decode()
        assert corpus.CANARY_WORD not in out and "rc=1" in out
        assert "own file" in out
        if sandbox.available() >= 4:
            assert "net=1" in out and server.requests == []


@pytest.mark.skipif(sandbox.available() < 4, reason="the opt-in needs Landlock with network rules")
def test_remote_resources_is_an_opt_in_that_still_keeps_local_files_out(hostile, provider):
    server, paths = hostile
    for name in ("hostile.html", "hostile.docx"):
        before = len(server.requests)
        job = dc.convert(paths[name], to="pdf", provider=provider, remote_resources=True).wait(timeout=180)
        found = corpus.leaks(job.outputs[0].read())
        assert server.requests[before:], f"{name}: the opt-in fetched nothing"
        assert any("network" in leak for leak in found), found
        assert not any("local" in leak for leak in found), found
    # The default office is still offline.
    before = len(server.requests)
    dc.convert(paths["hostile.html"], to="pdf", provider=provider).wait(timeout=180)
    assert server.requests[before:] == []
