"""The JIT decorator used by every physics function and the kernel.

Physics functions are plain Python on floats, compiled with Numba so that the fleet kernel can
call them per vehicle at native speed. Set ``VEHSIM_NO_JIT=1`` to run them as pure Python
(debugging, coverage); results are identical because no fast-math is used. Division follows
NumPy's error model (no zero-division checks on the hot path; the physics guards its divisors).

Compiled code is cached on disk. Numba keys a cache entry on the source file of the function it
compiled, not on the functions it inlined or the module constants it froze, so an edit to a
physics module or to the column layout would silently reuse stale machine code. The cache
directory is therefore keyed by a hash of every source the kernel depends on.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]
#: Sources whose content is compiled into the kernel (functions inlined, constants frozen).
_KERNEL_SOURCES = (
    "physics/*.py",
    "kernel.py",
    "layout.py",
    "params.py",
    "constants.py",
)


def _source_hash() -> str:
    digest = hashlib.sha256()
    for pattern in _KERNEL_SOURCES:
        for path in sorted(_PACKAGE.glob(pattern)):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    """Where compiled kernels of this exact source live."""
    root = os.environ.get("VEHSIM_NUMBA_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "vehsim", "numba"
    )
    return Path(root) / _source_hash()


if os.environ.get("VEHSIM_NO_JIT") == "1":

    def jit(fn=None, **_kwargs):
        return fn if fn is not None else (lambda f: f)

else:
    from numba import config as _numba_config
    from numba import njit

    _numba_config.CACHE_DIR = str(cache_dir())

    def jit(fn=None, **kwargs):
        opts = {"cache": True, "fastmath": False, "nogil": True, "error_model": "numpy"}
        opts.update(kwargs)
        return njit(**opts)(fn) if fn is not None else njit(**opts)
