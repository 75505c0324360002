"""The README's examples run as written.

The README is parsed when the tests run: every ```bash line and every ```python block becomes a
test case, so an example added later is tested without touching this file. A line is skipped,
with the reason in the test report, when it needs something a test run does not have (a real
Kafka cluster or credentials, a server that runs until Ctrl-C, the whole ``make`` system). The
rest run in a scratch folder that sees the checkout's files (relative paths in the README resolve
as in a fresh clone) and a private ``VEHSIM_HOME``, so what they write stays out of the tree.

The embedded-broker and Spark examples (``vehsim broker``, ``drive``, ``pipeline``) need Java
and the Maven artifacts; they run under the ``integration`` mark.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
README = REPO_ROOT / "README.md"
BIN = Path(sys.executable).parent

#: (pattern on the command line, reason): the first match skips the line.
SKIPS = (
    (r"^export\s", "configures a real Kafka cluster or Event Hubs with credentials"),
    (r"^make\b", "the whole system: `make demo` and `make test` are run by CI as they are"),
    (r"\bjupyter\s+lab\b", "serves JupyterLab until Ctrl-C (tests/notebooks runs the notebooks)"),
    (r"\bvehsim\s+dashboard\b", "serves until Ctrl-C (tests/ui drives it in a browser)"),
    (r"\bvehsim\s+mlflow-ui\b", "serves until Ctrl-C (tests/experiments starts it on loopback)"),
    (r"--driver\s+commands\b", "obeys the commands topic until Ctrl-C"),
    (r"\bvehsim\s+pipeline\s+bronze\s*$", "streams until Ctrl-C"),
)
#: Lines that start, use or stop the embedded broker or Spark.
_INTEGRATION = re.compile(r"\bvehsim\s+(broker|drive|pipeline)\b")
#: Known README errors waiting for the README rewrite: (pattern, reason). Expected to fail.
KNOWN_BROKEN: tuple[tuple[str, str], ...] = ()
#: Per-line limit [s]: the slowest example (validate on 45 test cars, a fleet drive) fits.
TIMEOUT_S = 900


@dataclass(frozen=True)
class Example:
    line: int  # line of the README where the example starts
    kind: str  # "bash" or "python"
    text: str

    @property
    def id(self) -> str:
        words = self.text.split("#", 1)[0].split() if self.kind == "bash" else ["python"]
        return f"L{self.line}-" + "-".join(w.split("=", 1)[0][:24] for w in words[:3])


def readme_examples(text: str) -> list[Example]:
    """Every command line of the ```bash blocks and every ```python block, in order."""
    examples: list[Example] = []
    fence = re.compile(r"^```(\w*)\s*$")
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = fence.match(lines[i])
        if not m:
            i += 1
            continue
        kind, start = m.group(1), i + 1
        j = start
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        body = lines[start:j]
        if kind in ("bash", "sh", "shell", "console"):
            pending, first = "", None
            for k, raw in enumerate(body):
                if not raw.strip() or raw.lstrip().startswith("#"):
                    continue
                first = first if pending else start + k + 1
                if raw.rstrip().endswith("\\"):
                    pending += raw.rstrip()[:-1] + " "
                    continue
                examples.append(Example(first, "bash", (pending + raw).strip()))
                pending = ""
        elif kind == "python":
            examples.append(Example(start + 1, "python", "\n".join(body)))
        i = j + 1
    return examples


def skip_reason(example: Example) -> str | None:
    if example.kind != "bash":
        return None
    command = example.text.split(" #", 1)[0].strip()
    for pattern, reason in SKIPS:
        if re.search(pattern, command):
            return reason
    return None


def _argv(command: str) -> list[str]:
    argv = shlex.split(command, comments=True)
    head = argv[0]
    if head.startswith(".venv/bin/"):
        head = head[len(".venv/bin/") :]
    if (BIN / head).exists():
        argv[0] = str(BIN / head)
    return argv


@pytest.fixture
def clone(tmp_path) -> Path:
    """A scratch folder whose entries link to the checkout's (what a fresh clone shows)."""
    work = tmp_path / "clone"
    work.mkdir()
    for entry in REPO_ROOT.iterdir():
        if entry.name.startswith(".") and entry.name != ".jars":
            continue
        (work / entry.name).symlink_to(entry)
    return work


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEHSIM_", "MLFLOW_"))}
    env["VEHSIM_HOME"] = str(tmp_path / "vehsim-home")
    env["VEHSIM_JARS_DIR"] = os.environ.get("VEHSIM_JARS_DIR", str(REPO_ROOT / ".jars"))
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["MPLBACKEND"] = "Agg"
    return env


def _run(example: Example, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    if example.kind == "python":
        # -P: import vehsim from the installed checkout, not through the scratch folder's links;
        # Numba keys its on-disk cache by the source path, and a second path compiles again.
        argv = [sys.executable, "-P", "-c", example.text]
    else:
        argv = _argv(example.text)
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)


def _check(example: Example, proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, (
        f"README line {example.line}: {example.text!r} exited {proc.returncode}\n"
        f"{proc.stderr[-3000:]}"
    )


def _params(integration: bool):
    params = []
    for example in readme_examples(README.read_text()):
        if example.kind == "bash" and bool(_INTEGRATION.search(example.text)) != integration:
            continue
        if example.kind == "python" and integration:
            continue
        marks = []
        reason = skip_reason(example)
        if reason:
            marks.append(pytest.mark.skip(reason=reason))
        for pattern, why in KNOWN_BROKEN:
            if re.search(pattern, example.text):
                marks.append(pytest.mark.xfail(reason=f"README: {why}", strict=False))
        params.append(pytest.param(example, id=example.id, marks=marks))
    return params


def test_readme_has_examples():
    examples = readme_examples(README.read_text())
    assert any(e.kind == "bash" and "vehsim simulate" in e.text for e in examples)


@pytest.mark.slow
@pytest.mark.parametrize("example", _params(integration=False))
def test_readme_example_runs(example, clone, tmp_path):
    _check(example, _run(example, clone, _env(tmp_path)))


@pytest.mark.integration
@pytest.mark.slow
def test_readme_broker_and_lake_examples_run_in_order(clone, tmp_path):
    """The broker, drive and pipeline lines, in README order, in one ``VEHSIM_HOME``; the broker
    is stopped at the end whatever happened."""
    pytest.importorskip("kafka", reason="needs the [stream] extra")
    pytest.importorskip("pyspark", reason="needs the [spark] extra")
    env = _env(tmp_path)
    # Each section assumes the broker runs (the Kafka section ends by stopping it): the broker is
    # stopped once, at the end.
    examples = [
        p.values[0]
        for p in _params(integration=True)
        if not p.marks and not re.search(r"\bvehsim\s+broker\s+stop\b", p.values[0].text)
    ]
    if not examples:
        pytest.skip("the README has no broker, drive or pipeline example to run")
    try:
        for example in examples:
            _check(example, _run(example, clone, env))
    finally:
        subprocess.run(
            [str(BIN / "vehsim"), "broker", "stop"],
            cwd=clone,
            env=env,
            capture_output=True,
            timeout=120,
        )
