"""Jupyter helpers for the notebook tests and benchmarks.

- :func:`write_kernelspec`: a ``python3`` kernelspec that runs *this*
  interpreter (the venv's), for a ``JUPYTER_PATH`` that puts it first.
- :func:`isolated_env`: environment variables keeping Jupyter's config,
  data and runtime files in a temporary folder (no home-directory pollution).
- :class:`Kernel`: a kernel driven through jupyter_client (execute, time,
  interrupt).
- :class:`JupyterLab`: a JupyterLab server on 127.0.0.1, a free port and a
  random token, stopped by process group.
- :data:`SLOW_PROVIDER`: code defining a provider whose jobs run for a set
  time, executed inside kernels so jobs outlive a cell.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from queue import Empty

#: Defines ``SlowProvider(seconds)`` and ``PNG`` inside a kernel.
SLOW_PROVIDER = '''
import io, itertools, threading, time
from docconvert_nb.outputs import Output
from docconvert_nb.providers.base import Capability, JobSnapshot, Provider
from docconvert_nb.samples import text_page
from docconvert_nb.status import JobStatus

PNG = text_page("slow job")

class SlowProvider(Provider):
    """Jobs that stay 'processing' for `seconds`, polled every 0.2 s."""
    name = "slow"
    label = "Slow test service"

    def __init__(self, seconds):
        self.seconds = seconds
        self.started = {}
        self.ids = itertools.count(1)

    def capabilities(self):
        return [Capability("convert", "png", "pdf")]

    def submit(self, request):
        job_id = f"slow-{next(self.ids)}"
        self.started[job_id] = time.monotonic()
        return job_id

    def status(self, job_id):
        if time.monotonic() - self.started[job_id] < self.seconds:
            return JobSnapshot(status=JobStatus.PROCESSING)
        return JobSnapshot(status=JobStatus.COMPLETED, outputs=[
            Output("result.pdf", "application/pdf", 8, _opener=lambda: io.BytesIO(b"%PDF-1.4"))])

    def delete(self, job_id):
        pass

    def poll_delay(self, attempt):
        return 0.2


class FlakySlowProvider(SlowProvider):
    """Like SlowProvider, with progress, and jobs whose source name contains 'bad' fail at the end."""
    name = "flaky"
    label = "Flaky test service"

    def submit(self, request):
        job_id = super().submit(request)
        if "bad" in request.source.name:
            self.started[job_id] = -self.started[job_id]
        return job_id

    def status(self, job_id):
        began = self.started[job_id]
        elapsed = time.monotonic() - abs(began)
        if elapsed < self.seconds:
            return JobSnapshot(status=JobStatus.PROCESSING, progress=elapsed / self.seconds)
        if began < 0:
            return JobSnapshot(status=JobStatus.FAILED, message="failed",
                               errors=["page 1 cannot be read: the scan is blank"])
        return super().status(job_id)
'''


def write_kernelspec(root: Path) -> Path:
    """Write a ``python3`` kernelspec running ``sys.executable`` under ``root/kernels``; return ``root``."""
    spec = root / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (docconvert_nb tests)",
        "language": "python",
    }))
    return root


def isolated_env(root: Path) -> dict[str, str]:
    """Environment variables giving Jupyter private config/data/runtime folders and our kernelspec."""
    data = write_kernelspec(root / "data")
    env = {
        "JUPYTER_PATH": str(data),
        "JUPYTER_DATA_DIR": str(data),
        "JUPYTER_CONFIG_DIR": str(root / "config"),
        "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
        "IPYTHONDIR": str(root / "ipython"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    for key in ("config", "runtime", "ipython"):
        (root / key).mkdir(parents=True, exist_ok=True)
    return env


def kernel_manager(root: Path):
    """A KernelManager for our ``python3`` spec, and the environment to start its kernel with."""
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    env = isolated_env(root)
    specs = KernelSpecManager(kernel_dirs=[str(Path(env["JUPYTER_PATH"]) / "kernels")])
    manager = KernelManager(kernel_name="python3", kernel_spec_manager=specs)
    return manager, {**os.environ, **env}


class Kernel:
    """A kernel on this interpreter, driven through jupyter_client."""

    def __init__(self, root: Path, cwd: Path | None = None):
        self.manager, env = kernel_manager(root)
        self.manager.start_kernel(cwd=str(cwd or root), env=env)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def execute(self, code: str, timeout: float = 60) -> dict:
        """Run ``code``; return {'status', 'stdout', 'ename', 'evalue', 'data', 'messages', 'seconds'}.

        ``messages`` lists the type of every IOPub message that belongs to this cell.
        """
        stdout: list[str] = []
        data: list[dict] = []
        messages: list[str] = []

        def on_output(msg):
            kind = msg["msg_type"]
            messages.append(kind)
            if kind == "stream":
                stdout.append(msg["content"]["text"])
            elif kind in ("execute_result", "display_data"):
                data.append(msg["content"]["data"])

        start = time.perf_counter()
        reply = self.client.execute_interactive(code, timeout=timeout, output_hook=on_output)
        seconds = time.perf_counter() - start
        content = reply["content"]
        return {"status": content["status"], "ename": content.get("ename"), "evalue": content.get("evalue"),
                "stdout": "".join(stdout), "data": data, "messages": messages, "seconds": seconds}

    def execute_and_interrupt(self, code: str, after: float, timeout: float = 60) -> dict:
        """Run ``code`` and send a kernel interrupt (SIGINT) ``after`` seconds into it."""
        msg_id = self.client.execute(code)
        time.sleep(after)
        self.manager.interrupt_kernel()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.client.get_shell_msg(timeout=1)
            except Empty:
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]
        raise TimeoutError("no reply after the interrupt")

    def shutdown(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JupyterLab:
    """A JupyterLab server on loopback serving ``root_dir``; use as a context manager."""

    def __init__(self, root_dir: Path, state_dir: Path):
        self.root_dir = root_dir
        self.state_dir = state_dir
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.process: subprocess.Popen | None = None
        self.log_path = state_dir / "jupyterlab.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, relative: str) -> str:
        return f"{self.url}/lab/tree/{relative}?token={self.token}&reset"

    def _write_settings(self, *, theme: str = "JupyterLab Light", start_kernel: bool = True) -> None:
        """Start the notebook's kernel without asking, and never offer news (no network, no popups).

        Widget state is not saved: JupyterLab's default, and Binder's unless configured.
        """
        settings = self.state_dir / "settings"
        for path, values in {
            "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"autoStartDefaultKernel": start_kernel},
            "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                              "checkForUpdates": False},
            "@jupyterlab/apputils-extension/themes.jupyterlab-settings": {"theme": theme},
        }.items():
            target = settings / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values))

    def configure(self, *, theme: str = "JupyterLab Light", start_kernel: bool = True) -> None:
        """Change the theme or kernel start-up for the pages opened from now on (settings are read at load)."""
        self._write_settings(theme=theme, start_kernel=start_kernel)

    def start(self, timeout: float = 90) -> "JupyterLab":
        env = {**os.environ, **isolated_env(self.state_dir)}
        self._write_settings()
        command = [
            sys.executable, "-m", "jupyterlab",
            "--no-browser", "--ip=127.0.0.1", f"--port={self.port}", "--port-retries=0",
            f"--ServerApp.root_dir={self.root_dir}", f"--IdentityProvider.token={self.token}",
            "--ServerApp.open_browser=False", "--LabApp.news_url=", "--LabApp.check_for_updates_class="
            "jupyterlab.NeverCheckForUpdate",
            f"--LabApp.workspaces_dir={self.state_dir / 'workspaces'}",
            f"--LabApp.user_settings_dir={self.state_dir / 'settings'}",
            "--LabApp.extension_manager=readonly",  # no PyPI look-ups from the extension manager
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
            command.append("--allow-root")
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, env=env, cwd=self.root_dir, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise TimeoutError(f"JupyterLab did not answer within {timeout} s: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self) -> "JupyterLab":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
