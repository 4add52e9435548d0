"""The lexical expert: word and character n-grams, TF-IDF weighted, under a linear classifier.

It wins where surface cues decide (spam words, slurs, URLs, template phrases) and costs a few tens of
microseconds a text. scikit-learn fits it; prediction needs only this module and numpy, over tensors
stored in the artifact (no pickle): the vocabulary as one UTF-8 blob with offsets, the IDF weights, the
coefficients and the intercepts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch

WORD = re.compile(r"\w\w+|[^\w\s]")
SPACE = re.compile(r"\s+")
CHAR_SIZES = (2, 3, 4, 5)
MAX_FEATURES = 30_000  # most frequent n-grams kept; bounds the stored size (about 30 kB a label in float16)
MAX_ANALYSED_CHARS = 20_000  # a long text is read from its start and end (n-grams of a log's middle add little)
STATE_PREFIX = "lexical."


@lru_cache(maxsize=2048)
def ngrams(text: str) -> tuple[str, ...]:
    """Word unigrams and bigrams (lower-cased; punctuation marks count as words) and character 2-5-grams
    inside word boundaries. Cached: the models of one request read the same text."""
    if len(text) > MAX_ANALYSED_CHARS:
        half = MAX_ANALYSED_CHARS // 2
        text = text[:half] + " " + text[-half:]
    lowered = SPACE.sub(" ", text.lower()).strip()
    words = WORD.findall(lowered)
    grams = [f"w {word}" for word in words]
    grams += [f"w {a} {b}" for a, b in zip(words, words[1:])]
    for token in lowered.split(" "):
        padded = f" {token} "
        for size in CHAR_SIZES:
            if len(padded) < size:
                break
            grams += [f"c {padded[i : i + size]}" for i in range(len(padded) - size + 1)]
    return tuple(grams)


@dataclass
class LexicalModel:
    vocabulary: dict[str, int]
    idf: np.ndarray  # features, float32
    coef: np.ndarray  # labels x features, float32
    intercept: np.ndarray  # labels, float32

    def __post_init__(self) -> None:
        self._by_feature = np.ascontiguousarray(self.coef.T)  # features x labels: a text gathers its rows

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """One row of label logits per text."""
        out = np.empty((len(texts), len(self.intercept)), dtype=np.float32)
        lookup = self.vocabulary.get
        for row, text in enumerate(texts):
            found = [index for index in map(lookup, ngrams(text)) if index is not None]
            if not found:
                out[row] = self.intercept
                continue
            columns, counts = np.unique(np.array(found, dtype=np.int64), return_counts=True)
            weights = (1.0 + np.log(counts.astype(np.float32))) * self.idf[columns]
            weights /= np.linalg.norm(weights)
            out[row] = weights @ self._by_feature[columns] + self.intercept
        return out

    def to_state(self) -> dict[str, torch.Tensor]:
        grams = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        encoded = [gram.encode("utf-8") for gram in grams]
        offsets = np.cumsum([0] + [len(item) for item in encoded]).astype(np.int64)
        blob = np.frombuffer(b"".join(encoded), dtype=np.uint8) if encoded else np.zeros(0, dtype=np.uint8)
        return {
            f"{STATE_PREFIX}vocabulary": torch.from_numpy(blob.copy()),
            f"{STATE_PREFIX}offsets": torch.from_numpy(offsets),
            f"{STATE_PREFIX}idf": torch.from_numpy(self.idf.astype(np.float16)),
            f"{STATE_PREFIX}coef": torch.from_numpy(self.coef.astype(np.float16)),
            f"{STATE_PREFIX}intercept": torch.from_numpy(self.intercept.astype(np.float32)),
        }

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor]) -> LexicalModel | None:
        """The lexical model stored in an artifact's state, or None when it has none."""
        if f"{STATE_PREFIX}coef" not in state:
            return None
        blob = state[f"{STATE_PREFIX}vocabulary"].numpy().tobytes()
        offsets = state[f"{STATE_PREFIX}offsets"].tolist()
        vocabulary = {blob[offsets[i] : offsets[i + 1]].decode("utf-8"): i for i in range(len(offsets) - 1)}
        return cls(
            vocabulary=vocabulary,
            idf=state[f"{STATE_PREFIX}idf"].float().numpy(),
            coef=state[f"{STATE_PREFIX}coef"].float().numpy(),
            intercept=state[f"{STATE_PREFIX}intercept"].float().numpy(),
        )


def is_lexical_key(key: str) -> bool:
    return key.startswith(STATE_PREFIX)


@dataclass
class LexicalRows:
    """A training set's TF-IDF rows, computed once. The vocabulary (the most frequent n-grams) and the IDF
    weights are read from the texts alone, never from the labels, so the models fitted on each fold and
    on all rows can share them: an n-gram seen only in held-out rows gets no weight from the others."""

    matrix: Any  # scipy.sparse CSR, texts x features, float32, rows of unit length
    vocabulary: dict[str, int]
    idf: np.ndarray

    def held_out_logits(self, model: LexicalModel, held: np.ndarray) -> np.ndarray:
        """The logits of rows ``held`` by ``model``, fitted on these features' other rows. As serving drops
        the n-grams a model never saw, so does this: each row keeps the n-grams seen in the other rows,
        scaled back to unit length."""
        trained = np.ones(self.matrix.shape[0], dtype=bool)
        trained[held] = False
        seen = (self.matrix[trained].getnnz(axis=0) > 0).astype(np.float32)
        rows = self.matrix[held].multiply(seen).tocsr()
        norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1))).ravel()
        scores = np.asarray(rows @ model.coef.T) / np.maximum(norms, 1e-12)[:, None]
        return (scores + model.intercept).astype(np.float32)


def vectorize(texts: Sequence[str]) -> LexicalRows:
    """TF-IDF (sublinear term frequency, smoothed IDF, L2 rows) over ``ngrams``."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer=ngrams, sublinear_tf=True, max_features=MAX_FEATURES, dtype=np.float32)
    matrix = vectorizer.fit_transform(list(texts)).tocsr()
    vocabulary = {gram: int(index) for gram, index in vectorizer.vocabulary_.items()}
    return LexicalRows(matrix, vocabulary, vectorizer.idf_.astype(np.float32))


def fit_rows(
    features: LexicalRows, rows: np.ndarray, targets: np.ndarray, *, multi: bool, class_weight: np.ndarray | None = None, c: float = 10.0
) -> LexicalModel:
    """A logistic regression on ``rows`` of ``features`` (``targets`` are those rows'): multinomial for
    single-label targets (label indices), one per label for multi-label (0/1 matrix)."""
    from sklearn.linear_model import LogisticRegression

    matrix, vocabulary, idf = features.matrix[rows], features.vocabulary, features.idf
    if not multi:
        weights = None if class_weight is None else class_weight[targets]
        labels = int(class_weight.shape[0]) if class_weight is not None else int(targets.max()) + 1
        present = np.unique(targets)
        model = LogisticRegression(C=c, max_iter=100, tol=1e-3)
        model.fit(matrix, targets, sample_weight=weights)
        coef = np.zeros((labels, matrix.shape[1]), dtype=np.float32)
        intercept = np.full(labels, -30.0, dtype=np.float32)  # a label absent from these rows is never chosen
        if len(present) == 2:  # scikit-learn keeps one row for two classes: its logit split in halves
            coef[present[1]], coef[present[0]] = model.coef_[0] / 2, -model.coef_[0] / 2
            intercept[present[1]], intercept[present[0]] = model.intercept_[0] / 2, -model.intercept_[0] / 2
        else:
            coef[present], intercept[present] = model.coef_, model.intercept_
        return LexicalModel(vocabulary, idf, coef, intercept)
    coef = np.zeros((targets.shape[1], matrix.shape[1]), dtype=np.float32)
    intercept = np.zeros(targets.shape[1], dtype=np.float32)
    for j in range(targets.shape[1]):
        column = targets[:, j].astype(int)
        if column.min() == column.max():
            intercept[j] = 30.0 if column[0] else -30.0
            continue
        model = LogisticRegression(C=c, max_iter=100, tol=1e-3)
        model.fit(matrix, column)
        coef[j], intercept[j] = model.coef_[0], model.intercept_[0]
    return LexicalModel(vocabulary, idf, coef, intercept)
