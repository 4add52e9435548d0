from reflex_project.api.errors import InvalidRequest, NotFound


class BatchNotFound(NotFound):
    default_code = "batch_not_found"


class BatchNotCancellable(InvalidRequest):
    default_code = "batch_not_cancellable"
