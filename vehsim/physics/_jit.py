"""The JIT decorator used by every physics function.

Physics functions are plain Python on floats, compiled with Numba so that the fleet kernel can
call them per vehicle at native speed. Set ``VEHSIM_NO_JIT=1`` to run them as pure Python
(debugging, coverage); results are identical because no fast-math is used.
"""

import os

if os.environ.get("VEHSIM_NO_JIT") == "1":

    def jit(fn=None, **_kwargs):
        return fn if fn is not None else (lambda f: f)

else:
    from numba import njit

    def jit(fn=None, **kwargs):
        opts = {"cache": True, "fastmath": False, "nogil": True}
        opts.update(kwargs)
        return njit(**opts)(fn) if fn is not None else njit(**opts)
