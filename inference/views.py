"""Predict endpoints as plain async views: under daphne, DRF's sync views all run in one thread, which
would serialise concurrent predictions before the batching engine could gather them.

Same contract as the DRF views: Bearer key (``ApiKeyAuthentication``) before anything else, then POST
only (405 with ``Allow``), the per-key predict rate (``check_predict_rate``), strict JSON
(``reflex_project.api.json_body``), and errors rendered by ``reflex_project.api.errors``.
"""

from collections.abc import Awaitable, Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema

from accounts.models import Account
from inference import services
from inference.connections import in_db_thread
from inference import openapi
from inference.validation import parse_batch, parse_model_names, parse_text
from reflex_project.api.authentication import ApiKeyAuthentication
from reflex_project.api.errors import ApiError, MethodNotAllowed, response_for
from reflex_project.api.json_body import read_json_object
from reflex_project.api.openapi import RETRY_AFTER, documented_by
from reflex_project.api.throttling import check_predict_rate

LARGE_BODY = 256 * 1024  # bodies above this are parsed off the event loop
ALLOWED_METHODS = ["POST"]


def _authenticate(request: HttpRequest) -> Account:
    """The key's account, after the method and the per-key predict rate (runs in a database thread)."""
    _, api_key = ApiKeyAuthentication().authenticate(request)
    if request.method not in ALLOWED_METHODS:
        raise MethodNotAllowed(request.method, allowed=ALLOWED_METHODS)
    check_predict_rate(api_key)
    return api_key.account


async def _serve(request: HttpRequest, handle: Callable[[Account, dict], Awaitable[dict]]) -> HttpResponse:
    try:
        account = await in_db_thread(_authenticate, request)
        if len(request.body) > LARGE_BODY:
            body = await in_db_thread(read_json_object, request)
        else:
            body = read_json_object(request)
        return JsonResponse(await handle(account, body))
    except ApiError as error:
        return response_for(error)


async def answer_predict(account: Account, body: dict) -> dict:
    model, models = parse_model_names(body)
    text = parse_text(body)
    return await services.apredict(account=account, model=model, models=models, text=text)


async def answer_predict_batch(account: Account, body: dict) -> dict:
    return await services.apredict_batch(account=account, rows=parse_batch(body))


@documented_by(methods=["POST"])
@extend_schema(
    operation_id="predict",
    tags=openapi.TAGS,
    summary="Classify a text with one model (`model`) or several at once (`models`)",
    request=openapi.PredictSerializer,
    parameters=[RETRY_AFTER],
    examples=openapi.PREDICT_EXAMPLES,
    responses={200: openapi.PREDICT_RESULT, **openapi.PREDICT_ERRORS},
)
@csrf_exempt
async def predict(request: HttpRequest) -> HttpResponse:
    """``POST /v1/reflex/predict``: ``{"model"|"models", "text"}``."""
    return await _serve(request, answer_predict)


@documented_by(methods=["POST"])
@extend_schema(
    operation_id="predictBatch",
    tags=openapi.TAGS,
    summary="Classify 1-300 rows in one request",
    request=openapi.PredictBatchSerializer,
    parameters=[RETRY_AFTER],
    examples=openapi.BATCH_EXAMPLES,
    responses={200: openapi.PredictBatchResultSerializer, **openapi.PREDICT_ERRORS},
)
@csrf_exempt
async def synchronous_predict_batch(request: HttpRequest) -> HttpResponse:
    """``POST /v1/reflex/synchronous_predict_batch``: ``{"requests": [{"id", "model", "text"}, ...]}``."""
    return await _serve(request, answer_predict_batch)
