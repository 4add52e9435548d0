"""Keeps the ML libraries quiet and offline: no hub access, no progress bars, errors only."""

import logging
import os


def silence_libraries() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for name in ("transformers", "huggingface_hub", "peft", "safetensors"):
        logging.getLogger(name).setLevel(logging.ERROR)
