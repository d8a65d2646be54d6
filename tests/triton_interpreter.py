"""Triton's interpreter (``TRITON_INTERPRET=1``: kernels run in NumPy on the CPU), mended where
triton 3.6's disagrees with a GPU. tests/conftest.py applies it to the suite's own process where
no GPU is; a child that sets the variable itself calls ``fix_interpreter`` first. Both defects
are the interpreter's, not a kernel's:

- a scalar in the interpreter is a 1-element array and ``range(0, n)`` over one calls
  ``int(array)``, which NumPy >= 2.4 refuses for arrays with a dimension;
- its software float downcast (``_convert_float``) rounds half up without carrying a mantissa
  overflow into the exponent (fp32 125.8 -> e4m3 64, not 128; subnormals truncated), where the
  GPU's ``cvt.rn`` rounds to nearest even. fp32/fp16 -> fp16 and e4m3 go through torch's
  conversions instead (round to nearest even, as the GPU and ``fp8.quantize``).
"""

from __future__ import annotations

from typing import Any


def fix_interpreter() -> None:
    """Install both mends. Cheap (triton's interpreter module only): tests/conftest.py calls it at
    every session's start, so torch is imported at the first conversion, not here."""
    import numpy as np
    import triton.language as tl
    import triton.runtime.interpreter as interp

    patch_tensor = interp._patch_lang_tensor

    def patched(tensor: Any, scope: Any) -> None:
        patch_tensor(tensor, scope)
        scope.set_attr(tensor, "__index__", lambda self: int(self.handle.data.reshape(-1)[0]))

    interp._patch_lang_tensor = patched
    convert = interp._convert_float
    exact = {tl.float16: ("float16", np.uint16), tl.float8e4nv: ("float8_e4m3fn", np.uint8)}
    rtz = interp._ir.ROUNDING_MODE.RTZ

    def convert_float(data: Any, src: Any, dst: Any, rounding: Any) -> Any:
        if src in (tl.float32, tl.float16) and dst in exact and src != dst and rounding != rtz:
            import torch

            name, bits = exact[dst]
            to = getattr(torch, name)
            wide = torch.from_numpy(np.ascontiguousarray(data).astype(np.float32))
            return wide.to(to).view(torch.uint8 if bits == np.uint8 else torch.int16).numpy().view(bits)
        return convert(data, src, dst, rounding)

    interp._convert_float = convert_float
