"""``vehsim dashboard``: registered as a plug-in, bad input exits 2 with a clear message."""

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
