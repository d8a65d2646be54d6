"""Backends by name, through the ``crowdperf.backends`` entry-point group (``crowdperf.plugins``).

Adding one = a module with a ``Backend`` subclass and an entry point naming it, in crowdperf's
pyproject.toml or in any installed package's::

    [project.entry-points."crowdperf.backends"]
    mybackend = "my_package.backend:MyBackend"

then ``pip install -e .`` (entry points are package metadata). ``--backend`` accepts, and lists,
whatever is installed.
"""

from __future__ import annotations

from crowdperf import plugins
from crowdperf.backends.base import Backend
from crowdperf.errors import BackendError


def backend_names() -> tuple[str, ...]:
    """Every backend name ``--backend`` accepts."""
    return plugins.names(plugins.BACKENDS)


def register_backend(name: str, ref: str) -> None:
    """Register (or replace) a backend class for this process (tests), as ``"module:Class"``."""
    plugins.register(plugins.BACKENDS, name, ref)


def unregister_backend(name: str) -> None:
    plugins.unregister(plugins.BACKENDS, name)


def get_backend(name: str) -> Backend:
    """A fresh, unloaded backend instance; a UsageError naming the known backends for an unknown
    name."""
    cls = plugins.load(plugins.BACKENDS, name)
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise BackendError(
            f"backend {name!r} ({plugins.ref_of(plugins.BACKENDS, name)}) is not a Backend class",
            hint="a crowdperf.backends entry point names a subclass of crowdperf.backends.base.Backend",
        )
    return cls()
