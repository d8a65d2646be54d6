"""The results hub: a database of MLPerf results (ours and official), importers, and one query layer.

store.py        open_store(url_or_path) -> Store (SQLite default, PostgreSQL by URL; Alembic on open;
                write_version(): grows with every change of results, in any process)
models.py       tables: Result, ImportFailure, HubVersion
comparison.py   the comparison key (which numbers may be ranked together)
prices.py       price table -> cost per million samples
query_types.py  typed filters and answers (frozen dataclasses), to_jsonable()
queries.py      list_results, get_result, compare_results, pareto_front, best_configurations
pareto_arrays.py  pareto_front's candidate fetch (no Row per candidate), front mask, label fetch
importer.py     import_tree(store, path_or_git_url) -> ImportReport
import_writer.py  the importer's inserts: ON CONFLICT DO NOTHING RETURNING, row-by-row on refusal
row_checks.py   what may be stored: finite plausible numbers, text without NUL within its length
"""
