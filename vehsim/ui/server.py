"""Serve the dashboard notebook with Voila on 127.0.0.1, and stop it cleanly.

Voila starts one kernel per page view. Browsers cannot always tell Voila that a page was closed
(the unload beacon is refused), so idle kernels are culled: the dashboard stops sending updates
a few seconds after its last view disappears, the kernel goes idle, and the server shuts it down
after ``cull_idle_timeout_s``.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from vehsim.errors import VehsimError

log = logging.getLogger(__name__)

DASHBOARD_NOTEBOOK = Path("notebooks") / "dashboard.ipynb"


class DashboardError(VehsimError):
    """The dashboard could not be found, started or reached."""


def find_notebook(path: str | Path | None = None) -> Path:
    """The dashboard notebook: ``path`` if given, else ``notebooks/dashboard.ipynb`` in the
    current directory or in the source tree this package was installed from."""
    if path is not None:
        candidate = Path(path)
        if not candidate.is_file():
            raise DashboardError(f"notebook {candidate} does not exist")
        return candidate.resolve()
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        candidate = base / DASHBOARD_NOTEBOOK
        if candidate.is_file():
            return candidate
    raise DashboardError(
        f"cannot find {DASHBOARD_NOTEBOOK}; run from the project folder or pass --notebook PATH"
    )


def voila_command(
    notebook: Path,
    port: int,
    *,
    cull_idle_timeout_s: int = 120,
    cull_interval_s: int = 30,
) -> list[str]:
    """Command line that serves ``notebook`` on ``127.0.0.1:port`` without opening a browser."""
    return [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        f"--port={port}",
        "--no-browser",
        "--Voila.ip=127.0.0.1",
        "--Voila.port_retries=0",
        "--show_tracebacks=True",
        "--theme=dark",
        f"--MappingKernelManager.cull_idle_timeout={cull_idle_timeout_s}",
        f"--MappingKernelManager.cull_interval={cull_interval_s}",
        "--MappingKernelManager.cull_connected=False",
    ]


class DashboardServer:
    """A Voila process serving the dashboard; a context manager that stops it on exit.

    Args:
        port: TCP port on 127.0.0.1; a free one when omitted.
        notebook: notebook to serve; see :func:`find_notebook`.
        env: environment of the server and its kernels (default: this process's).
        log_path: where Voila's output goes (default: inherited stderr).
    """

    def __init__(
        self,
        port: int | None = None,
        notebook: str | Path | None = None,
        *,
        env: dict[str, str] | None = None,
        log_path: str | Path | None = None,
        cull_idle_timeout_s: int = 120,
        cull_interval_s: int = 30,
    ):
        from vehsim.stream.broker import free_port

        self.notebook = find_notebook(notebook)
        self.port = port or free_port()
        self.env = dict(os.environ if env is None else env)
        self.log_path = Path(log_path) if log_path else None
        self.cull = (cull_idle_timeout_s, cull_interval_s)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, timeout_s: float = 60.0) -> DashboardServer:
        """Start Voila and wait until it answers HTTP."""
        cmd = voila_command(
            self.notebook, self.port, cull_idle_timeout_s=self.cull[0], cull_interval_s=self.cull[1]
        )
        out = self.log_path.open("ab") if self.log_path else None
        try:
            self.proc = subprocess.Popen(
                cmd,
                cwd=self.notebook.parent,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT if out else None,
                start_new_session=True,
            )
        finally:
            if out:
                out.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DashboardError(
                    f"voila exited with code {self.proc.returncode} before answering"
                )
            try:
                with urllib.request.urlopen(self.url + "api/status", timeout=2):
                    return self
            except urllib.error.HTTPError:
                return self  # answering, even if that route is not offered
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise DashboardError(f"voila did not answer on {self.url} within {timeout_s:.0f} s")

    def wait(self) -> int:
        """Block until the server exits; returns its exit code."""
        assert self.proc is not None
        return self.proc.wait()

    def stop(self, timeout_s: float = 15.0) -> None:
        """Ask Voila to shut down (it stops its kernels), then make sure the group is gone."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                log.warning("voila did not stop within %.0f s; killing it", timeout_s)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # kernels left behind, if any
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.proc = None

    def __enter__(self) -> DashboardServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
