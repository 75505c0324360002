"""Serve the dashboard notebook with Voila (127.0.0.1 by default), locked down, and stop it.

Voila starts one kernel per page view. Browsers cannot always tell Voila that a page was closed
(the unload beacon is refused), so idle kernels are culled: the dashboard stops sending updates
a few seconds after its last view disappears, the kernel goes idle, and the server shuts it down
after ``cull_idle_timeout_s``.

The page drives a car, so the server guards it (see ``docs/ui.md``, "Security"):

- **Host and Origin** must name the address the server is bound to (or ``localhost`` on
  loopback, or a name given with ``allow_hosts``); anything else gets 403. This stops DNS
  rebinding: a web page whose name resolves to 127.0.0.1 still sends its own name as Host.
  Voila sets Jupyter's ``allow_remote_access`` and Jupyter's own check knows loopback only, so
  the server runs Voila through :func:`_serve`, which installs this check on every Jupyter
  handler (page, kernel API, kernel websocket).
- **Token**: optional on loopback, generated when binding anything else; handed to Voila through
  the environment (not the command line, which other local users can read), never to kernels.
- **At most** ``max_kernels`` kernels: a page view beyond that gets 503 instead of another
  ~66 MiB kernel.
- **No tracebacks** in the browser (``show_tracebacks`` off); they go to the server's log.

The page is rendered with the ``vehsim`` Voila template (``vehsim/ui/jupyter/voila/templates``),
Voila's lab template without its links to a CDN, so the page fetches nothing from another host.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from vehsim.errors import VehsimError
from vehsim.stream.broker import free_port

log = logging.getLogger(__name__)

DASHBOARD_NOTEBOOK = Path("notebooks") / "dashboard.ipynb"
#: The Jupyter data directory holding the ``vehsim`` Voila template (put first on
#: ``JUPYTER_PATH`` in the Voila process).
JUPYTER_DATA_DIR = Path(__file__).resolve().parent / "jupyter"
#: Voila template of the dashboard page: Voila's ``lab`` with nothing fetched from a CDN.
VOILA_TEMPLATE = "vehsim"
LOOPBACK = "127.0.0.1"
#: Kernels (page views) served at once by default; each costs ~66 MiB.
DEFAULT_MAX_KERNELS = 8
# Handed from DashboardServer to _serve in the environment, removed before kernels start.
_HOSTS_ENV = "VEHSIM_DASHBOARD_HOST_POLICY"
_TOKEN_ENV = "VEHSIM_DASHBOARD_TOKEN"


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


def is_loopback(ip: str) -> bool:
    """True when ``ip`` is a loopback address (``127.0.0.0/8``, ``::1``)."""
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return ip == "localhost"


def host_policy(ip: str, allow_hosts: Iterable[str] = ()) -> dict[str, Any]:
    """What Host/Origin a server bound to ``ip`` accepts: that address (any address for a
    wildcard bind), ``localhost`` and other loopback addresses on loopback, and the names in
    ``allow_hosts`` (e.g. the machine's name when binding a LAN address)."""
    address = ipaddress.ip_address(ip)
    names = {h.lower().rstrip(".") for h in allow_hosts}
    if address.is_loopback:
        names.add("localhost")
    return {
        "addresses": [str(address)],
        "any_address": address.is_unspecified,
        "loopback": address.is_loopback,
        "names": sorted(names),
    }


def host_allowed(host: str | None, policy: Mapping[str, Any]) -> bool:
    """Whether a ``Host`` header value (``name``, ``name:port``, ``[v6]:port``) is accepted."""
    if not host:
        return False
    host = host.strip().lower()
    if host.startswith("["):
        name = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        name = host.split(":", 1)[0]
    else:
        name = host  # a bare IPv6 address or a plain name
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return name.rstrip(".") in policy["names"]
    if policy["any_address"]:
        return True
    if policy["loopback"] and address.is_loopback:
        return True
    return str(address) in policy["addresses"]


def origin_allowed(origin: str | None, policy: Mapping[str, Any]) -> bool:
    """Whether an ``Origin`` header is accepted: absent (not a cross-site request) or naming an
    accepted host. ``null`` (sandboxed frames, files) is refused."""
    if origin is None:
        return True
    netloc = urllib.parse.urlsplit(origin.strip()).netloc
    return bool(netloc) and host_allowed(netloc, policy)


def voila_command(
    notebook: Path,
    port: int,
    *,
    ip: str = LOOPBACK,
    cull_idle_timeout_s: int = 120,
    cull_interval_s: int = 30,
    max_kernels: int = DEFAULT_MAX_KERNELS,
) -> list[str]:
    """Command line that serves ``notebook`` on ``ip:port`` without opening a browser, through
    :func:`_serve` (Host/Origin check, token from the environment, capped kernels)."""
    return [
        sys.executable,
        "-m",
        "vehsim.ui.server",
        str(notebook),
        f"--port={port}",
        "--no-browser",
        f"--Voila.ip={ip}",
        "--Voila.port_retries=0",
        "--show_tracebacks=False",
        f"--template={VOILA_TEMPLATE}",
        "--theme=dark",
        f"--MappingKernelManager.cull_idle_timeout={cull_idle_timeout_s}",
        f"--MappingKernelManager.cull_interval={cull_interval_s}",
        "--MappingKernelManager.cull_connected=False",
        "--VoilaConfiguration.multi_kernel_manager_class=vehsim.ui.server.CappedKernelManager",
        f"--CappedKernelManager.max_kernels={max_kernels}",
    ]


class DashboardServer:
    """A Voila process serving the dashboard; a context manager that stops it on exit.

    Args:
        port: TCP port; a free one when omitted.
        notebook: notebook to serve; see :func:`find_notebook`.
        env: environment of the server and its kernels (default: this process's).
        log_path: where Voila's output goes (default: inherited stderr).
        ip: address to bind (default 127.0.0.1); ``0.0.0.0`` for every interface.
        token: required in the first request (``?token=``); ``None``: none on loopback, a new
            random one on any other address; ``""``: none at all (only allowed on loopback).
        allow_hosts: host names (besides the bound address) a browser may use to reach it.
        max_kernels: page views served at once.
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
        ip: str = LOOPBACK,
        token: str | None = None,
        allow_hosts: Iterable[str] = (),
        max_kernels: int = DEFAULT_MAX_KERNELS,
    ):
        try:
            self.policy = host_policy(ip, allow_hosts)
        except ValueError:
            raise DashboardError(f"--ip must be an IP address, got {ip!r}") from None
        if token is None:
            token = "" if is_loopback(ip) else secrets.token_urlsafe(24)
        if not token and not is_loopback(ip):
            raise DashboardError(f"a dashboard on {ip} (not loopback) needs a token")
        if max_kernels < 1:
            raise DashboardError(f"max_kernels must be >= 1, got {max_kernels}")
        self.ip = ip
        self.token = token
        self.max_kernels = max_kernels
        self.notebook = find_notebook(notebook)
        self.port = port or free_port()
        self.env = dict(os.environ if env is None else env)
        self.log_path = Path(log_path) if log_path else None
        self.cull = (cull_idle_timeout_s, cull_interval_s)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """Address of the page; with the token when there is one."""
        host = LOOPBACK if self.policy["any_address"] else self.ip
        if ":" in host:
            host = f"[{host}]"
        query = f"?token={self.token}" if self.token else ""
        return f"http://{host}:{self.port}/{query}"

    def start(self, timeout_s: float = 60.0) -> DashboardServer:
        """Start Voila and wait until it answers HTTP."""
        cmd = voila_command(
            self.notebook,
            self.port,
            ip=self.ip,
            cull_idle_timeout_s=self.cull[0],
            cull_interval_s=self.cull[1],
            max_kernels=self.max_kernels,
        )
        env = dict(self.env)
        env[_HOSTS_ENV] = json.dumps(self.policy)
        env[_TOKEN_ENV] = self.token
        out = self.log_path.open("ab") if self.log_path else None
        try:
            self.proc = subprocess.Popen(
                cmd,
                cwd=self.notebook.parent,
                env=env,
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
                status = self.url.split("?")[0] + "api/status"
                with urllib.request.urlopen(status, timeout=2):
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


# In the Voila process ---------------------------------------------------------------------------
def _capped_kernel_manager_class():
    """``CappedKernelManager``: Jupyter's kernel manager with a limit on running kernels."""
    # Jupyter Server, tornado and Voila (the [ui] extra) load only in the Voila process
    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
    from tornado import web
    from traitlets import Integer

    class CappedKernelManager(AsyncMappingKernelManager):
        """Refuses to start a kernel (HTTP 503) while ``max_kernels`` run or are starting."""

        max_kernels = Integer(DEFAULT_MAX_KERNELS, config=True, help="Kernels at most.")

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self._starting = 0

        async def start_kernel(self, *args, **kwargs):
            if kwargs.get("kernel_id") is None:
                if len(self.list_kernel_ids()) + self._starting >= self.max_kernels:
                    self.log.warning("refusing a kernel: %d run already", self.max_kernels)
                    raise web.HTTPError(
                        503, f"the dashboard serves {self.max_kernels} views at once; try later"
                    )
            self._starting += 1
            try:
                return await super().start_kernel(*args, **kwargs)
            finally:
                self._starting -= 1

    return CappedKernelManager


def __getattr__(name: str):
    # Voila imports the kernel manager by name; Jupyter is imported only in the Voila process.
    if name == "CappedKernelManager":
        cls = _capped_kernel_manager_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _install_host_check(policy: Mapping[str, Any]) -> None:
    """Make every Jupyter handler answer 403 unless Host and Origin pass :func:`host_allowed`."""
    from jupyter_server.base.handlers import JupyterHandler

    def check_host(handler) -> bool:
        host = handler.request.host
        origin = handler.request.headers.get("Origin")
        if host_allowed(host, policy) and origin_allowed(origin, policy):
            return True
        handler.log.warning("refused a request with Host %r, Origin %r", host, origin)
        return False

    JupyterHandler.check_host = check_host


def _serve(argv: list[str]) -> None:
    """Run Voila with the Host/Origin check and the token taken from the environment.

    Both are removed from the environment first, so kernels started by Voila never see them.
    """
    policy = json.loads(os.environ.pop(_HOSTS_ENV, "null")) or host_policy(LOOPBACK)
    token = os.environ.pop(_TOKEN_ENV, "")
    # Voila looks its templates up on the Jupyter data path when it starts (below).
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(JUPYTER_DATA_DIR), os.environ.get("JUPYTER_PATH")) if p
    )
    _install_host_check(policy)
    from voila.app import main as voila_main

    sys.argv = ["voila", *argv, f"--token={token}"]
    voila_main()


if __name__ == "__main__":
    _serve(sys.argv[1:])
