"""``crowdperf explore``: search a design space (backends x devices x precisions x batch sizes x
threads x ...) for the best stack, resumably, on one machine or across a Ray cluster.

    space.py        axes (from the registries and RunSpec), points, the space
    space_file.py   YAML/TOML space files, durations, precedence
    journal.py      the append-only, fsync'd journal; state.py: its replay (status, resume)
    pareto.py       objectives, epsilon-dominance, fronts, promotion
    steps.py        one screening group or one point's full runs, wherever it runs
    executors.py    local; ray_executor.py: Ray tasks (``crowdperf[ray]``, imported on use)
    search.py       the driver: rounds of screen -> decide -> finals within the budget
    hub_sink.py     finished points into the hub; the hub's front and winner for the report
    session.py      the library entry points the CLI calls: run, status, report

Sits above ``hub`` (it imports finished points and asks the hub's queries) and below ``cli``.
docs/explore.md has the search, the journal and the cluster set-up.
"""
