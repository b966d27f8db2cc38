"""Bridge between docconvert_nb and a running LibreOffice, over UNO.

Runs under Debian's /usr/bin/python3 (the only Python with ``uno``), not
the package's own: it imports nothing from docconvert_nb. It connects to the
office process listening on ``127.0.0.1:PORT``, then reads one JSON request
per line on stdin and answers one JSON line on stdout:

    → {"input": "/path/in.docx", "output": "/path/out.pdf", "password": null, "csv_options": null,
       "import_filter": null, "main_thread": false}
    ← {"ok": true, "filter": "writer_pdf_Export", "import_filter": "MS Word 97"}
    ← {"ok": false, "kind": "load" | "password" | "export" | "dead", "error": "..."}

The first line it writes is ``{"ready": true}`` once connected (or
``{"ready": false, "error": ...}``).

A request with ``"main_thread": true`` runs on the office's main thread, as
``soffice --convert-to`` does, by way of ``com.sun.star.awt.AsyncCallback``: the office calls us back
from its event loop and our UNO calls made inside that callback are executed by
that same thread (UNO's thread identity). A call made from an ordinary URP
thread instead lets the office's event loop run while the document is open,
and then Writer lays out the comment sidebar: it builds each comment's window
from ``modules/swriter/ui/annotation.ui``, a file Debian's ``-nogui`` packages
do not ship, and LibreOffice aborts. On the main thread that deferred layout
never runs before the document is closed. Other documents convert from the URP
thread, where the event loop's work runs alongside (faster on two cores).
See https://api.libreoffice.org/docs/idl/ref/servicecom_1_1sun_1_1star_1_1awt_1_1AsyncCallback.html
"""

import json
import sys
import threading
import time

import uno
import unohelper
from com.sun.star.awt import XCallback
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
    """(remote component context, Desktop) of the office listening on ``port``."""
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    url = f"uno:socket,host=127.0.0.1,port={port};urp;StarOffice.ComponentContext"
    while True:
        try:
            remote = resolver.resolve(url)
            desktop = remote.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", remote)
            return remote, desktop
        except Exception:  # NoConnectException until the office listens
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class _MainThreadCall(unohelper.Base, XCallback):
    """Runs ``function`` when the office's event loop calls ``notify`` (on its main thread)."""

    def __init__(self, function):
        self.function = function
        self.done = threading.Event()
        self.result = None
        self.error = None

    def notify(self, data):
        try:
            self.result = self.function()
        except Exception as exc:  # handed to the waiting thread
            self.error = exc
        finally:
            self.done.set()


def on_main_thread(context, function):
    """``function()`` run on the office's main thread; falls back to calling it here.

    Waits as long as it takes: the parent process enforces the time limit and
    kills the office (and so this bridge) when it runs out.
    """
    try:
        callback = context.ServiceManager.createInstanceWithContext("com.sun.star.awt.AsyncCallback", context)
    except Exception as exc:
        if is_dead(exc):
            raise
        callback = None
    if callback is None:
        return function()
    call = _MainThreadCall(function)
    callback.addCallback(call, None)
    call.done.wait()
    if call.error is not None:
        raise call.error
    return call.result


def is_dead(exc):
    """True when the error means the office process went away (not a problem with the document)."""
    text = str(exc).lower()
    return type(exc).__name__ == "DisposedException" or "urp bridge" in text or "disposed" in text


def import_filter(document):
    """The name of the filter LibreOffice read the document with ("MS Word 97", "WordPerfect", ...)."""
    try:
        return next((arg.Value for arg in document.getArgs() if arg.Name == "FilterName"), None)
    except Exception:
        return None


def convert(desktop, request):
    load = {"Hidden": True, "ReadOnly": True}
    if request.get("password"):
        load["Password"] = request["password"]
    if request.get("import_filter"):
        load["FilterName"] = request["import_filter"]
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
        return {"ok": True, "filter": export, "import_filter": import_filter(document)}
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
        context, desktop = connect(port, time.monotonic() + startup)
    except Exception as exc:
        print(json.dumps({"ready": False, "error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return 1
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            if request.get("main_thread"):
                reply = on_main_thread(context, lambda: convert(desktop, request))
            else:  # from this URP thread: the office's event loop works alongside, ~15 % faster
                reply = convert(desktop, request)
        except Exception as exc:  # never die on one bad request
            reply = {"ok": False, "kind": "dead" if is_dead(exc) else "load", "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
