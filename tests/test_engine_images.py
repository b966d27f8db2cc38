"""Each image/PDF converter on generated inputs; every output is opened and checked."""


import pypdfium2 as pdfium
import pytest

import docconvert_nb as dc

from .helpers import image_bytes, multipage_tiff, near, open_image

COLORS = ((255, 0, 0), (0, 255, 0), (0, 0, 255))


def run(provider, data, to, name=None, **options):
    return dc.convert(data, to=to, provider=provider, name=name, **options).wait(timeout=60)


@pytest.mark.parametrize("target, pil", [("jpeg", "JPEG"), ("webp", "WEBP"), ("bmp", "BMP"), ("gif", "GIF"), ("tiff", "TIFF"), ("png", "PNG")])
def test_image_to_image(provider, target, pil):
    source = image_bytes("PNG" if target != "png" else "BMP", size=(64, 32), color=(250, 10, 10))
    job = run(provider, source, target)
    (out,) = job.outputs
    im = open_image(out.read())
    assert im.format == pil and im.size == (64, 32)
    r, g, b = im.convert("RGB").getpixel((32, 16))[:3]
    assert r > 200 and g < 60 and b < 60
    assert out.size == len(out.read()) and out.verify(out.read())


def test_transparent_png_to_jpeg_is_flattened_on_white(provider):
    source = image_bytes("PNG", size=(10, 10), color=(0, 0, 0, 0), mode="RGBA")
    im = open_image(run(provider, source, "jpeg").outputs[0].read())
    assert im.mode == "RGB" and min(im.getpixel((5, 5))) > 240


def test_multipage_tiff_to_png_gives_one_output_per_page(provider):
    job = run(provider, multipage_tiff(COLORS), "png", name="scan.tiff")
    assert [o.name for o in job.outputs] == ["scan-p1.png", "scan-p2.png", "scan-p3.png"]
    for out, color in zip(job.outputs, COLORS):
        assert open_image(out.read()).convert("RGB").getpixel((50, 30)) == color
        assert out.metadata["page"] == COLORS.index(color) + 1


def test_multipage_tiff_to_gif_keeps_pages_in_one_file(provider):
    (out,) = run(provider, multipage_tiff(COLORS), "gif").outputs
    assert open_image(out.read()).n_frames == 3


def test_page_selection(provider):
    job = run(provider, multipage_tiff(COLORS), "png", pages="2-3")
    assert len(job.outputs) == 2
    assert open_image(job.outputs[0].read()).convert("RGB").getpixel((1, 1)) == COLORS[1]


def test_images_to_pdf_one_page_per_frame_at_the_image_dpi(provider):
    (out,) = run(provider, multipage_tiff(COLORS, size=(300, 150)), "pdf", dpi=150).outputs
    pdf = pdfium.PdfDocument(out.read())
    assert len(pdf) == 3
    width, height = pdf[0].get_size()
    assert (round(width), round(height)) == (144, 72)  # 300 px at 150 dpi = 2 in = 144 pt
    rendered = pdf[1].render(scale=1).to_pil().convert("RGB")
    assert near(rendered.getpixel((72, 36)), COLORS[1])
    assert out.metadata["pages"] == 3


def _pdf_with_pages(provider, colors):
    return run(provider, multipage_tiff(colors, size=(200, 100)), "pdf", dpi=100).outputs[0].read()


def test_pdf_to_png_pages(provider):
    pdf = _pdf_with_pages(provider, COLORS)
    job = run(provider, pdf, "png", name="doc.pdf", dpi=50)
    assert len(job.outputs) == 3
    page2 = open_image(job.outputs[1].read()).convert("RGB")
    assert page2.size == (100, 50)
    assert near(page2.getpixel((50, 25)), COLORS[1])


def test_pdf_to_jpeg_selected_page_and_to_multipage_tiff(provider):
    pdf = _pdf_with_pages(provider, COLORS)
    job = run(provider, pdf, "jpeg", pages=3, dpi=72)
    (out,) = job.outputs
    r, g, b = open_image(out.read()).getpixel((20, 20))
    assert b > 200 and r < 40
    (tiff,) = run(provider, pdf, "tiff", dpi=40).outputs
    assert open_image(tiff.read()).n_frames == 3


def test_output_save_streams_to_disk(provider, tmp_path):
    job = run(provider, image_bytes(), "pdf", name="red.png")
    path = job.outputs[0].save(tmp_path / "out")
    assert path.name == "red.pdf" and path.read_bytes().startswith(b"%PDF")
    with pytest.raises(FileExistsError):
        job.outputs[0].save(tmp_path / "out")
    assert job.outputs[0].save(tmp_path / "out", overwrite=True) == path


def test_formats_lists_the_engine_pairs():
    table = dc.formats()
    assert {"task", "source", "target"} <= set(table.columns)
    pairs = set(zip(table.task, table.source, table.target))
    assert ("convert", "png", "pdf") in pairs and ("convert", "pdf", "png") in pairs
    assert ("convert", "tiff", "tiff") not in pairs
