"""Bridge between docconvert_nb and a running LibreOffice, over UNO.

Runs under Debian's /usr/bin/python3 (the only Python with ``uno``), not
the package's own: it imports nothing from docconvert_nb. It connects to the
office process listening on ``127.0.0.1:PORT``, then reads one JSON request
per line on stdin and answers one JSON line on stdout:

    → {"input": "/path/in.docx", "output": "/path/out.pdf", "password": null, "csv_options": null}
    ← {"ok": true, "filter": "writer_pdf_Export"}
    ← {"ok": false, "kind": "load" | "password" | "export" | "dead", "error": "..."}

The first line it writes is ``{"ready": true}`` once connected (or
``{"ready": false, "error": ...}``).
"""

import json
import sys
import time

import uno
from com.sun.star.beans import PropertyValue

EXPORT_FILTERS = (
    ("com.sun.star.text.WebDocument", "writer_web_pdf_Export"),
    ("com.sun.star.text.GenericTextDocument", "writer_pdf_Export"),
    ("com.sun.star.sheet.SpreadsheetDocument", "calc_pdf_Export"),
    ("com.sun.star.presentation.PresentationDocument", "impress_pdf_Export"),
    ("com.sun.star.drawing.DrawingDocument", "draw_pdf_Export"),
)
CSV_FILTER = "Text - txt - csv (StarCalc)"


def props(**values):
    out = []
    for name, value in values.items():
        prop = PropertyValue()
        prop.Name, prop.Value = name, value
        out.append(prop)
    return tuple(out)


def connect(port, deadline):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    url = f"uno:socket,host=127.0.0.1,port={port};urp;StarOffice.ComponentContext"
    while True:
        try:
            remote = resolver.resolve(url)
            return remote.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", remote)
        except Exception:  # NoConnectException until the office listens
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def is_dead(exc):
    """True when the error means the office process went away (not a problem with the document)."""
    text = str(exc).lower()
    return type(exc).__name__ == "DisposedException" or "urp bridge" in text or "disposed" in text


def convert(desktop, request):
    load = {"Hidden": True, "ReadOnly": True}
    if request.get("password"):
        load["Password"] = request["password"]
    if request.get("csv_options"):
        load["FilterName"], load["FilterOptions"] = CSV_FILTER, request["csv_options"]
    source = uno.systemPathToFileUrl(request["input"])
    try:
        document = desktop.loadComponentFromURL(source, "_blank", 0, props(**load))
    except Exception as exc:
        if is_dead(exc):
            return {"ok": False, "kind": "dead", "error": str(exc)}
        kind = "password" if "password" in str(exc).lower() or "wrong" in str(exc).lower() else "load"
        return {"ok": False, "kind": kind, "error": f"{type(exc).__name__}: {exc}".strip()}
    if document is None:
        return {"ok": False, "kind": "load", "error": "LibreOffice could not open the document"}
    try:
        export = next((f for service, f in EXPORT_FILTERS if document.supportsService(service)), "writer_pdf_Export")
        document.storeToURL(uno.systemPathToFileUrl(request["output"]), props(FilterName=export))
        return {"ok": True, "filter": export}
    except Exception as exc:
        kind = "dead" if is_dead(exc) else "export"
        return {"ok": False, "kind": kind, "error": f"{type(exc).__name__}: {exc}".strip()}
    finally:
        try:
            document.close(True)
        except Exception:
            pass


def main():
    port = int(sys.argv[1])
    startup = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
    try:
        desktop = connect(port, time.monotonic() + startup)
    except Exception as exc:
        print(json.dumps({"ready": False, "error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return 1
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            reply = convert(desktop, json.loads(line))
        except Exception as exc:  # never die on one bad request
            reply = {"ok": False, "kind": "dead" if is_dead(exc) else "load", "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
