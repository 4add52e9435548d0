"""How synthesis ends when it yields no training set: a typed error the supervisor turns into a failed job."""


class SynthesisError(Exception):
    """Fails the job with ``code`` and this message."""

    code = "data_synthesis_failed"

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class SynthesisFailed(SynthesisError):
    """The provider could not produce data: refused, unreachable, failed batch, nothing usable."""


class SynthesisTooShort(SynthesisError):
    """The synthesised set misses the minimums (docs/api.md, "Create a job"); the message names the short label."""

    code = "invalid_training_data"


class SynthesisStopped(Exception):
    """The job is no longer ours (cancelled, deleted, reaped): stop at once and record nothing."""
