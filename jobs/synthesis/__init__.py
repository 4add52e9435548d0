"""Data synthesis for ``generate`` and ``label_data`` jobs, through an OpenAI-compatible provider
(the Batch API, or concurrent chat completions for servers without one): ``jobs.synthesis.stage``.

What the package itself exports imports no ``openai``: the SDK loads only where a job synthesises."""

from jobs.synthesis.errors import SynthesisError, SynthesisFailed, SynthesisStopped, SynthesisTooShort
from jobs.synthesis.provider import provider_configured

__all__ = [
    "SynthesisError",
    "SynthesisFailed",
    "SynthesisStopped",
    "SynthesisTooShort",
    "provider_configured",
]
