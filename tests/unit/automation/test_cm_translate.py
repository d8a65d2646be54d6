"""Every command of the seed's CM flow, translated to crowdperf's own command line."""

from __future__ import annotations

import shlex

import pytest

from crowdperf.automation.cm_syntax import parse_cm
from crowdperf.automation.cm_translate import plan, translate
from crowdperf.errors import UsageError

APP = (
    "run script --tags=generate-run-cmds,inference,{v} --model=bert-99 --implementation=reference "
    "--device=cuda --backend=onnxruntime --quiet"
)


def t(command: str) -> list[str]:
    return translate(shlex.split(command))


@pytest.mark.parametrize(
    ("cm", "native"),
    [
        ('run script "get cuda" --out=json', "get --tags get,cuda --json"),
        ('run script "get cuda-devices"', "get --tags get,cuda-devices"),
        ('run script "get sys-utils-cm" --quiet', "get --tags get,sys-utils-cm"),
        (
            'run script "get cudnn" --tar_file=/d/cudnn.tar.xz',
            "get --tags get,cudnn --tar-file /d/cudnn.tar.xz",
        ),
        (
            'run script "get tensorrt _dev" --tar_file=/d/t.tgz',
            "get --tags get,tensorrt,_dev --tar-file /d/t.tgz",
        ),
        ('run script "get cudnn"', "get --tags get,cudnn"),
        ("show cache --tags=get,cuda", "cache show --tags get,cuda"),
        ("find cache --tags=get,cuda", "cache find --tags get,cuda"),
        ("rm cache -f", "cache rm --all"),
        (
            'run script "install python-venv" --name=mlperf-cuda',
            "get --tags install,python-venv --name mlperf-cuda",
        ),
        (
            'run script "install python-venv" --name=mlperf --version_min=3.8',
            "get --tags install,python-venv --name mlperf --version-min 3.8",
        ),
        (
            "run script --tags=get,cuda,_lib-only --version=12.4 --rerun",
            "get --tags get,cuda,_lib-only --version 12.4 --force",
        ),
        ('cmr "get cuda"', "get --tags get,cuda"),
        (
            APP.format(v="_find-performance,_all-scenarios"),
            "run --scenario all --mode find-performance --model bert-99 --device cuda --backend onnxruntime "
            "--download",
        ),
        (
            APP.format(v="_accuracy-only") + " --scenario=SingleStream",
            "run --scenario SingleStream --mode accuracy --model bert-99 --device cuda --backend onnxruntime "
            "--download",
        ),
        (
            APP.format(v="_performance-only,_all-scenarios") + " --execution-mode=valid --results_dir=/r "
            "--category=edge --target_qps=120 --test_query_count=500",
            "run --scenario all --mode performance --target-qps 120 --model bert-99 --device cuda "
            "--backend onnxruntime --execution-mode valid --results-dir /r --category edge --count 500 "
            "--download",
        ),
        (
            APP.format(v="_populate-readme,_all-scenarios") + " --adr.python.name=mlperf-cuda",
            "run --scenario all --mode all --model bert-99 --device cuda --backend onnxruntime --download",
        ),
        (
            "run script --tags=run,mlperf,inference,generate-run-cmds --model=bert-99 --device=gpu "
            "--framework=pytorch --singlestream_target_latency=12 --scenario=SingleStream",
            "run --scenario SingleStream --mode find-performance --target-latency-ms 12 --model bert-99 "
            "--device cuda --backend pytorch --download",
        ),
        (
            "run script --tags=push,github,mlperf,inference,submission --submission_dir=/s "
            "--repo_url=https://github.com/me/results --commit_message='bert run' --repo_branch=main --quiet",
            "submission push /s --repo-url https://github.com/me/results --branch main --message 'bert run'",
        ),
    ],
)
def test_seed_commands_translate(cm: str, native: str) -> None:
    assert t(cm) == shlex.split(native)


def test_pull_repo_is_a_noop_with_a_note() -> None:
    result = plan(["pull", "repo", "mlcommons@ck"])
    assert result.commands == () and "built into crowdperf" in result.notes[0]
    assert translate(["pull", "repo", "mlcommons@ck"]) == []


def test_generate_submission_maps_hw_notes_to_hardware_notes_and_runs_the_checker() -> None:
    result = plan(
        shlex.split(
            "run script --tags=generate,inference,submission --results_dir=/r --submission_dir=/s "
            "--submitter=ORG --division=closed --category=edge --hw_notes_extra='H200 SXM' "
            "--sw_notes_extra=ort --run-checker "
            "--version=v5.1 --quiet --clean --adr.inference-src.version=master --adr.compiler.tags=gcc"
        )
    )
    generate, check = result.commands
    assert list(generate) == [
        "submission",
        "generate",
        "--results-dir",
        "/r",
        "--submission-dir",
        "/s",
        "--submitter",
        "ORG",
        "--division",
        "closed",
        "--category",
        "edge",
        "--hw-notes-extra",
        "H200 SXM",
        "--sw-notes-extra",
        "ort",
        "--force",
        "--round",
        "v5.1",
    ]
    assert list(check) == ["submission", "check", "/s", "--round", "v5.1"]
    assert "--clean: --force added (an existing submission tree is replaced)" in result.notes


def test_submission_variation_runs_all_modes_compliance_then_generates() -> None:
    result = plan(
        shlex.split(
            APP.format(v="_submission,_all-scenarios,_r5.1-dev")
            + (" --execution-mode=valid --results_dir=/r --division=closed --submitter=ORG --category=edge")
        )
    )
    assert [c[:2] for c in result.commands] == [
        ("run", "--scenario"),
        ("run", "--scenario"),
        ("submission", "generate"),
        ("submission", "check"),
    ]
    assert result.commands[0][result.commands[0].index("--mode") + 1] == "all"
    assert result.commands[0][-2:] == ("--round", "v5.1")
    assert result.commands[1][result.commands[1].index("--mode") + 1] == "compliance"
    assert "--round" in result.commands[2] and result.commands[2][-1] == "v5.1"


def test_open_division_submission_skips_compliance() -> None:
    result = plan(shlex.split(APP.format(v="_submission") + " --results_dir=/r --division=open"))
    assert [c[0] for c in result.commands] == ["run", "submission", "submission"]


@pytest.mark.parametrize(
    ("cm", "message"),
    [
        ('run script "get cudaa"', "no recipe for 'cudaa'"),
        ('run script "get cuda" --tar_fil=x', "--tar_fil is not supported"),
        (APP.format(v="_find-performance") + " --implementation=nvidia-original", "implementation"),
        (APP.format(v="_find-performance") + " --backend=tf", "--backend 'tf'"),
        (APP.format(v="_find-performance,_accuracy-only"), "exclude each other"),
        (APP.format(v="_bogus"), "_bogus"),
        ("run script --tags=push,github,mlperf,inference,submission --submission_dir=/s", "--repo_url"),
        ("run script --tags=generate,inference,submission --results_dir=/r", "--submission_dir"),
        ("rm cache", "-f"),
        ("run", "expected"),
        ("list script", "not supported"),
    ],
)
def test_bad_cm_commands_are_clear_usage_errors(cm: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        plan(shlex.split(cm))
    assert message in str(info.value)


def test_unknown_tag_error_names_close_recipes() -> None:
    with pytest.raises(UsageError) as info:
        plan(["run", "script", "get tensorrtt"])
    assert "tensorrt" in (info.value.hint or "")


def test_parse_cm_reads_adr_env_and_variations() -> None:
    cm = parse_cm(
        shlex.split('run script "get cuda _lib-only" --adr.python.name=x --env.CM_VERIFY_SSL=false -v')
    )
    assert cm.tags == ("get", "cuda") and cm.variations == ("lib-only",)
    assert (
        cm.adr == {"python": {"name": "x"}} and cm.env == {"CM_VERIFY_SSL": "false"} and cm.flags["verbose"]
    )


def test_cm_models_and_backends_are_the_registries() -> None:
    app = APP.format(v="_find-performance").replace("--model=bert-99", "--model=bert-large")
    assert "--model bert-large" in " ".join(t(app))
    assert "--backend pytorch" in " ".join(t(APP.format(v="_find-performance") + " --backend=torch"))
    with pytest.raises(UsageError) as info:
        t(APP.format(v="_find-performance").replace("--model=bert-99", "--model=resnet50"))
    assert "--model 'resnet50'" in info.value.message
    assert all(name in (info.value.hint or "") for name in ("tiny", "bert-large", "bert-99", "bert-99.9"))


def _every_ignored_flag_and_variation() -> list[tuple[str, str]]:
    from crowdperf.automation.cm_common import IGNORED
    from crowdperf.automation.cm_mlperf import IGNORED_GENERATE_FLAGS, IGNORED_RUN_FLAGS, NOTE_VARIATIONS

    run = APP.format(v="_find-performance")
    generate = "run script --tags=generate,inference,submission --results_dir=/r --submission_dir=/s"
    cases = [(f"{run} --{k}=x", f"--{k}:") for k in (*IGNORED, *IGNORED_RUN_FLAGS)]
    cases += [(f"{generate} --{k}=x", f"--{k}:") for k in (*IGNORED, *IGNORED_GENERATE_FLAGS)]
    cases += [(f"{generate} --model=bert-99", "--model:")]  # a run's flag given to generate alone
    cases += [
        (APP.format(v=f"_find-performance,_{v}"), f"_{v}:") for v, why in NOTE_VARIATIONS.items() if why
    ]
    cases += [(APP.format(v="_find-performance,_compliance"), "_compliance:")]
    cases += [(run, "--implementation=reference: ignored"), (run, "--download added")]
    return cases


@pytest.mark.parametrize(("cm", "note"), _every_ignored_flag_and_variation())
def test_every_flag_and_variation_that_changes_nothing_is_noted(cm: str, note: str) -> None:
    """Issue 14, item 7: nothing the user typed is dropped without a word."""
    result = plan(shlex.split(cm))
    assert any(n.startswith(note) or note in n for n in result.notes), result.notes


def test_fake_run_prints_the_native_commands_and_runs_nothing() -> None:
    result = plan(shlex.split(APP.format(v="_find-performance") + " --fake_run"))
    assert result.dry_run and "--fake_run: the native commands are printed, not run" in result.notes
    assert plan(shlex.split('run script "get cuda" -j')).commands == (
        ("get", "--tags", "get,cuda", "--json"),
    )
