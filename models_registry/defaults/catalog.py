"""The default Reflexes: names, labels and modes served to every account.

Their training data is in ``data/<name>/{train,test}.jsonl`` beside this file, written for
Reflex (no rows from public datasets).
"""

from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class DefaultReflex:
    name: str
    labels: tuple[str, ...]
    mode: str
    description: str

    @property
    def train_path(self) -> Path:
        return DATA_DIR / self.name / "train.jsonl"

    @property
    def test_path(self) -> Path:
        return DATA_DIR / self.name / "test.jsonl"


DEFAULT_REFLEXES: tuple[DefaultReflex, ...] = (
    DefaultReflex(
        "jailbreak",
        ("benign", "jailbreak"),
        "single_label",
        "A prompt sent to an LLM that tries to make it ignore its rules, instructions or safety policy.",
    ),
    DefaultReflex(
        "guardrail",
        ("false", "true"),
        "single_label",
        "Text containing harassment, hate, sexual or violent content.",
    ),
    DefaultReflex(
        "leaked-thinking",
        ("clean", "leaked"),
        "single_label",
        "An agent's reply that exposes its hidden reasoning, chain of thought or system instructions.",
    ),
    DefaultReflex(
        "stuck-in-a-loop",
        ("progressing", "looping"),
        "single_label",
        "An agent repeating itself (same action, same answer, same failed tool call) instead of trying new things.",
    ),
    DefaultReflex(
        "incomplete-thought",
        ("complete", "incomplete"),
        "single_label",
        "A user turn that was cut off or sent before the thought was finished.",
    ),
    DefaultReflex(
        "user-frustrated",
        ("frustrated", "not frustrated"),
        "single_label",
        "A user message showing frustration, annoyance or anger with the assistant or the task.",
    ),
    DefaultReflex(
        "ambiguity",
        ("low", "med", "high"),
        "single_label",
        "How ambiguous a user request is: how much a reasonable assistant would need to guess or ask.",
    ),
    DefaultReflex(
        "difficulty",
        ("easy", "medium", "hard"),
        "single_label",
        "How hard a user request is to answer or carry out well.",
    ),
    DefaultReflex(
        "domain",
        ("general", "summary", "coding", "design", "data"),
        "multi_label",
        "Which domains a user request belongs to; any number may apply.",
    ),
)

DEFAULTS_BY_NAME = {reflex.name: reflex for reflex in DEFAULT_REFLEXES}
