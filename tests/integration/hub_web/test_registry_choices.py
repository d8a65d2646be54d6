"""The API and the builder page offer what the workload and backend registries hold, read per request."""

from __future__ import annotations

from fastapi.testclient import TestClient

from crowdperf.mlperf.workload import register_workload, unregister_workload


def test_unknown_model_or_backend_is_a_400_naming_the_known_ones(client: TestClient) -> None:
    resp = client.get("/api/commands?model=gpt-5")
    assert resp.status_code == 400
    body = resp.json()
    assert "model 'gpt-5'" in body["error"]
    assert all(name in body["hint"] for name in ("tiny", "bert-large", "bert-99", "bert-99.9"))
    resp = client.get("/api/commands?backend=tensorflow")
    assert resp.status_code == 400 and "onnxruntime, pytorch" in resp.json()["hint"]
    assert client.get("/api/commands?scenario=Batch").status_code == 422  # a fixed list: the schema's


def test_a_registered_workload_is_a_choice_of_the_api_and_the_builder_page(client: TestClient) -> None:
    assert "toy" not in client.get("/api/choices").json()["model"]
    register_workload("toy", "synthetic_workloads:default_workload")
    try:
        choices = client.get("/api/choices").json()
        assert "toy" in choices["model"] and {"onnxruntime", "pytorch"} <= set(choices["backend"])
        assert client.get("/api/commands?model=toy").json()["run"].startswith("crowdperf run --model toy ")
        assert "<option >toy</option>" in client.get("/builder").text
    finally:
        unregister_workload("toy")
