"""The synthesis provider: any OpenAI-compatible server, reached through the ``openai`` SDK."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    import openai


@dataclass(frozen=True)
class Provider:
    base_url: str | None
    api_key: str
    model: str
    transport: str  # "batch" (the Batch API) or "chat" (concurrent chat completions)


def provider_configured() -> bool:
    return bool(settings.OPENAI_API_KEY and settings.REFLEX_SYNTH_MODEL)


def get_provider() -> Provider:
    return Provider(
        base_url=settings.OPENAI_BASE_URL or None,
        api_key=settings.OPENAI_API_KEY,
        model=settings.REFLEX_SYNTH_MODEL,
        transport=settings.REFLEX_SYNTH_TRANSPORT,
    )


def make_client(provider: Provider) -> "openai.OpenAI":
    """The SDK retries 408/409/429/5xx and connection errors itself, with backoff and ``Retry-After``."""
    import openai  # here, not at the top: what imports ``provider_configured`` (every web process) never needs it

    return openai.OpenAI(
        api_key=provider.api_key,
        base_url=provider.base_url,
        max_retries=settings.REFLEX_SYNTH_MAX_RETRIES,
        timeout=settings.REFLEX_SYNTH_REQUEST_TIMEOUT,
    )
