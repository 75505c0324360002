"""Nothing the project or its tests start reaches beyond 127.0.0.1 (issue 12, finding 8).

Azurite sends usage telemetry to Azure Application Insights on every start unless it is given
``--disableTelemetry``; every place that starts it must pass the flag.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
AZURITE = REPO / "node_modules" / ".bin" / "azurite-blob"
_SOURCES = ("vehsim", "pipelines", "experiments", "benchmarks", "tests", "notebooks", ".ci")


def _files_that_start_azurite() -> list[Path]:
    found = []
    candidates = [REPO / "Makefile"]
    for folder in _SOURCES:
        if (REPO / folder).is_dir():
            candidates += [p for p in (REPO / folder).rglob("*") if p.is_file()]
    for path in candidates:
        if path.suffix not in ("", ".py", ".sh", ".ipynb", ".mk") and path.name != "Makefile":
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        # an azurite command line: its listening options appear where it is started
        if re.search(r"--(blob|queue|table)Host", text) and path != Path(__file__):
            found.append(path)
    return found


def test_every_azurite_start_disables_its_telemetry():
    starts = _files_that_start_azurite()
    assert starts, "no place starts Azurite any more: update this test"
    for path in starts:
        assert "--disableTelemetry" in path.read_text(encoding="utf-8"), path


@pytest.mark.integration
def test_azurite_with_the_flag_does_not_start_its_telemetry_client(tmp_path):
    if not AZURITE.exists():
        pytest.skip("Azurite is not installed: run 'make system-deps'")
    from vehsim.stream.broker import free_port

    debug_log = tmp_path / "azurite-debug.log"
    port = free_port()
    proc = subprocess.Popen(
        [str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", str(port),
         "--inMemoryPersistence", "--silent", "--disableTelemetry", "--debug", str(debug_log)],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while "successfully listens on" not in _read(debug_log):
            assert proc.poll() is None and time.monotonic() < deadline, _read(debug_log)[-2000:]
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(10)
    log_text = _read(debug_log)
    assert "enableTelemetry: false" in log_text
    assert "applicationinsights" not in log_text.lower()
    assert not (tmp_path / "AzuriteConfig").exists()  # the telemetry client's instance id file


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
