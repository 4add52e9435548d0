"""Dashboard pages for key holders: thin views over the same services and selectors as the API."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.services import create_api_key, get_or_create_webhook_secret, revoke_api_key, rotate_webhook_secret
from dashboard import selectors
from dashboard.access import account_of, json_endpoint, page, user_of
from batches import selectors as batch_selectors
from dashboard.forms import KeyCreateForm, ModelDeleteForm
from files import selectors as file_selectors
from files.download import file_bytes
from inference.services import predict_many_models
from inference.validation import parse_model_names, parse_text
from jobs import selectors as job_selectors
from jobs.errors import JobNotCancellable
from jobs.serializers import job_object
from jobs.served_models import list_models
from jobs.services import cancel_job, delete_model
from models_registry.errors import ModelNotDeletable
from reflex_project.api.errors import InvalidRequest, NotFound
from reflex_project.api.json_body import read_json_object

JOBS_PER_PAGE = 25
LABEL_ISSUES_SHOWN = 50
FILES_SHOWN = 100


@page
def not_found(request: HttpRequest) -> HttpResponse:
    raise Http404


@page
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    account = account_of(request)
    recent, _ = job_selectors.list_jobs(account=account, after=None, limit=5)
    return render(
        request,
        "dashboard/home.html",
        {
            "recent_jobs": recent,
            "active_jobs": selectors.count_active_jobs(account=account),
            "active_keys": selectors.list_keys(account=account).filter(revoked_at__isnull=True).count(),
            "ready_models": len(selectors.list_ready_models(account=account)),
            "api_base": request.build_absolute_uri("/v1"),
        },
    )


@page
def keys(request: HttpRequest) -> HttpResponse:
    account = account_of(request)
    issued = None
    form = KeyCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # Rendered in this response, never redirected or stored: the raw key is shown once.
        issued = create_api_key(user=user_of(request), name=form.cleaned_data["name"])
        form = KeyCreateForm()
    return render(
        request,
        "dashboard/keys.html",
        {"form": form, "issued": issued, "keys": selectors.list_keys(account=account)},
    )


@page
@require_POST
def key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    key = selectors.get_key(account=account_of(request), key_id=key_id)
    revoke_api_key(api_key=key)
    messages.success(request, f"Key {key.prefix}… is revoked; the API now refuses it.")
    return redirect("dashboard:keys")


@page
@require_GET
def jobs(request: HttpRequest) -> HttpResponse:
    account = account_of(request)
    try:
        page_jobs, has_more = job_selectors.list_jobs(account=account, after=request.GET.get("after") or None, limit=JOBS_PER_PAGE)
    except InvalidRequest:
        return redirect("dashboard:jobs")
    return render(request, "dashboard/jobs.html", {"jobs": page_jobs, "has_more": has_more})


@json_endpoint
@require_GET
def jobs_live(request: HttpRequest) -> JsonResponse:
    """Current state of the listed jobs, for the pages' status polling."""
    job_ids = [job_id for job_id in request.GET.get("ids", "").split(",") if job_id]
    live = selectors.list_live_jobs(account=account_of(request), job_ids=job_ids)
    return JsonResponse({"data": [job_object(job) for job in live]})


@page
@require_GET
def job_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    job = job_selectors.get_job(account=account_of(request), job_id=job_id)
    return render(
        request,
        "dashboard/job_detail.html",
        {
            "job": job,
            "counts": selectors.get_job_counts(job=job),
            "job_json": job_object(job),
            "label_issues": job_selectors.list_label_issues(job=job, after=None, limit=LABEL_ISSUES_SHOWN)[0],
        },
    )


@page
@require_POST
def job_cancel(request: HttpRequest, job_id: str) -> HttpResponse:
    job = job_selectors.get_job(account=account_of(request), job_id=job_id)
    try:
        cancel_job(job=job, by="dashboard")
        messages.success(request, f"Job {job.id} is cancelled.")
    except JobNotCancellable as refused:
        messages.error(request, refused.message)
    return redirect("dashboard:job_detail", job_id=job.id)


@page
@require_GET
def files(request: HttpRequest) -> HttpResponse:
    account = account_of(request)
    recent_files, _ = file_selectors.list_files(account=account, after=None, limit=FILES_SHOWN)
    recent_batches, _ = batch_selectors.list_batches(account=account, after=None, limit=FILES_SHOWN)
    return render(request, "dashboard/files.html", {"files": recent_files, "batches": recent_batches})


@page
@require_GET
def file_download(request: HttpRequest, file_id: str) -> StreamingHttpResponse:
    stored = file_selectors.get_file(account=account_of(request), file_id=file_id)
    response = StreamingHttpResponse(file_bytes(stored.id), content_type="application/octet-stream")
    response["Content-Length"] = str(stored.bytes)
    response["Content-Disposition"] = f'attachment; filename="{stored.id}.jsonl"'
    return response


@page
@require_GET
def models(request: HttpRequest) -> HttpResponse:
    account = account_of(request)
    all_models = list_models(account=account)
    own = [model for model in all_models if model.owned_by == account.public_id]
    defaults = [model for model in all_models if model.owned_by != account.public_id]
    return render(request, "dashboard/models.html", {"own_models": own, "default_models": defaults})


@page
@require_POST
def model_delete(request: HttpRequest) -> HttpResponse:
    form = ModelDeleteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a model to delete.")
        return redirect("dashboard:models")
    name = form.cleaned_data["name"]
    try:
        delete_model(account=account_of(request), name=name)
        messages.success(request, f"Model {name} is deleted, with its versions and jobs.")
    except (ModelNotDeletable, NotFound) as refused:
        messages.error(request, refused.message)
    return redirect("dashboard:models")


@page
@require_GET
def playground(request: HttpRequest) -> HttpResponse:
    account = account_of(request)
    ready = selectors.list_ready_models(account=account)
    return render(
        request,
        "dashboard/playground.html",
        {"models": ready, "own_owner": account.public_id, "preselected": request.GET.get("model", "")},
    )


@json_endpoint
@require_POST
def playground_predict(request: HttpRequest) -> JsonResponse:
    """``{"models": [...], "text": ...}`` → the API's multi-model predict object."""
    body = read_json_object(request)
    _, names = parse_model_names({"models": body.get("models", [])})
    assert names is not None  # "models" is sent: its names, or an InvalidRequest
    text = parse_text(body)
    return JsonResponse(predict_many_models(account=account_of(request), models=names, text=text))


@page
@require_GET
def webhooks(request: HttpRequest) -> HttpResponse:
    account = account_of(request)
    return render(
        request,
        "dashboard/webhooks.html",
        {
            "secret": get_or_create_webhook_secret(account=account),
            "deliveries": selectors.list_recent_deliveries(account=account),
        },
    )


@page
@require_POST
def webhook_secret_rotate(request: HttpRequest) -> HttpResponse:
    rotate_webhook_secret(account=account_of(request))
    messages.success(request, "A new signing secret is in use: every delivery from now on is signed with it.")
    return redirect("dashboard:webhooks")
