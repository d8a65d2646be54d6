"""crowdperf: crowd-benchmarking of ML inference (MLPerf Inference BERT)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("crowdperf")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.1.0"

__all__ = ["__version__"]
