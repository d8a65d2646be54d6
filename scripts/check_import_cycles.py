"""No module of crowdperf imports itself back through others (file-level import cycles), and
every source folder is a package, so the layer contract (pyproject.toml [tool.importlinter]) and
this check see every module: a folder without ``__init__.py`` is invisible to both.

    .venv/bin/python scripts/check_import_cycles.py      # run by scripts/test.sh

Imports inside functions count: a lazy import hides a cycle from Python's import order, not from
the design. grimp is import-linter's own graph builder.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grimp

PACKAGE = "crowdperf"
SRC = Path(__file__).resolve().parent.parent / "src" / PACKAGE


def folders_without_init(root: Path) -> list[Path]:
    """Folders holding Python files but no ``__init__.py`` (namespace packages grimp skips)."""
    return sorted(
        d
        for d in [root, *root.rglob("*")]
        if d.is_dir() and any(d.glob("*.py")) and not (d / "__init__.py").exists()
    )


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    adjacency = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in adjacency:
        if root in order:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                order[node] = low[node] = len(order)
                stack.append(node)
                on_stack.add(node)
            edges = adjacency[node]
            if i < len(edges):
                work.append((node, i + 1))
                nxt = edges[i]
                if nxt not in order:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], order[nxt])
                continue
            if work:  # returning to the caller: pass the low link up
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == order[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def main() -> int:
    missing = folders_without_init(SRC)
    for folder in missing:
        print(f"error: {folder} holds Python files but no __init__.py (the layer contract cannot see it)")
    cycles = import_cycles(grimp.build_graph(PACKAGE))
    for group in cycles:
        print("error: import cycle among " + ", ".join(group))
    if missing or cycles:
        return 1
    print(f"import cycles: none among {PACKAGE}'s modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
