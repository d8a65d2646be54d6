"""How ``crowdperf ui`` starts a benchmark: ``python -m crowdperf.hub.web.run_child PARENT run ...``
arranges to be sent SIGTERM when the server (pid PARENT) dies, even by ``kill -9``, then becomes
``python -m crowdperf run ...`` (exec: same pid, so the server's SIGTERM reaches the run itself).

SIGTERM stops a ``crowdperf run`` as Ctrl-C does: its LoadGen child is stopped and the partial
test removed (cli/run.py, mlperf/isolated.py, mlperf/layout.py ``atomic_run_dir``). On Linux the
kernel keeps the request across the exec (``PR_SET_PDEATHSIG``); elsewhere the run outlives a
killed server and ends on its own.
"""

from __future__ import annotations

import os
import signal
import sys

from crowdperf.mlperf.isolated import die_with_parent


def main(argv: list[str]) -> None:
    parent, args = int(argv[0]), argv[1:]
    die_with_parent(parent, signal.SIGTERM)
    os.execv(sys.executable, [sys.executable, "-m", "crowdperf", *args])


if __name__ == "__main__":
    main(sys.argv[1:])
