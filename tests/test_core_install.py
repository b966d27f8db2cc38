"""A core install (``pip install .`` without extras) imports the package and every provider module."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

#: Packages only the optional extras bring (simulators, tables, samples).
OPTIONAL = ("flask", "werkzeug", "img2table", "cv2", "docx", "pptx", "msoffcrypto")

SCRIPT = textwrap.dedent(
    """
    import importlib, importlib.abc, pkgutil, sys

    BLOCKED = set(sys.argv[1].split(","))

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked: not part of a core install")
            return None

    sys.meta_path.insert(0, Blocker())
    import docconvert_nb
    import docconvert_nb.api, docconvert_nb.jobs, docconvert_nb.providers, docconvert_nb.protocols
    names = ["docconvert_nb.api", "docconvert_nb.jobs"]
    for package in (docconvert_nb.providers, docconvert_nb.protocols):
        for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
            names.append(module.name)
    leaked = sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED)
    assert not leaked, leaked
    print("\\n".join(names))
    """
)


def test_every_provider_module_imports_without_the_optional_packages():
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", SCRIPT, ",".join(OPTIONAL)], cwd=root, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    imported = set(done.stdout.split())
    for service in ("aspose", "onlineconvert", "convertapi", "groupdocs"):
        assert {f"docconvert_nb.providers.{service}", f"docconvert_nb.protocols.{service}"} <= imported
    assert "docconvert_nb.providers.webhooks" in imported


def test_the_blocker_really_blocks():
    # The same script, made to import a simulator (which needs Flask), must fail.
    script = SCRIPT.replace("import docconvert_nb\n", "import docconvert_nb\nimport docconvert_nb.simulators.base\n", 1)
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", script, ",".join(OPTIONAL)], cwd=root, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert done.returncode != 0 and "is blocked" in done.stderr
