from reflex_project.api.errors import InvalidRequest, NotFound


class JobNotFound(NotFound):
    default_code = "job_not_found"


class JobNotCancellable(InvalidRequest):
    default_code = "job_not_cancellable"


class SynthesisUnavailable(InvalidRequest):
    default_code = "synthesis_unavailable"
