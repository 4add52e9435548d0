from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from batches.views import BatchCancelView, BatchDetailView, BatchListCreateView
from files.views import FileContentView, FileDetailView, FileListCreateView
from jobs.model_views import ModelDetailView, ModelExportView, ModelListView
from jobs.stream import job_events_endpoint
from jobs.views import JobCancelView, JobDetailView, JobLabelIssuesView, JobListCreateView
from reflex_project.api.openapi import ReferenceView, SchemaView

api = [
    path("v1/fine_tuning/jobs", JobListCreateView.as_view()),
    path("v1/fine_tuning/jobs/<str:job_id>", JobDetailView.as_view()),
    path("v1/fine_tuning/jobs/<str:job_id>/cancel", JobCancelView.as_view()),
    # `?stream=true` goes to the async SSE view, anything else to the list (jobs.views.JobEventsView).
    path("v1/fine_tuning/jobs/<str:job_id>/events", job_events_endpoint),
    path("v1/fine_tuning/jobs/<str:job_id>/label_issues", JobLabelIssuesView.as_view()),
    path("v1/models", ModelListView.as_view()),
    path("v1/models/<path:model>/export", ModelExportView.as_view()),
    path("v1/models/<path:model>", ModelDetailView.as_view()),
    # /v1/reflex/predict and /v1/reflex/synchronous_predict_batch: served beside Django (reflex_project.asgi).
    path("v1/openapi.json", SchemaView.as_view()),  # the contract; /docs/ renders it for people
    path("v1/files", FileListCreateView.as_view()),
    path("v1/files/<str:file_id>", FileDetailView.as_view()),
    path("v1/files/<str:file_id>/content", FileContentView.as_view()),
    path("v1/batches", BatchListCreateView.as_view()),
    path("v1/batches/<str:batch_id>", BatchDetailView.as_view()),
    path("v1/batches/<str:batch_id>/cancel", BatchCancelView.as_view()),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("dashboard/", include("dashboard.urls")),
    path("docs/", ReferenceView.as_view()),
    path("", include("observability.urls")),  # /healthz, /readyz, /metrics
    re_path(r"^(?:dashboard)?$", RedirectView.as_view(url="/dashboard/", permanent=False)),
    *api,
]
handler400 = "reflex_project.api.errors.handler400"
handler404 = "reflex_project.api.errors.handler404"
handler500 = "reflex_project.api.errors.handler500"
