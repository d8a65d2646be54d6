"""Backends by name. Adding one = a module with a ``Backend`` subclass and a line here."""

from __future__ import annotations

import importlib

from crowdperf.backends.base import Backend
from crowdperf.errors import UsageError

_BACKENDS: dict[str, str] = {
    "onnxruntime": "crowdperf.backends.onnxruntime_backend:OnnxRuntimeBackend",
    "pytorch": "crowdperf.backends.pytorch_backend:PyTorchBackend",
}
BACKENDS: tuple[str, ...] = tuple(_BACKENDS)


def get_backend(name: str) -> Backend:
    """A fresh, unloaded backend instance."""
    ref = _BACKENDS.get(name)
    if ref is None:
        raise UsageError(f"unknown backend {name!r}", hint=f"use one of: {', '.join(BACKENDS)}")
    module, _, cls = ref.partition(":")
    return getattr(importlib.import_module(module), cls)()
