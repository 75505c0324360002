"""What the command line tells a person while it works: the one-off kernel compile, progress bars.

Everything here writes to stderr, so stdout stays the command's result (JSON or a table).
Progress is shown only on a terminal and never with ``--quiet``; a pipe or a CI log gets the
result alone.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")

#: Wall time of the first compile of the kernel (Numba, all physics inlined) [s]: 24 s on the
#: project's 2-core machines, where an empty cache was timed.
KERNEL_COMPILE_S = 25


def interactive(quiet: bool = False, stream=None) -> bool:
    """Whether progress is worth showing: not ``quiet`` and ``stream`` (stderr) is a terminal."""
    stream = sys.stderr if stream is None else stream
    if quiet:
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def kernel_cache_dir() -> Path | None:
    """Where the compiled kernel of this source lives, or ``None`` when the JIT is off.

    Numba writes one index file (``.nbi``) per compiled function under the directory that
    :func:`vehsim.physics._jit.cache_dir` derives from a hash of the kernel's sources.
    """
    if os.environ.get("VEHSIM_NO_JIT") == "1":
        return None
    from vehsim.physics._jit import cache_dir  # loads Numba: only when asked

    return cache_dir()


def kernel_is_compiled() -> bool:
    """True when compiled kernel code for the current sources is cached on disk (or no JIT)."""
    root = kernel_cache_dir()
    if root is None:
        return True
    return root.is_dir() and any(root.glob("*/kernel.*.nbi"))


def announce_kernel_compile(quiet: bool = False) -> bool:
    """Say, before the first simulation, that the kernel compiles once; True if it was said.

    Said even when stderr is not a terminal (a CI log is read by a person too), never with
    ``--quiet``.
    """
    if quiet or kernel_is_compiled():
        return False
    print(
        f"compiling the simulation kernel once, ~{KERNEL_COMPILE_S} s "
        "(later runs start at once) ...",
        file=sys.stderr,
        flush=True,
    )
    return True


def progress(
    items: Iterable[T], *, total: int | None = None, desc: str = "", quiet: bool = False
) -> Iterable[T]:
    """``items`` wrapped in a tqdm bar on stderr when :func:`interactive`, else unchanged."""
    if not interactive(quiet):
        return items
    return tqdm(items, total=total, desc=desc, unit="step", leave=False, file=sys.stderr)


def progress_bar(total: int, *, desc: str = "", unit: str = "step", quiet: bool = False):
    """A tqdm bar to ``update()`` by hand; disabled (a no-op object) when not interactive."""
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        leave=False,
        file=sys.stderr,
        disable=not interactive(quiet),
    )


def announce_font_cache(quiet: bool = False) -> bool:
    """Say that matplotlib builds its font cache (first plot on a machine, ~10 s); True if said."""
    if quiet:
        return False
    import matplotlib  # ~0.3 s: loaded only when a plot is about to be drawn

    if any(Path(matplotlib.get_cachedir()).glob("fontlist-*.json")):
        return False
    print("building matplotlib's font cache once ...", file=sys.stderr, flush=True)
    return True
