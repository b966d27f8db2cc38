"""Aspose.OCR Cloud v5: the protocol facts the adapter and the simulator share.

Public documentation: https://docs.aspose.cloud/ocr/ (guide) and
https://reference.aspose.cloud/ocr/ (API reference); the official Python SDK
is ``aspose-ocr-cloud`` (https://pypi.org/project/aspose-ocr-cloud/), whose
enums give the vocabularies below.

* Authentication: OAuth 2 client credentials at ``POST /connect/token``.
* ``POST /v5.0/ocr/{Task}`` with JSON ``{"image": <base64>, "settings":
  {...}}`` queues a task and answers its bare GUID (``text/plain``).
* ``GET /v5.0/ocr/{Task}?id=`` answers an ``OCRResponse``: ``taskStatus``
  (Pending, Processing, Completed, Error, NotExist), ``responseStatusCode``,
  ``results[]`` of ``{"type", "data": <base64>}`` and ``error`` with
  ``messages``/``warnings``. ``GET /v5.0/ocr/Utilities/GetTaskStatus?id=``
  is the same without results. ``DELETE /v5.0/ocr/{Task}?id=`` drops a task.
* Results are kept 24 hours. Errors are RFC 7807 problem details.
"""

from __future__ import annotations

import re
from typing import Any

from ..status import JobStatus
from . import GUID_PATTERN, OAUTH_TOKEN_PATH

DEFAULT_BASE_URL = "https://api.aspose.cloud"
API_PREFIX = "/v5.0/ocr"
TOKEN_PATH = OAUTH_TOKEN_PATH
#: How long the service keeps a task and its results (seconds).
RETENTION = 24 * 3600.0

#: ``taskStatus`` → our state. Case matters: the SDK's enum rejects "completed".
TASK_STATUS = {
    "Pending": JobStatus.QUEUED,
    "Processing": JobStatus.PROCESSING,
    "Completed": JobStatus.COMPLETED,
    "Error": JobStatus.FAILED,
    "NotExist": JobStatus.EXPIRED,
}
#: ``responseStatusCode`` per ``taskStatus`` (and for an unknown task).
RESPONSE_STATUS_CODES = {"Pending": "NotReady", "Processing": "NotReady", "Completed": "Ok", "Error": "Error",
                         "NotExist": "TaskNotFound"}

#: The task families this project uses, and the status-only endpoint.
RECOGNIZE_TABLE = "RecognizeTable"
RECOGNIZE_IMAGE = "RecognizeImage"
RECOGNIZE_IMAGE_TRIAL = "RecognizeImageTrial"  # unauthenticated, every tenth word masked
RECOGNIZE_PDF = "RecognizePdf"
DJVU_TO_PDF = "DjVu2PDF"
TASK_STATUS_ENDPOINT = "Utilities/GetTaskStatus"
FAMILIES = (RECOGNIZE_TABLE, RECOGNIZE_IMAGE, RECOGNIZE_IMAGE_TRIAL, RECOGNIZE_PDF, DJVU_TO_PDF)
#: Families that report on a task the adapter did not submit itself (probed in this order).
RECOVERABLE_FAMILIES = (RECOGNIZE_TABLE, RECOGNIZE_IMAGE, RECOGNIZE_PDF, DJVU_TO_PDF)
#: Families of the real service outside this project's scope.
OTHER_FAMILIES = (
    "RecognizeReceipt", "RecognizeRegions", "RecognizeLabel", "RecognizeAndParseInvoice", "DetectRegions",
    "IdentifyFont", "BinarizeImage", "DeskewImage", "DewarpImage", "UpscaleImage", "ConvertTextToSpeech",
    "ConvertTextToSpeechTrial",
)

#: Image formats the recognition endpoints take.
SOURCE_IMAGES = frozenset({"png", "jpeg", "tiff", "bmp", "gif"})

#: Tesseract language codes (what ``dc.ocr(lang=...)`` takes) → the service's ``Language`` enum values.
LANGUAGES = {
    "eng": "English", "deu": "German", "fra": "French", "ita": "Italian", "spa": "Spanish",
    "por": "Portuguese", "pol": "Polish", "slv": "Slovene", "slk": "Slovak", "nld": "Netherlands",
    "lit": "Lithuanian", "lav": "Latvian", "dan": "Danish", "nor": "Norwegian", "fin": "Finnish",
    "srp": "Serbian", "hrv": "Croatian", "ces": "Czech", "swe": "Swedish", "est": "Estonian",
    "ron": "Romanian", "chi_sim": "Chinese", "rus": "Russian", "ara": "Arabic", "hin": "Hindi",
    "ukr": "Ukrainan",  # sic: the service's spelling
    "ben": "Bengali", "bod": "Tibetan", "tha": "Thai", "urd": "Urdu", "tur": "Turkish",
    "kor": "Korean", "ind": "Indonesian", "heb": "Hebrew", "jav": "Javanese",
}

#: ``settings.resultType`` → the formats it yields (one ``results[]`` entry each).
RESULT_TYPE_TARGETS = {
    "Text": ("txt",), "Pdf": ("pdf",), "TextAndPdf": ("txt", "pdf"), "Hocr": ("hocr",),
    "TextAndHocr": ("txt", "hocr"), "PdfAndHocr": ("pdf", "hocr"), "TextAndPdfAndHocr": ("txt", "pdf", "hocr"),
    "ImagePNG": ("png",), "JSON": ("json",),
}
#: ``settings.resultTypeTable`` → the formats it yields ("Text" is the table's text, read by OCR).
TABLE_RESULT_TARGETS = {"Text": ("txt",), "Excel": ("xlsx",), "Csv": ("csv",), "CsvAndExcel": ("csv", "xlsx")}
#: Format → ``results[].type``.
RESULT_TYPE_NAMES = {"txt": "Text", "pdf": "Pdf", "csv": "Csv", "xlsx": "Excel", "hocr": "Hocr",
                     "png": "ImagePNG", "json": "JSON", "wav": "WavFile"}

#: Target → the single ``resultType`` / ``resultTypeTable`` value that asks for it.
OCR_RESULT_TYPES = {targets[0]: name for name, targets in RESULT_TYPE_TARGETS.items()
                    if len(targets) == 1 and targets[0] in ("txt", "pdf", "hocr")}
TABLE_RESULT_TYPES = {targets[0]: name for name, targets in TABLE_RESULT_TARGETS.items() if len(targets) == 1}

#: Options a caller may pass, and the ``settings`` key each becomes.
SETTING_OPTIONS = {
    "lang": "language",
    "rotate": "Rotate",
    "skew_correct": "makeSkewCorrect",
    "binarize": "makeBinarization",
    "contrast_correct": "makeContrastCorrection",
    "upsample": "makeUpsampling",
    "spell_check": "makeSpellCheck",
    "dsr_mode": "dsrMode",
    "dsr_confidence": "dsrConfidence",
    "result_type": "resultType",
    "result_type_table": "resultTypeTable",
}
BOOL_OPTIONS = frozenset({"skew_correct", "binarize", "contrast_correct", "upsample", "spell_check"})

TASK_ID = re.compile(GUID_PATTERN)


def from_task_status(task_status: str) -> JobStatus:
    """``taskStatus`` (Pending/Processing/Completed/Error/NotExist) → our state; ValueError if unknown."""
    try:
        return TASK_STATUS[task_status]
    except KeyError:
        raise ValueError(f"unknown Aspose taskStatus {task_status!r}") from None


def result_format(result_type: str) -> str | None:
    """The format a ``results[].type`` stands for (by name, any case, or by extension), None if unknown."""
    key = str(result_type or "").lower()
    for fmt, name in RESULT_TYPE_NAMES.items():
        if key in (fmt, name.lower()):
            return fmt
    return "xlsx" if key == "xls" else None


def language_code(name: str) -> str | None:
    """The Tesseract code of a ``Language`` value (any case), None if the service has no such language."""
    wanted = str(name).lower()
    return next((code for code, value in LANGUAGES.items() if value.lower() == wanted), None)


def problem(status: int, title: str, detail: str, instance: str = "") -> dict[str, Any]:
    """An RFC 7807 problem-details body, the error shape the service and its SDK use."""
    return {"type": f"https://httpstatuses.io/{status}", "title": title, "status": status, "detail": detail,
            "instance": instance}


def problem_message(body: Any) -> tuple[str, Any] | None:
    """(message, type) of a problem-details body; None if ``body`` is not one."""
    if isinstance(body, dict) and ("title" in body or "detail" in body):
        parts = [str(body[k]) for k in ("title", "detail") if body.get(k)]
        return ": ".join(parts), body.get("type")
    return None


def error_lists(document: dict) -> tuple[list[str], list[str]]:
    """(messages, warnings) of an ``OCRResponse``'s ``error`` object."""
    error = document.get("error") or {}
    if not isinstance(error, dict):
        return [str(error)], []
    messages = [str(m) for m in error.get("messages") or [] if m]
    warnings = [str(w) for w in error.get("warnings") or [] if w]
    return messages, warnings
