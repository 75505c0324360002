"""Run every benchmark script in this folder, one after another, and collect their JSON lines.

Each ``bench_*.py`` measures its figures against a baseline in the same run and ends with one
JSON line; this prints them together at the end. Nothing is asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if any(n in s.stem for n in names)]
    results: dict[str, object] = {}
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
        print(proc.stdout, end="", flush=True)
        print(f"   ({time.perf_counter() - t0:.0f} s)", flush=True)
        if proc.returncode != 0:
            failed.append(script.name)
            continue
        lines = [x for x in proc.stdout.strip().splitlines() if x.startswith("{")]
        if lines:
            results[script.stem] = json.loads(lines[-1])
    print(json.dumps(results, indent=1))
    if failed:
        print(f"failed: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
