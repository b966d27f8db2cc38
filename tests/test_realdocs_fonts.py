"""Chinese, Japanese and Korean text gets real glyphs in LibreOffice's PDFs (binder/apt.txt's CJK font)."""

import subprocess
from pathlib import Path

import pytest

import docconvert_nb as dc
from docconvert_nb import samples
from docconvert_nb.engine.doctor import FONT_FILES

pytestmark = [pytest.mark.tools, pytest.mark.slow]

CJK = "中文文本 日本語のテキスト 한국어 텍스트"


def test_cjk_text_is_set_in_a_cjk_font(provider, tmp_path):
    if not Path(FONT_FILES["fonts-wqy-zenhei"]).exists():
        pytest.skip("fonts-wqy-zenhei is not installed (binder/apt.txt)")
    job = dc.convert(samples.docx_document([CJK]), to="pdf", provider=provider, name="cjk.docx").wait(timeout=180)
    pdf = tmp_path / "cjk.pdf"
    pdf.write_bytes(job.outputs[0].read())
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, timeout=60).stdout
    assert "WenQuanYi" in fonts  # without a CJK font LibreOffice falls back to one with empty boxes
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=60).stdout
    assert all(word in text for word in CJK.split())
