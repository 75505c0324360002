"""``vehsim dashboard``: registered as a plug-in, bad input exits 2 with a clear message."""

import os

import pytest

from vehsim.cli import build_parser, main
from vehsim.ui.server import voila_command


def test_dashboard_is_a_registered_subcommand():
    args = build_parser().parse_args(["dashboard", "--port", "8899"])
    assert args.command == "dashboard" and args.port == 8899


def test_missing_notebook_is_a_clear_error(vehsim_env, tmp_path, capsys):
    assert main(["dashboard", "--notebook", str(tmp_path / "nope.ipynb")]) == 2
    assert "nope.ipynb does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("port", ["0", "70000"])
def test_out_of_range_port_is_refused(vehsim_env, port, capsys):
    assert main(["dashboard", "--port", port]) == 2
    assert "--port must be from 1 to 65535" in capsys.readouterr().err


def test_voila_serves_on_loopback_with_kernel_culling(tmp_path):
    cmd = voila_command(tmp_path / "d.ipynb", 8123, cull_idle_timeout_s=60, cull_interval_s=15)
    assert "--Voila.ip=127.0.0.1" in cmd and "--port=8123" in cmd and "--no-browser" in cmd
    assert "--MappingKernelManager.cull_idle_timeout=60" in cmd
    assert "--MappingKernelManager.cull_interval=15" in cmd
    assert "--Voila.port_retries=0" in cmd


def test_voila_runs_locked_down(tmp_path):
    """Issue 12, finding 7: through the launcher that checks Host/Origin, tracebacks hidden,
    kernels capped, no token on the command line (other users can read it)."""
    cmd = voila_command(tmp_path / "d.ipynb", 8123, max_kernels=3)
    assert cmd[1:3] == ["-m", "vehsim.ui.server"]
    assert "--show_tracebacks=False" in cmd and "--show_tracebacks=True" not in cmd
    assert "--CappedKernelManager.max_kernels=3" in cmd
    assert not any("token" in part for part in cmd)


def test_host_and_origin_must_name_the_bound_address():
    from vehsim.ui.server import host_allowed, host_policy, origin_allowed

    loopback = host_policy("127.0.0.1")
    for ok in ("127.0.0.1:8866", "localhost:8866", "LOCALHOST", "[::1]:8866", "127.0.0.1"):
        assert host_allowed(ok, loopback), ok
    for bad in ("evil.example:8866", "127.0.0.1.nip.io:8866", "10.0.0.5:8866", "", None,
                "localhost.evil.example"):  # fmt: skip
        assert not host_allowed(bad, loopback), bad
    assert origin_allowed(None, loopback) and origin_allowed("http://localhost:8866", loopback)
    assert not origin_allowed("http://evil.example:8866", loopback)
    assert not origin_allowed("null", loopback)
    lan = host_policy("192.168.1.5", allow_hosts=["carlab.local"])
    assert host_allowed("192.168.1.5:8866", lan) and host_allowed("carlab.local:8866", lan)
    assert not host_allowed("127.0.0.1:8866", lan) and not host_allowed("localhost", lan)
    assert not host_allowed("evil.example", lan)
    everywhere = host_policy("0.0.0.0")
    assert host_allowed("10.1.2.3:8866", everywhere) and not host_allowed(
        "evil.example", everywhere
    )


def test_a_token_is_on_by_default_off_loopback(tmp_path):
    from vehsim.ui.server import DashboardError, DashboardServer

    notebook = tmp_path / "d.ipynb"
    notebook.write_text("{}")
    assert DashboardServer(8123, notebook).token == ""
    remote = DashboardServer(8123, notebook, ip="0.0.0.0")
    assert len(remote.token) >= 24 and remote.url.endswith(f"?token={remote.token}")
    with pytest.raises(DashboardError, match="needs a token"):
        DashboardServer(8123, notebook, ip="192.168.1.5", token="")
    with pytest.raises(DashboardError, match="must be an IP address"):
        DashboardServer(8123, notebook, ip="example.com")


def _get(port: int, path: str, host: str, origin: str | None = None, timeout: float = 90):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Host": host}
    if origin is not None:
        headers["Origin"] = origin
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


@pytest.mark.integration
def test_dashboard_refuses_foreign_hosts_wants_its_token_and_caps_kernels(vehsim_env, tmp_path):
    from vehsim.ui.server import DashboardServer

    token = "t0k3n-for-this-test"
    with DashboardServer(
        token=token, max_kernels=1, log_path=tmp_path / "voila.log", env=dict(os.environ)
    ) as server:
        port, own = server.port, f"127.0.0.1:{server.port}"
        # DNS rebinding: the attacker's name resolves to 127.0.0.1, the browser sends that name
        for path in ("/", f"/?token={token}", "/api/kernels", "/api/status"):
            status, _ = _get(port, path, f"rebind.evil.example:{port}")
            assert status == 403, path
        status, _ = _get(port, f"/?token={token}", own, origin=f"http://evil.example:{port}")
        assert status == 403
        status, _ = _get(port, "/", own)  # no token: no page, no kernel
        assert status in (302, 401, 403)
        status, page = _get(port, f"/?token={token}", own)
        assert status == 200 and "application/vnd.jupyter.widget-view+json" in page
        status, page = _get(port, f"/?token={token}", f"localhost:{port}")
        assert status == 503, page[:500]  # the second view would be a second kernel
        assert "Traceback" not in page
    log_text = (tmp_path / "voila.log").read_text()
    assert "refused a request with Host 'rebind.evil.example" in log_text


@pytest.mark.integration
def test_dashboard_serves_on_loopback_and_shuts_down_with_its_kernels(vehsim_env):
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    psutil = pytest.importorskip("psutil")
    from vehsim.stream.broker import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vehsim.cli", "dashboard", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline, page = time.monotonic() + 90, None
        while page is None and time.monotonic() < deadline:
            try:  # the first page view executes the notebook in a new kernel
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60) as response:
                    page = response.read().decode()
            except OSError:
                time.sleep(0.3)
        assert page is not None and "application/vnd.jupyter.widget-view+json" in page
        family = psutil.Process(proc.pid).children(recursive=True)
        assert any("ipykernel" in " ".join(p.cmdline()) for p in family)  # a kernel is running
        listening = {
            c.laddr.ip
            for c in psutil.net_connections("tcp")
            if c.laddr.port == port and c.status == "LISTEN"
        }
        assert listening == {"127.0.0.1"}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        _, alive = psutil.wait_procs(family, timeout=15)
        assert not alive, f"left behind: {[p.cmdline() for p in alive]}"
    finally:
        if proc.poll() is None:  # the test failed early: let the CLI stop Voila, then insist
            leftovers = psutil.Process(proc.pid).children(recursive=True)
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            for process in psutil.wait_procs(leftovers, timeout=10)[1]:
                process.kill()
    assert "127.0.0.1" in proc.stderr.read()
