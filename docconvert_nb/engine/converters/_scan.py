"""Cleaning up scanned pages before OCR or table recognition: deskew, denoise, binarize.

OpenCV is imported on first use: it takes longer to import than the rest of the engine.
"""

from __future__ import annotations

from PIL import Image

#: Skews smaller than this are left alone: rotating costs sharpness for nothing.
MIN_SKEW_DEGREES = 0.3


def to_gray(image: Image.Image):
    import numpy as np

    from ._imaging import flatten

    return np.asarray(flatten(image, "L"))


def estimate_skew(gray, max_angle: float = 8.0) -> float:
    """The angle (degrees, counter-clockwise) that makes text lines horizontal.

    Rotates a small inverted copy through candidate angles and keeps the one
    whose row sums vary most: text lines and table rules then fall into few
    rows. Coarse pass in 0.5° steps, fine pass in 0.1° around the best.
    """
    import cv2
    import numpy as np

    height, width = gray.shape
    scale = min(1.0, 900.0 / max(height, width))
    small = cv2.resize(gray, (max(1, int(width * scale)), max(1, int(height * scale))), interpolation=cv2.INTER_AREA)
    ink = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)[1]
    if cv2.countNonZero(ink) < 50:
        return 0.0
    center = (ink.shape[1] / 2, ink.shape[0] / 2)

    def score(angle: float) -> float:
        matrix = cv2.getRotationMatrix2D(center, angle, 1.0)
        rotated = cv2.warpAffine(ink, matrix, (ink.shape[1], ink.shape[0]), flags=cv2.INTER_NEAREST, borderValue=0)
        return float(np.var(rotated.sum(axis=1, dtype=np.float64)))

    best = max(np.arange(-max_angle, max_angle + 0.01, 0.5), key=score)
    best = max(np.arange(best - 0.5, best + 0.51, 0.1), key=score)
    return round(float(best), 2)


def rotate(gray, angle: float):
    """Rotate counter-clockwise by ``angle`` degrees, growing the canvas and filling with white."""
    import cv2

    height, width = gray.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(height * sin + width * cos), int(height * cos + width * sin)
    matrix[0, 2] += new_w / 2 - width / 2
    matrix[1, 2] += new_h / 2 - height / 2
    return cv2.warpAffine(gray, matrix, (new_w, new_h), flags=cv2.INTER_CUBIC, borderValue=255)


def clean(image: Image.Image, *, deskew: bool = True, denoise: bool = False, binarize: bool = False):
    """Return ``(grayscale PIL image, {"skew": degrees corrected})`` after the chosen steps."""
    import cv2

    gray = to_gray(image)
    info = {"skew": 0.0}
    if deskew:
        angle = estimate_skew(gray)
        if abs(angle) >= MIN_SKEW_DEGREES:
            gray = rotate(gray, angle)
            info["skew"] = angle
    if denoise:
        gray = cv2.medianBlur(gray, 3)
    if binarize:
        gray = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 31, 15)
    return Image.fromarray(gray), info
