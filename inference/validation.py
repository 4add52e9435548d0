from typing import Any

from reflex_project.api.errors import InvalidRequest, MissingParameter

MAX_MODELS_PER_REQUEST = 16


def parse_text(body: dict, *, param: str = "text") -> str:
    text = body.get("text")
    if text is None:
        raise MissingParameter("Missing required parameter: 'text'.", param=param)
    if not isinstance(text, str):
        raise InvalidRequest("'text' must be a string.", param=param)
    if not text.strip():
        raise InvalidRequest("'text' must not be empty.", param=param)
    return text


def parse_model_names(body: dict) -> tuple[str | None, list[str] | None]:
    """Exactly one of ``model`` (a name) or ``models`` (1-16 names)."""
    model, models = body.get("model"), body.get("models")
    if model is not None and models is not None:
        raise InvalidRequest("Send either 'model' or 'models', not both.", param="models")
    if models is not None:
        if not isinstance(models, list) or not 1 <= len(models) <= MAX_MODELS_PER_REQUEST:
            raise InvalidRequest(f"'models' must be an array of 1 to {MAX_MODELS_PER_REQUEST} model names.", param="models")
        for index, name in enumerate(models):
            _check_name(name, param=f"models[{index}]")
        return None, models
    if model is None:
        raise MissingParameter("Missing required parameter: 'model'.", param="model")
    _check_name(model, param="model")
    return model, None


def _check_name(name: Any, *, param: str) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise InvalidRequest("A model name must be a non-empty string of at most 100 characters.", param=param)
