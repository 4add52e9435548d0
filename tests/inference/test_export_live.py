"""A model trained by the live service, exported over HTTP: its predict.py, run by a bare interpreter in
a clean folder, gives the scores /v1/reflex/predict gives (float32, within 1e-5), long texts included."""

import math

import pytest

from classifier_core.encoder import serving_trunk_dtype
from tests.classifier_core.test_export import TEXTS, run_exported
from tests.inference.conftest import Trained

TICKETS = [
    "I was charged twice for my subscription this month",
    "The app crashes whenever I open the settings page",
    " ".join(["The app crashes whenever I open the settings page, and then I was billed again."] * 60),
]


def test_an_exported_model_scores_as_the_service_does(trained: Trained, tmp_path):
    if serving_trunk_dtype("auto") != "float32":
        pytest.skip("this machine's service serves in bfloat16: the float32 export is compared where it serves float32")
    response = trained.http.get(f"/models/{trained.tickets}/export")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    texts = TICKETS + TEXTS
    exported = run_exported(response.content, tmp_path, texts)
    for text, answer in zip(texts, exported):
        served = trained.http.post("/reflex/predict", json={"model": trained.tickets, "text": text})
        assert served.status_code == 200, served.text
        body = served.json()
        assert answer["windows"] == body["windows"]
        assert [c["label"] for c in answer["classes"]] == [c["label"] for c in body["classes"]]
        for mine, theirs in zip(answer["classes"], body["classes"]):
            assert math.isclose(mine["score"], theirs["score"], abs_tol=1e-5), (text[:40], mine, theirs)
        assert (answer["label"], [c["selected"] for c in answer["classes"]]) == (body["label"], [c["selected"] for c in body["classes"]])
    assert max(answer["windows"] for answer in exported) >= 4
