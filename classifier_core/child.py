"""The training child process: ``python -m classifier_core.child SPEC_JSON OUTPUT_PATH``.

Reads a spec (labels, mode, seed, threads, device, rows, optional base artifact), trains, writes the
artifact bytes to OUTPUT_PATH and reports on stdout as JSON lines:
``progress`` (a loss point), ``message`` (a lifecycle line), ``done`` (metrics) or ``error``.
SIGTERM asks it to stop at the next step; it then exits with status 3 and writes nothing.
"""

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

CANCELLED_EXIT_CODE = 3
_stop_requested = False
_training_started = False


def _emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _on_sigterm(signum: int, frame: object) -> None:
    """Before training starts (imports, loading the encoder) there is nothing to wind down: leave now.
    During training, ask the loop to stop at its next step."""
    global _stop_requested
    if not _training_started:
        os._exit(CANCELLED_EXIT_CODE)
    _stop_requested = True


def main(spec_path: str, output_path: str) -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)
    from classifier_core.quiet import silence_libraries

    silence_libraries()
    from classifier_core.artifact import from_bytes, to_bytes
    from classifier_core.data import Example, InsufficientData
    from classifier_core.training import Progress, TrainingCancelled, TrainingSpec, train

    spec = json.loads(Path(spec_path).read_text())
    examples = [Example(text=text, labels=tuple(labels)) for text, labels in spec["rows"]]
    base = from_bytes(Path(spec["base_path"]).read_bytes()) if spec.get("base_path") else None
    training_spec = TrainingSpec(
        labels=spec["labels"],
        mode=spec["mode"],
        seed=spec.get("seed", 0),
        base=base,
        device=spec.get("device"),
        threads=spec.get("threads"),
    )

    def on_progress(progress: Progress) -> None:
        data = {"epoch": progress.epoch, "step": progress.step, "total_steps": progress.total_steps,
                "train_loss": round(float(progress.train_loss), 6)}
        if progress.valid_loss is not None:
            data["valid_loss"] = round(float(progress.valid_loss), 6)
        _emit({"type": "progress", "data": data})

    global _training_started
    _training_started = True
    if _stop_requested:
        return CANCELLED_EXIT_CODE
    try:
        model = train(
            training_spec,
            examples,
            on_progress=on_progress,
            should_stop=lambda: _stop_requested,
            on_message=lambda text: _emit({"type": "message", "message": text}),
        )
    except TrainingCancelled:
        return CANCELLED_EXIT_CODE
    except InsufficientData as short:
        _emit({"type": "error", "code": "invalid_training_data", "message": str(short)})
        return 1
    except MemoryError:
        _emit({"type": "error", "code": "out_of_memory", "message": "Training ran out of memory."})
        return 1
    Path(output_path).write_bytes(to_bytes(model))
    _emit({
        "type": "done",
        "labels": model.labels,
        "mode": model.mode,
        "stack": model.stack,
        "metrics": model.metrics,
        "trained_examples": model.trained_examples,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
