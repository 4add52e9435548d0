"""Data synthesis for ``generate`` and ``label_data`` jobs, through an OpenAI-compatible provider
(the Batch API, or concurrent chat completions for servers without one)."""

from jobs.synthesis.errors import SynthesisError, SynthesisFailed, SynthesisStopped, SynthesisTooShort
from jobs.synthesis.provider import provider_configured
from jobs.synthesis.stage import synthesise_rows

__all__ = [
    "SynthesisError",
    "SynthesisFailed",
    "SynthesisStopped",
    "SynthesisTooShort",
    "provider_configured",
    "synthesise_rows",
]
