"""Hostile documents that name remote and local resources, and the means to catch them being read.

Every document names two kinds of resource:

* ``http://127.0.0.1:PORT/<tag>...`` on a loopback server (:class:`RecordingServer`) that records
  every request and answers images with a magenta PNG;
* ``file://`` paths of local canary files: a magenta PNG and a text file holding :data:`CANARY_WORD`.

A converter that keeps the document offline makes no request to the server, and its PDF shows neither
magenta pixels nor the canary word. The documents are written here from templates (zip writing,
python-pptx), so the corpus needs nothing from outside the tests.
"""

from __future__ import annotations

import http.server
import io
import re
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from PIL import Image

MAGENTA = (255, 0, 255)  # the images the loopback server sends
CYAN = (0, 255, 255)  # the local canary image
CANARY_WORD = "CanarySecret4711"


def magenta_png(size: int = 96, color=MAGENTA) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, "PNG")
    return buf.getvalue()


@dataclass
class Canaries:
    """Local files a hostile document names."""

    image: Path
    text: Path

    @classmethod
    def create(cls, folder: Path) -> "Canaries":
        folder.mkdir(parents=True, exist_ok=True)
        image, text = folder / "canary.png", folder / "canary.txt"
        image.write_bytes(magenta_png(color=CYAN))
        text.write_text(f"{CANARY_WORD} local file content\n")
        return cls(image, text)


class _Handler(http.server.BaseHTTPRequestHandler):
    def _record(self):
        self.server.requests.append((self.command, self.path))

    def _answer(self, body: bool):
        self._record()
        data = magenta_png() if not self.path.endswith((".txt", ".csv", ".css")) else CANARY_WORD.encode()
        self.send_response(200)
        self.send_header("Content-Type", "image/png" if data.startswith(b"\x89PNG") else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self._answer(True)

    def do_HEAD(self):  # noqa: N802
        self._answer(False)

    def do_OPTIONS(self):  # noqa: N802
        self._answer(False)

    def do_PROPFIND(self):  # noqa: N802  (WebDAV, which LibreOffice's UCB speaks)
        self._answer(False)

    def do_POST(self):  # noqa: N802
        self._answer(True)

    def log_message(self, *args):
        pass


class RecordingServer:
    """A loopback HTTP server that records every request (method, path)."""

    def __init__(self):
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.requests = []
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def requests(self) -> list[tuple[str, str]]:
        return list(self._httpd.requests)

    def url(self, tag: str) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/{tag}"

    def __enter__(self) -> "RecordingServer":
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()


# -- the documents ---------------------------------------------------------------------------

def _zip(members: dict[str, str | bytes], *, odf_mimetype: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        if odf_mimetype:
            zf.writestr(zipfile.ZipInfo("mimetype"), odf_mimetype, compress_type=zipfile.ZIP_STORED)
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def html(server: RecordingServer, canaries: Canaries) -> bytes:
    img, txt = canaries.image.as_uri(), canaries.text.as_uri()
    return f"""<!doctype html><html><head><title>hostile</title>
<link rel="stylesheet" href="{server.url('html-style.css')}">
<style>@import url("{server.url('html-import.css')}"); p.bg {{ background-image: url("{server.url('html-cssbg.png')}"); }}</style>
</head><body background="{server.url('html-bodybg.png')}">
<p>Hostile HTML page</p>
<p><img src="{server.url('html-img.png')}" width="96" height="96"></p>
<p><img src="{img}" width="96" height="96"></p>
<p><img src="{canaries.image}" width="96" height="96"></p>
<p class="bg">background</p>
<iframe src="{txt}" width="300" height="100"></iframe>
<iframe src="{server.url('html-frame.txt')}" width="300" height="100"></iframe>
<object data="{server.url('html-object.png')}" type="image/png"></object>
<embed src="{server.url('html-embed.png')}" type="image/png">
<applet code="{server.url('html-applet.class')}"></applet>
<p>Hostile HTML end</p>
</body></html>""".encode()


_W = ('xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
      'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
      'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
      'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
      'xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture" '
      'xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office"')
_IMAGE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"


def _docx_picture(rid: str, n: int) -> str:
    return (f'<w:p><w:r><w:drawing><wp:inline><wp:extent cx="914400" cy="914400"/><wp:docPr id="{n}" name="P{n}"/>'
            '<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">'
            f'<pic:pic><pic:nvPicPr><pic:cNvPr id="{n}" name="p{n}.png"/><pic:cNvPicPr/></pic:nvPicPr>'
            f'<pic:blipFill><a:blip r:link="{rid}"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>'
            '<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="914400" cy="914400"/></a:xfrm>'
            '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic>'
            '</wp:inline></w:drawing></w:r></w:p>')


def _docx_field(instruction: str) -> str:
    return ('<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
            f'<w:r><w:instrText xml:space="preserve"> {escape(instruction)} </w:instrText></w:r>'
            '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>old</w:t></w:r>'
            '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>')


def _docx_package(body: str, rels: str | None = None) -> bytes:
    """A minimal DOCX around ``body`` (WordprocessingML), with the document's relationships ``rels`` if given."""
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
        "word/document.xml": f'<?xml version="1.0" encoding="UTF-8"?><w:document {_W}><w:body>{body}</w:body></w:document>',
    }
    if rels is not None:
        parts["word/_rels/document.xml.rels"] = ('<?xml version="1.0" encoding="UTF-8"?>'
                                                 '<Relationships xmlns="http://schemas.openxmlformats.org/package/'
                                                 f'2006/relationships">{rels}</Relationships>')
    return _zip(parts)


def docx(server: RecordingServer, canaries: Canaries) -> bytes:
    links = {"rId10": server.url("docx-blip.png"), "rId11": canaries.image.as_uri(),
             "rId12": server.url("docx-vml.png"), "rId13": canaries.image.as_uri()}
    rels = "".join(f'<Relationship Id="{rid}" Type="{_IMAGE_REL}" Target={quoteattr(url)} TargetMode="External"/>'
                   for rid, url in links.items())
    vml = ''.join(f'<w:p><w:r><w:pict><v:shape id="s{rid}" style="width:72pt;height:72pt" type="#_x0000_t75">'
                  f'<v:imagedata r:id="{rid}" o:title=""/></v:shape></w:pict></w:r></w:p>' for rid in ("rId12", "rId13"))
    body = ("<w:p><w:r><w:t>Hostile DOCX document</w:t></w:r></w:p>"
            + _docx_picture("rId10", 1) + _docx_picture("rId11", 2) + vml
            + _docx_field(f'INCLUDEPICTURE "{server.url("docx-field.png")}" \\d')
            + _docx_field(f'INCLUDEPICTURE "{canaries.image}" \\d')
            + _docx_field(f'INCLUDETEXT "{canaries.text}"')
            + _docx_field(f'INCLUDETEXT "{server.url("docx-include.txt")}"'))
    return _docx_package(body, rels)


_ODF_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
           'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
           'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
           'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
           'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
           'xmlns:xlink="http://www.w3.org/1999/xlink" '
           'xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" office:version="1.2"')


def _odf_image(url: str, name: str) -> str:
    return (f'<draw:frame draw:name="{name}" svg:width="3cm" svg:height="3cm" text:anchor-type="as-char">'
            f'<draw:image xlink:href={quoteattr(url)} xlink:type="simple" xlink:show="embed" xlink:actuate="onLoad"/>'
            '</draw:frame>')


def _odt_body(server: RecordingServer, canaries: Canaries) -> str:
    return ("<office:text><text:p>Hostile ODF text document</text:p>"
            f"<text:p>{_odf_image(server.url('odt-image.png'), 'i1')}</text:p>"
            f"<text:p>{_odf_image(canaries.image.as_uri(), 'i2')}</text:p>"
            '<text:section text:name="linked1">'
            f'<text:section-source xlink:href={quoteattr(canaries.text.as_uri())} xlink:type="simple"/>'
            "<text:p/></text:section>"
            '<text:section text:name="linked2">'
            f'<text:section-source xlink:href={quoteattr(server.url("odt-section.txt"))} xlink:type="simple"/>'
            "<text:p/></text:section></office:text>")


def _ods_body(server: RecordingServer, canaries: Canaries) -> str:
    def cell(formula: str) -> str:
        return (f'<table:table-cell table:formula={quoteattr(formula)} office:value-type="string" '
                'office:string-value=""><text:p/></table:table-cell>')

    shape = (f'<table:shapes>{_odf_image(server.url("ods-image.png"), "i1")}'
             f'{_odf_image(canaries.image.as_uri(), "i2")}</table:shapes>').replace(' text:anchor-type="as-char"', '')
    return ('<office:spreadsheet><table:table table:name="Sheet1">' + shape
            + '<table:table-row><table:table-cell office:value-type="string"><text:p>Hostile ODF sheet</text:p>'
            '</table:table-cell></table:table-row><table:table-row>'
            + cell(f'of:=WEBSERVICE("{server.url("ods-webservice")}")')
            + cell(f'of:=FILTERXML(WEBSERVICE("{server.url("ods-filterxml")}");"//a")')
            + cell(f"of:=['{server.url('ods-external.ods')}'#$Sheet1.A1]")
            + cell(f"of:=['{canaries.text.as_uri()}'#$Sheet1.A1]")
            + '</table:table-row></table:table>'
            '<table:table table:name="Linked"><table:table-source '
            f'xlink:href={quoteattr(server.url("ods-linked.csv"))} table:filter-name="Text - txt - csv (StarCalc)" '
            'table:mode="copy-all"/><table:table-row><table:table-cell/></table:table-row></table:table>'
            '<table:table table:name="LinkedLocal"><table:table-source '
            f'xlink:href={quoteattr(canaries.text.as_uri())} table:filter-name="Text - txt - csv (StarCalc)" '
            'table:mode="copy-all"/><table:table-row><table:table-cell/></table:table-row></table:table>'
            '</office:spreadsheet>')


def _odf_package(kind: str, body: str) -> bytes:
    mimetype = f"application/vnd.oasis.opendocument.{kind}"
    return _zip({
        "META-INF/manifest.xml": '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mimetype}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>',
        "content.xml": f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODF_NS}>'
        f"<office:body>{body}</office:body></office:document-content>",
    }, odf_mimetype=mimetype)


def _flat_odf(kind: str, body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><office:document {_ODF_NS} '
            f'office:mimetype="application/vnd.oasis.opendocument.{kind}"><office:body>{body}</office:body>'
            "</office:document>").encode()


def odt(server, canaries) -> bytes:
    return _odf_package("text", _odt_body(server, canaries))


def fodt(server, canaries) -> bytes:
    return _flat_odf("text", _odt_body(server, canaries))


def ods(server, canaries) -> bytes:
    return _odf_package("spreadsheet", _ods_body(server, canaries))


def fods(server, canaries) -> bytes:
    return _flat_odf("spreadsheet", _ods_body(server, canaries))


def rtf(server: RecordingServer, canaries: Canaries) -> bytes:
    def field(instruction: str) -> str:
        return "{\\field{\\*\\fldinst " + instruction.replace("\\", "\\\\") + "}{\\fldrslt old}}\\par "

    return ("{\\rtf1\\ansi Hostile RTF document\\par "
            + field(f'INCLUDEPICTURE "{server.url("rtf-field.png")}" \\d')
            + field(f'INCLUDEPICTURE "{canaries.image}" \\d')
            + field(f'INCLUDEPICTURE "{canaries.image.as_uri()}"')
            + field(f'INCLUDETEXT "{canaries.text}"')
            + field(f'INCLUDETEXT "{server.url("rtf-include.txt")}"')
            + "}").encode()


def xlsx(server: RecordingServer, canaries: Canaries) -> bytes:
    sheet = ('<?xml version="1.0" encoding="UTF-8"?>'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
             'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheetData>'
             '<row r="1"><c r="A1" t="inlineStr"><is><t>Hostile XLSX sheet</t></is></c></row>'
             f'<row r="2"><c r="A2" t="str"><f>WEBSERVICE("{server.url("xlsx-webservice")}")</f></c>'
             f'<c r="B2" t="str"><f>_xlfn.WEBSERVICE("{server.url("xlsx-xlfn")}")</f></c>'
             '<c r="C2"><f>[1]Sheet1!A1</f></c><c r="D2"><f>[2]Sheet1!A1</f></c>'
             f'<c r="E2" t="str"><f>HYPERLINK("{server.url("xlsx-hyperlink")}")</f></c></row>'
             '</sheetData><drawing r:id="rId1"/></worksheet>')
    drawing = ('<?xml version="1.0" encoding="UTF-8"?>'
               '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
               'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
               'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
               + "".join(
                   f'<xdr:oneCellAnchor><xdr:from><xdr:col>{col}</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>3</xdr:row>'
                   '<xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:ext cx="914400" cy="914400"/><xdr:pic><xdr:nvPicPr>'
                   f'<xdr:cNvPr id="{col + 2}" name="p{col}"/><xdr:cNvPicPr/></xdr:nvPicPr><xdr:blipFill>'
                   f'<a:blip r:link="{rid}"/><a:stretch><a:fillRect/></a:stretch></xdr:blipFill><xdr:spPr><a:xfrm>'
                   '<a:off x="0" y="0"/><a:ext cx="914400" cy="914400"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/>'
                   '</a:prstGeom></xdr:spPr></xdr:pic><xdr:clientData/></xdr:oneCellAnchor>'
                   for col, rid in ((0, "rId1"), (3, "rId2")))
               + '</xdr:wsDr>')

    def external(n: int, target: str) -> dict[str, str]:
        return {
            f"xl/externalLinks/externalLink{n}.xml": '<?xml version="1.0" encoding="UTF-8"?>'
            '<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<externalBook r:id="rId1"><sheetNames><sheetName val="Sheet1"/></sheetNames></externalBook></externalLink>',
            f"xl/externalLinks/_rels/externalLink{n}.xml.rels": '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLinkPath" '
            f'Target={quoteattr(target)} TargetMode="External"/></Relationships>',
        }

    ct = ("application/vnd.openxmlformats-officedocument.spreadsheetml")
    return _zip({
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.worksheet+xml"/>'
        '<Override PartName="/xl/drawings/drawing1.xml" ContentType="application/vnd.openxmlformats-officedocument.drawing+xml"/>'
        f'<Override PartName="/xl/externalLinks/externalLink1.xml" ContentType="{ct}.externalLink+xml"/>'
        f'<Override PartName="/xl/externalLinks/externalLink2.xml" ContentType="{ct}.externalLink+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets>'
        '<externalReferences><externalReference r:id="rId2"/><externalReference r:id="rId3"/></externalReferences>'
        '<calcPr fullCalcOnLoad="1"/></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLink" Target="externalLinks/externalLink1.xml"/>'
        '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLink" Target="externalLinks/externalLink2.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": sheet,
        "xl/worksheets/_rels/sheet1.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/drawing" Target="../drawings/drawing1.xml"/></Relationships>',
        "xl/drawings/drawing1.xml": drawing,
        "xl/drawings/_rels/drawing1.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_IMAGE_REL}" Target={quoteattr(server.url("xlsx-image.png"))} TargetMode="External"/>'
        f'<Relationship Id="rId2" Type="{_IMAGE_REL}" Target={quoteattr(canaries.image.as_uri())} TargetMode="External"/></Relationships>',
        **external(1, server.url("xlsx-external.xlsx")),
        **external(2, canaries.text.as_uri()),
    })


def pptx(server: RecordingServer, canaries: Canaries) -> bytes:
    """A python-pptx slide whose two pictures are turned into external links (``r:link``)."""
    import pptx as python_pptx
    from pptx.util import Inches

    presentation = python_pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[5])
    slide.shapes.title.text = "Hostile PPTX slide"
    first = slide.shapes.add_picture(io.BytesIO(magenta_png()), Inches(1), Inches(2), Inches(1.5), Inches(1.5))
    second = slide.shapes.add_picture(io.BytesIO(magenta_png(97)), Inches(4), Inches(2), Inches(1.5), Inches(1.5))
    for picture, target in ((first, server.url("pptx-image.png")), (second, canaries.image.as_uri())):
        blip = picture._element.blipFill.blip
        new_rid = slide.part.relate_to(target, _IMAGE_REL, is_external=True)
        del blip.attrib["{http://schemas.openxmlformats.org/officeDocument/2006/relationships}embed"]
        blip.set("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}link", new_rid)
    buf = io.BytesIO()
    presentation.save(buf)
    return _drop_media(buf.getvalue())


def _drop_media(package: bytes) -> bytes:
    """Remove embedded image parts so only the external links can show a picture."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("ppt/media/"):
                continue
            if item.filename.endswith(".rels"):
                text = data.decode()
                text = re.sub(r'<Relationship [^>]*Target="\.\./media/[^"]*"[^>]*/>', "", text)
                data = text.encode()
            dst.writestr(item, data)
    return out.getvalue()


#: name → builder(server, canaries) → bytes
BUILDERS = {
    "hostile.html": html,
    "hostile.docx": docx,
    "hostile.odt": odt,
    "hostile.fodt": fodt,
    "hostile.ods": ods,
    "hostile.fods": fods,
    "hostile.rtf": rtf,
    "hostile.xlsx": xlsx,
    "hostile.pptx": pptx,
}


def leaks(pdf_bytes: bytes) -> list[str]:
    """What of the canaries shows in a PDF: magenta pixels (an image was fetched) or the canary word."""
    import pypdfium2 as pdfium

    found = []
    pdf = pdfium.PdfDocument(pdf_bytes)
    try:
        for index in range(len(pdf)):
            page = pdf[index]
            text = page.get_textpage().get_text_range()
            if CANARY_WORD.lower() in text.lower():
                found.append(f"page {index + 1}: the canary text")
            image = page.render(scale=0.5).to_pil().convert("RGB")
            colors = image.getcolors(maxcolors=image.width * image.height)
            magenta = sum(n for n, (r, g, b) in colors if r > 200 and g < 60 and b > 200)
            cyan = sum(n for n, (r, g, b) in colors if r < 60 and g > 200 and b > 200)
            if magenta > 20:
                found.append(f"page {index + 1}: {magenta} magenta pixels (an image from the network)")
            if cyan > 20:
                found.append(f"page {index + 1}: {cyan} cyan pixels (the local canary image)")
            page.close()
    finally:
        pdf.close()
    return found


# -- small documents that cost the office a lot ----------------------------------------------

def nested_tables_docx(depth: int = 60) -> bytes:
    """About 1 KB of DOCX: tables nested ``depth`` deep, whose layout takes LibreOffice minutes."""
    opening = ('<w:tbl><w:tblPr><w:tblW w:w="0" w:type="auto"/></w:tblPr><w:tblGrid><w:gridCol/><w:gridCol/>'
               '</w:tblGrid><w:tr><w:tc><w:p><w:r><w:t>x</w:t></w:r></w:p>')
    closing = '<w:p/></w:tc><w:tc><w:p><w:r><w:t>y</w:t></w:r></w:p></w:tc></w:tr></w:tbl>'
    body = opening * depth + "<w:p/>" + closing * depth + "<w:p/>"
    return _docx_package(body)


def million_rows_xlsx() -> bytes:
    """About 1.5 KB of XLSX whose used range ends at XFD1048576: LibreOffice lays out every page of it."""
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    return _zip({
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'xmlns:r="{rel}"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<dimension ref="A1:XFD1048576"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'
        '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>y</t></is></c></row></sheetData></worksheet>',
    })
