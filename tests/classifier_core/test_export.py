"""The portable archive: its predict.py, run in a clean folder by a bare interpreter, scores as the
service scores (float32, within 1e-5), long texts included. The models are shipped defaults: real
trained models, each with a lexical expert and a blend."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from safetensors.numpy import load as load_tensors

from classifier_core.artifact import from_bytes
from classifier_core.encoder import model_path
from classifier_core.export import export_archive

ARTIFACTS = Path(__file__).resolve().parents[2] / "models_registry" / "defaults" / "artifacts"
LONG = " ".join(
    "The quarterly report summarises revenue by region, and the data pipeline that feeds the dashboard "
    "failed twice last week; can you write the SQL that rebuilds the table and explain why it broke?".split()
    * 25
)
TEXTS = [
    "I asked three times and it still doesn't work. Useless!",
    "Thanks, that fixed it.",
    "Write a Python function that merges two sorted lists",
    "Summarise this meeting transcript in five bullet points",
    "ok",
    "Déjà vu: naïve café 🙂 — ünïcödé text, also 中文",
    LONG,  # several overlapping windows
    LONG[: len(LONG) // 3] + " Why does nothing ever work here?!",
]
TOLERANCE = 1e-5


def unpack(archive: bytes, folder: Path, texts: list[str]) -> Path:
    """Unzips the archive in ``folder`` beside a texts.jsonl of ``texts``; returns its predict.py."""
    zipfile.ZipFile(io.BytesIO(archive)).extractall(folder)
    (folder / "texts.jsonl").write_text("".join(json.dumps({"text": text}) + "\n" for text in texts), encoding="utf-8")
    (script,) = folder.glob("*/predict.py")
    return script


def run_exported(archive: bytes, folder: Path, texts: list[str], *extra: str) -> list[dict]:
    """Unzip the archive in ``folder`` and run its predict.py there: ``-I`` keeps the project (and any
    PYTHONPATH) off sys.path, so only the interpreter's installed packages can serve it."""
    script = unpack(archive, folder, texts)
    result = subprocess.run(
        [sys.executable, "-I", str(script), "--input", "texts.jsonl", *extra],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def assert_same_scores(exported: list[dict], served, labels: list[str]) -> None:
    assert len(exported) == len(served)
    for answer, prediction in zip(exported, served):
        assert [c["label"] for c in answer["classes"]] == labels
        assert answer["windows"] == prediction.windows
        for entry, score in zip(answer["classes"], prediction.scores):
            assert math.isclose(entry["score"], score, abs_tol=TOLERANCE), (entry, score)
        assert [c["selected"] for c in answer["classes"]] == prediction.selected


# Several exported predict.py scripts, each run as ``python predict.py ARGS`` would run it, in one bare
# interpreter (``-I``): starting one costs seconds of imports (torch, transformers), paid once here.
# tests/inference/test_export_live.py runs a downloaded archive's predict.py as a program of its own.
RUN_SCRIPTS = """
import contextlib, io, json, runpy, sys
answers = {}
for script, args in json.loads(sys.argv[1]):
    out = io.StringIO()
    sys.argv = [script, *args]
    with contextlib.redirect_stdout(out):
        runpy.run_path(script, run_name="__main__")
    answers[script] = out.getvalue()
print(json.dumps(answers))
"""


def _two_depth_model():
    """A model trained on a few rows per label: it serves a two-depth head (the top and a middle layer's
    pools), so predict.py reads the middle layer from the encoder's hidden states."""
    from classifier_core import adapter
    from classifier_core.data import SINGLE_LABEL
    from classifier_core.training import TrainingSpec, train

    from .conftest import topic_examples

    rows = topic_examples()
    few = [row for label in ("sports", "cooking") for row in [row for row in rows if row.labels == (label,)][:10]]
    model = train(TrainingSpec(labels=["sports", "cooking"], mode=SINGLE_LABEL, device="cpu"), few)
    assert adapter.two_depth(model.state)
    return model


def _with_trunk_term(model):
    """``model`` (fine-tuned: its top pool unscaled) with a trunk term, as a fine-tuned expert with a
    share from the trunk head is served: the trunk pool at unit length, the top pool as it was."""
    import dataclasses

    import torch

    from classifier_core import adapter

    assert not model.config.get("normalize") and not adapter.two_depth(model.state)
    weight = torch.randn(model.state[adapter.HEAD_WEIGHT].shape, generator=torch.Generator().manual_seed(5)) * 2
    return dataclasses.replace(model, state={**model.state, adapter.TRUNK_HEAD_WEIGHT: weight})


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, tuple]:
    """name -> (model, its predict.py's answers to TEXTS, its reflex.json), for two shipped defaults
    (multi-label with thresholds and the encoder given as a folder; single-label with three adapted
    layers and the encoder found through its PyPI package) and two two-depth heads (a pooled-feature
    head, unit-length pools; a fine-tuned head with a trunk term)."""
    jailbreak = from_bytes((ARTIFACTS / "jailbreak.bin").read_bytes())
    models = {
        "domain": (from_bytes((ARTIFACTS / "domain.bin").read_bytes()), True),
        "jailbreak": (jailbreak, False),
        "topics": (_two_depth_model(), False),
        "jailbreak-trunk": (_with_trunk_term(jailbreak), False),
    }
    runs, folders = [], {}
    for name, (model, encoder_flag) in models.items():
        folder = tmp_path_factory.mktemp(f"export-{name}")
        script = unpack(export_archive(model, name=name, version=3), folder, TEXTS)
        extra = ["--encoder", str(model_path())] if encoder_flag else []
        runs.append([str(script), ["--input", str(folder / "texts.jsonl"), *extra]])
        folders[name] = script
    result = subprocess.run(
        [sys.executable, "-I", "-c", RUN_SCRIPTS, json.dumps(runs)],
        cwd=tmp_path_factory.getbasetemp(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    return {
        name: (model, [json.loads(line) for line in answers[str(folders[name])].splitlines()], json.loads((folders[name].parent / "reflex.json").read_text()))
        for name, (model, _) in models.items()
    }


@pytest.mark.parametrize("name", ["domain", "jailbreak"])
def test_exported_predict_py_scores_as_the_service_does(predictor, exported, name: str) -> None:
    model, answers, _ = exported[name]
    assert model.config["blend"]["lexical_weight"] > 0  # both experts count
    assert name != "jailbreak" or model.config["k"] == 3
    assert_scores_as_served(predictor, model, answers)


@pytest.mark.parametrize("name", ["topics", "jailbreak-trunk"])
def test_an_exported_two_depth_head_scores_as_the_service_does(predictor, exported, name: str) -> None:
    model, answers, facts = exported[name]
    assert_scores_as_served(predictor, model, answers)
    assert facts["trunk_head_depth"] == predictor.encoder.num_layers - model.config["k"]
    assert facts["normalize"] is (name == "topics")
    without = exported["jailbreak"][1]
    assert name != "jailbreak-trunk" or max(abs(a["classes"][0]["score"] - b["classes"][0]["score"]) for a, b in zip(answers, without)) > 1e-2


def assert_scores_as_served(predictor, model, exported: list[dict]) -> None:
    """predict.py's answers to TEXTS are the service's, before and after the model is hot."""
    prepared = predictor.prepare(model)
    first = predictor.predict(prepared, TEXTS)  # served with the LoRA beside the weights
    again = predictor.predict(prepared, TEXTS)  # hot: served with the LoRA merged in
    assert max(p.windows for p in first) >= 4
    assert_same_scores(exported, first, model.labels)
    assert_same_scores(exported, again, model.labels)


def test_the_archive_holds_the_adapter_head_and_facts_in_safe_formats() -> None:
    model = from_bytes((ARTIFACTS / "domain.bin").read_bytes())
    archive = zipfile.ZipFile(io.BytesIO(export_archive(model, name="domain", version=3)))
    assert sorted(archive.namelist()) == [
        f"domain-v3/{path}"
        for path in sorted(
            [
                "README.md",
                "predict.py",
                "reflex.json",
                "adapter/adapter_config.json",
                "adapter/adapter_model.safetensors",
                "head.safetensors",
                "lexical.safetensors",
            ]
        )
    ]
    facts = json.loads(archive.read("domain-v3/reflex.json"))
    assert (facts["labels"], facts["mode"], facts["thresholds"]) == (model.labels, "multi_label", model.thresholds)
    assert facts["encoder"] == "sentence-transformers/all-MiniLM-L6-v2"
    peft_config = json.loads(archive.read("domain-v3/adapter/adapter_config.json"))
    assert (peft_config["peft_type"], peft_config["r"], peft_config["lora_alpha"]) == ("LORA", 8, 16.0)
    assert len(peft_config["target_modules"]) == model.config["k"] * 6
    head = load_tensors(archive.read("domain-v3/head.safetensors"))
    assert head["weight"].shape == (5, 384) and head["bias"].shape == (5,)
    assert "trunk_weight" not in head and facts["trunk_head_depth"] is None  # a fine-tuned model's head reads the top layers
    # Same model, same bytes: the API and the command hand out identical archives.
    assert export_archive(model, name="domain", version=3) == export_archive(model, name="domain", version=3)
