"""Open the hub database: SQLite file by default, PostgreSQL by URL; migrate it to head on open.

store = open_store("results.sqlite")                       # a path -> SQLite file
store = open_store("postgresql+psycopg://u:p@127.0.0.1/hub")
with store.session() as s: ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from filelock import FileLock
from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from crowdperf.errors import HubError, MissingInputError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# seconds a SQLite writer waits for another one (two CLI imports, an upload during an import)
# instead of failing at once with "database is locked"
SQLITE_BUSY_TIMEOUT_S = 60.0
_VERSION_SQL = text("SELECT version FROM hub_version WHERE id = 1")
T = TypeVar("T")


@dataclass
class Store:
    """An open hub database. ``session()`` yields an ORM session that commits on success."""

    url: str
    engine: Engine
    _sessions: sessionmaker[Session]
    _facts: dict[str, tuple[int, Any]] = field(default_factory=dict)  # name -> (write version, value)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def write_version(self) -> int:
        """A number that grows whenever ``results`` changes, in this process or any other (triggers
        bump it: migration 0003). One primary-key read; caches compare it to know they are stale."""
        with self.engine.connect() as conn:
            return int(conn.execute(_VERSION_SQL).scalar_one())

    def cached(self, name: str, compute: Callable[[], T]) -> T:
        """A fact about the whole data set (distinct accelerators, filter values), computed again
        only when the write version moved: any writer, even another process, refreshes it."""
        version = self.write_version()
        hit = self._facts.get(name)
        if hit is None or hit[0] != version:
            hit = self._facts[name] = (version, compute())
        return hit[1]

    def accelerator_names(self) -> tuple[str, ...]:
        """Distinct accelerator names (for pricing)."""

        def compute() -> tuple[str, ...]:
            from crowdperf.hub.models import Result

            with self.session() as s:
                return tuple(n for (n,) in s.execute(select(Result.accelerator).distinct()) if n)

        return self.cached("accelerators", compute)

    def invalidate(self) -> None:
        """Forget cached facts about the data (call after writing results)."""
        self._facts.clear()

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_file(path: Path, *, create: bool) -> None:
    if path.is_dir():
        raise MissingInputError(
            f"hub database {path} is a directory", hint="pass the database file, e.g. hub.sqlite"
        )
    if path.exists():
        return
    if not create:
        raise MissingInputError(
            f"no hub database at {path}",
            hint="check --db (or CROWDPERF_HUB_DB); `crowdperf hub import TREE --db PATH` creates one",
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HubError(f"cannot create the hub database's folder {path.parent}: {exc.strerror}") from exc


def database_url(target: str | Path) -> str:
    """A SQLAlchemy URL from a URL or a file path; ``postgresql://`` means the psycopg 3 driver."""
    text = str(target)
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser().resolve()}"
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (the web app) do not block the importer
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Upgrade the schema to every Alembic head (no-op when already there). Two processes opening
    a new database at once take turns: a file lock beside a SQLite file, an advisory lock on
    PostgreSQL (held until the migration's transaction ends)."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with _migration_lock(engine), engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(7201511)"))  # any fixed number
        if set(MigrationContext.configure(connection).get_current_heads()) == heads:
            return
        config.attributes["connection"] = connection
        # "heads": the web layer's revisions (w001...) branch from 0001 like ours; all branches apply
        command.upgrade(config, "heads")


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with FileLock(f"{database}.migrate.lock", timeout=SQLITE_BUSY_TIMEOUT_S):
        yield


def open_store(target: str | Path, *, create: bool = True) -> Store:
    """Open (and migrate) the database at ``target``: a SQLite path or a SQLAlchemy URL. A writer
    (import, serve, token create) creates a missing SQLite file and its folders; a reader passes
    ``create=False`` and gets a MissingInputError instead: a typo in ``--db`` must not leave an
    empty database behind and answer "0 results"."""
    url = database_url(target)
    if url.startswith("sqlite:///"):
        _sqlite_file(Path(url.removeprefix("sqlite:///")), create=create)
    try:
        sqlite = url.startswith("sqlite")
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S} if sqlite else {})
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise HubError(
            f"cannot use hub database {url!r}: {exc}",
            hint="pass a file path or a postgresql+psycopg://user:pass@host/db URL",
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        migrate(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise HubError(
            f"cannot open hub database {engine.url.render_as_string(hide_password=True)}: "
            f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}",
            hint="check the --db path or URL, that the server runs and the user may connect",
        ) from exc
    return Store(url=url, engine=engine, _sessions=sessionmaker(engine, expire_on_commit=False))
