"""One training run in a process of its own.

Reads a spec (labels, mode, seed, threads, niceness, device, rows, optional base artifact), trains, writes the
artifact bytes to OUTPUT_PATH and reports as JSON lines: ``progress`` (a loss point), ``message`` (a
lifecycle line), ``done`` (metrics) or ``error``. SIGTERM ends it at once with status 3 (the
supervisor sends it when the run is no longer wanted).

A worker forks its runs from a fork server that has imported the training code once
(``jobs.training_process`` calls ``run_forked``; the lines go over a pipe). The same run also starts
as a program, ``python -m classifier_core.child SPEC_JSON OUTPUT_PATH``, with the lines on stdout.
"""

import json
import os
import signal
import sys
from pathlib import Path
from collections.abc import Callable
from typing import Any

CANCELLED_EXIT_CODE = 3

Emit = Callable[[dict[str, Any]], None]


def _emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _on_sigterm(signum: int, frame: object) -> None:
    """A stopped run keeps nothing (the supervisor records why it ended), so there is nothing to wind
    down: leave now, not at the next training step and not through the interpreter's teardown. Those
    took 1-3 s (loading the encoder has no step; tearing down torch about 1 s), during which the run
    held its worker and its cores."""
    os._exit(CANCELLED_EXIT_CODE)


def run_forked(spec_path: str, output_path: str, log_path: str, lines: Any) -> None:
    """A run forked from the fork server: ``lines`` (the write end of a ``multiprocessing`` pipe) gets
    the JSON lines, the log file everything written to stdout or stderr; the run works in the spec's
    folder. Its exit status is ``main``'s, as the program's would be."""
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.chdir(Path(spec_path).parent)

    def emit(message: dict[str, Any]) -> None:
        lines.send_bytes(json.dumps(message).encode())

    sys.exit(main(spec_path, output_path, emit=emit))


def main(spec_path: str, output_path: str, *, emit: Emit = _emit) -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)
    from classifier_core.quiet import silence_libraries

    silence_libraries()
    from classifier_core.artifact import from_bytes, to_bytes
    from classifier_core.data import Example, InsufficientData
    from classifier_core.training import Progress, TrainingSpec, train

    spec = json.loads(Path(spec_path).read_text())
    if spec.get("nice"):
        os.nice(int(spec["nice"]))  # background work: whatever serves predictions beside it goes first
    examples = [Example(text=text, labels=tuple(labels)) for text, labels in spec["rows"]]
    validation = [Example(text=text, labels=tuple(labels)) for text, labels in spec.get("validation_rows") or []]
    base = from_bytes(Path(spec["base_path"]).read_bytes()) if spec.get("base_path") else None
    training_spec = TrainingSpec(
        labels=spec["labels"],
        mode=spec["mode"],
        seed=spec.get("seed", 0),
        base=base,
        device=spec.get("device"),
        threads=spec.get("threads"),
        validation=validation,
    )

    def on_progress(progress: Progress) -> None:
        data = {"epoch": progress.epoch, "step": progress.step, "total_steps": progress.total_steps, "train_loss": round(float(progress.train_loss), 6)}
        if progress.valid_loss is not None:
            data["valid_loss"] = round(float(progress.valid_loss), 6)
        emit({"type": "progress", "data": data})

    try:
        model = train(
            training_spec,
            examples,
            on_progress=on_progress,
            on_message=lambda text: emit({"type": "message", "message": text}),
        )
    except InsufficientData as short:
        emit({"type": "error", "code": "invalid_training_data", "message": str(short)})
        return 1
    except MemoryError:
        emit({"type": "error", "code": "out_of_memory", "message": "Training ran out of memory."})
        return 1
    Path(output_path).write_bytes(to_bytes(model))
    emit(
        {
            "type": "done",
            "labels": model.labels,
            "mode": model.mode,
            "stack": model.stack,
            "metrics": model.metrics,
            "trained_examples": model.trained_examples,
            "label_issues": [
                {
                    "row": issue.row,
                    "text": examples[issue.row].text,
                    "given": list(issue.given),
                    "suggested": list(issue.suggested),
                    "confidence": round(issue.confidence, 4),
                }
                for issue in model.label_issues
            ],
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
