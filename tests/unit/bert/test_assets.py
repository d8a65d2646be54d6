from __future__ import annotations

import hashlib
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crowdperf.errors import ChecksumError, MissingInputError
from crowdperf.workloads.bert.assets import (
    OFFICIAL_ASSETS,
    Asset,
    AssetKind,
    AssetSource,
    asset_cache_path,
    resolve_asset,
)


def test_official_table_matches_mlperf_md():
    assert OFFICIAL_ASSETS["model.onnx"].md5 == "819b25b19cd8e59080c10892689750ca"
    assert OFFICIAL_ASSETS["dev-v1.1.json"].md5 == "3e85deb501d4e538b6bc56f786231552"
    assert OFFICIAL_ASSETS["vocab.txt"].url.startswith("https://zenodo.org/record/3733868/")
    assert {a.flag for a in OFFICIAL_ASSETS.values()} == {"--model-path", "--vocab-path", "--dataset-path"}


def test_local_path_is_checked_and_its_md5_recorded(tmp_path, settings):
    local = tmp_path / "vocab.txt"
    local.write_text("[PAD]\n")
    got = resolve_asset("vocab.txt", local, settings, download=False)
    assert got.source is AssetSource.LOCAL and not got.official
    assert got.md5 == hashlib.md5(b"[PAD]\n").hexdigest()
    with pytest.raises(MissingInputError, match="--vocab-path"):
        resolve_asset("vocab.txt", tmp_path / "nope.txt", settings, download=False)


def test_real_files_are_recognised_as_official(real_squad, settings):
    dev, vocab = real_squad
    assert resolve_asset("dev-v1.1.json", dev, settings, download=False).official
    assert resolve_asset("vocab.txt", vocab, settings, download=False).official


def test_absent_asset_without_download_names_the_flags(settings):
    with pytest.raises(MissingInputError) as err:
        resolve_asset("model.onnx", None, settings, download=False)
    assert "--model-path" in str(err.value) and "--download" in str(err.value)


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    (root / "m.onnx").write_bytes(b"onnx bytes" * 1000)

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    md5 = hashlib.md5(b"onnx bytes" * 1000).hexdigest()
    url = f"http://127.0.0.1:{srv.server_address[1]}/m.onnx"
    yield {"m.onnx": Asset("m.onnx", url, md5, AssetKind.MODEL, "test model", 1)}
    srv.shutdown()
    srv.server_close()


def test_download_then_cache_then_stale_cache(served, settings):
    got = resolve_asset("m.onnx", None, settings, download=True, assets=served, show_progress=False)
    assert got.source is AssetSource.DOWNLOAD and got.official
    assert got.path == asset_cache_path(served["m.onnx"], settings)
    again = resolve_asset("m.onnx", None, settings, download=False, assets=served)
    assert again.source is AssetSource.CACHE and again.path == got.path
    got.path.write_bytes(b"tampered")  # a changed cached file is re-hashed, removed, not used
    with pytest.raises(ChecksumError, match="expected"):
        resolve_asset("m.onnx", None, settings, download=False, assets=served)
    assert not got.path.exists()
    fresh = resolve_asset("m.onnx", None, settings, download=True, assets=served, show_progress=False)
    assert fresh.source is AssetSource.DOWNLOAD


def test_squad_files_for_tiny_and_official(real_squad, settings):
    from crowdperf.errors import UsageError
    from crowdperf.workloads.bert.assets import resolve_squad_files

    tiny = resolve_squad_files("tiny", None, None, settings, download=False, embedded=True)
    assert tiny.dataset.source is AssetSource.GENERATED and tiny.vocab.path.is_file()
    assert not tiny.dataset.official and len(tiny.dataset.md5) == 32
    dev, vocab = real_squad
    real = resolve_squad_files("tiny", dev, vocab, settings, download=False, embedded=True)
    assert real.dataset.official and real.vocab.official
    with pytest.raises(UsageError):
        resolve_squad_files("tiny", dev, None, settings, download=False, embedded=True)
    with pytest.raises(MissingInputError, match="--dataset-path"):
        resolve_squad_files("bert-99", None, vocab, settings, download=False, embedded=False)
