from reflex_project.api.errors import InvalidRequest, NotFound, NotReady


class ModelNotFound(NotFound):
    default_code = "model_not_found"


class ModelNotReady(NotReady):
    default_code = "model_not_ready"


class ModelNotDeletable(InvalidRequest):
    default_code = "model_not_deletable"


class BaseModelNotFound(InvalidRequest):
    default_code = "base_model_not_found"


class BaseModelNotReady(NotReady):
    default_code = "base_model_not_ready"


class BaseModelIncompatible(InvalidRequest):
    default_code = "base_model_incompatible"
