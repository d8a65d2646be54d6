"""The hub's tables (SQLAlchemy 2 declarative models). Schema changes go through Alembic
(``hub/migrations/versions/``); ``open_store`` upgrades a database to head when it opens it.

    results          one row per (system, model, scenario) of one imported submission tree
    import_failures  a result directory that could not be imported, with the reason (failures are data)
    hub_version      one row: a number that grows whenever ``results`` changes (bumped by triggers,
                     migration 0003), so caches in any process can tell that the data moved on

Units are in the column names: ``*_ms`` milliseconds, ``*_w`` watts, ``*_j_per_sample`` joules,
throughput in samples per second.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Result(Base):
    """One performance result with its accuracy, power, system description and provenance."""

    __tablename__ = "results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # sha256 over the files that make up this result (detail log, accuracy.txt, system and
    # measurement JSON): re-importing the same files is a no-op.
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # see hub/comparison.py: equal keys <=> the numbers may be ranked together.
    comparison_key: Mapped[str] = mapped_column(String(16))
    benchmark: Mapped[str] = mapped_column(String(32), default="mlperf-inference")
    round: Mapped[str] = mapped_column(String(16))
    division: Mapped[str] = mapped_column(String(16))  # closed | open | network
    category: Mapped[str] = mapped_column(String(32))  # edge | datacenter | datacenter,edge
    submitter: Mapped[str] = mapped_column(String(128))
    availability: Mapped[str] = mapped_column(String(16), default="")  # available | preview | rdi
    system_name: Mapped[str] = mapped_column(String(256))
    host_cpu: Mapped[str] = mapped_column(String(256), default="")
    host_cpu_count: Mapped[int | None] = mapped_column(Integer, nullable=True)  # processors, all nodes
    accelerator: Mapped[str] = mapped_column(String(256), default="")  # "" = CPU only
    accelerator_count: Mapped[int] = mapped_column(Integer, default=0)  # all nodes
    software: Mapped[str] = mapped_column(String(512), default="")  # system JSON "framework"
    backend: Mapped[str] = mapped_column(String(64), default="")  # normalized: onnxruntime, tensorrt, ...
    precision: Mapped[str] = mapped_column(String(32), default="")  # weight data type: fp32, int8, ...
    model: Mapped[str] = mapped_column(String(64))
    scenario: Mapped[str] = mapped_column(String(16))
    # the scenario's MLPerf metric (checker RESULT_FIELD_NEW), e.g. samples/s for Offline
    metric: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(32))
    value: Mapped[float] = mapped_column(Float)
    throughput: Mapped[float | None] = mapped_column(Float, nullable=True)  # samples/s
    throughput_per_accelerator: Mapped[float | None] = mapped_column(Float, nullable=True)
    latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)  # the scenario's latency
    latency_p99_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    latency_mean_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    valid: Mapped[bool] = mapped_column(Boolean)  # LoadGen "result_validity" == VALID
    accuracy_metric: Mapped[str | None] = mapped_column(String(32), nullable=True)
    accuracy_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    accuracy_f1: Mapped[float | None] = mapped_column(Float, nullable=True)
    accuracy_exact_match: Mapped[float | None] = mapped_column(Float, nullable=True)
    # mean power over LoadGen's power window, and energy per sample, from the meter named in
    # power_meter: "ptd" (spl.txt: the whole system at the wall, MLPerf's power), a software meter of
    # crowdperf's power.json ("nvml": GPU boards, "rapl": CPU packages and DRAM, or a meter plugin's
    # name), "none" (no figure: power_note says why when a file said), NULL (imported before
    # migration 0004 read power.json). power_scope: "system" (PTD), "devices" or "host" (the
    # role of the software meter). Figures of different meters measure different things.
    power_w: Mapped[float | None] = mapped_column(Float, nullable=True)
    energy_j_per_sample: Mapped[float | None] = mapped_column(Float, nullable=True)
    power_meter: Mapped[str | None] = mapped_column(String(32), nullable=True)
    power_scope: Mapped[str | None] = mapped_column(String(16), nullable=True)
    power_note: Mapped[str | None] = mapped_column(Text, nullable=True)  # what was measured, or why not
    loadgen_version: Mapped[str] = mapped_column(String(32), default="")
    # how crowdperf's SUT fed LoadGen (provenance.json, migration 0005): the batch size queries were
    # cut into, and worker threads per device (0: inline). NULL: not recorded (official results,
    # runs older than crowdperf's session 6, trees generated without provenance.json)
    batch_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sut_workers_per_device: Mapped[int | None] = mapped_column(Integer, nullable=True)
    settings_json: Mapped[str] = mapped_column(Text, default="{}")  # the settings in the comparison key
    system_json: Mapped[str] = mapped_column(Text, default="{}")
    summary_text: Mapped[str] = mapped_column(Text, default="")  # mlperf_log_summary.txt
    command: Mapped[str | None] = mapped_column(Text, nullable=True)  # how to reproduce, when known
    # provenance
    source: Mapped[str] = mapped_column(String(256))
    path: Mapped[str] = mapped_column(String(1024))  # result directory relative to the tree root
    checker_verdict: Mapped[str] = mapped_column(String(16), default="unchecked")  # passed|failed|unchecked
    checker_notes: Mapped[str] = mapped_column(Text, default="")
    uploader: Mapped[str | None] = mapped_column(String(128), nullable=True)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        Index("ix_results_key_throughput", "comparison_key", "throughput"),
        Index("ix_results_model_scenario_round", "model", "scenario", "round"),
        Index("ix_results_accelerator", "accelerator"),
        Index("ix_results_submitter", "submitter"),
        Index("ix_results_throughput", "throughput"),
        Index("ix_results_latency", "latency_ms"),
        Index("ix_results_accuracy", "accuracy_f1"),
        Index("ix_results_source", "source"),
        Index("ix_results_scenario_key", "scenario", "comparison_key"),  # migration 0002 (+ PG sort indexes)
    )


class ImportFailure(Base):
    """A result directory that could not be imported; recorded, never skipped silently."""

    __tablename__ = "import_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(256))
    path: Mapped[str] = mapped_column(String(1024))
    content_hash: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    uploader: Mapped[str | None] = mapped_column(String(128), nullable=True)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("source", "path", "content_hash", name="uq_import_failures_what"),)


class HubVersion(Base):
    """The store's write version (one row, id 1). Never written by the application: triggers on
    ``results`` bump it on every insert, update and delete (migration 0003)."""

    __tablename__ = "hub_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
