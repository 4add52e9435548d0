from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from inference.views import predict, synchronous_predict_batch
from jobs.stream import job_events_endpoint
from jobs.views import JobCancelView, JobDetailView, JobLabelIssuesView, JobListCreateView
from models_registry.views import ModelDetailView, ModelListView

api = [
    path("v1/fine_tuning/jobs", JobListCreateView.as_view()),
    path("v1/fine_tuning/jobs/<str:job_id>", JobDetailView.as_view()),
    path("v1/fine_tuning/jobs/<str:job_id>/cancel", JobCancelView.as_view()),
    # `?stream=true` goes to the async SSE view, anything else to the list (jobs.views.JobEventsView).
    path("v1/fine_tuning/jobs/<str:job_id>/events", job_events_endpoint),
    path("v1/fine_tuning/jobs/<str:job_id>/label_issues", JobLabelIssuesView.as_view()),
    path("v1/models", ModelListView.as_view()),
    path("v1/models/<path:model>", ModelDetailView.as_view()),
    path("v1/reflex/predict", predict),
    path("v1/reflex/synchronous_predict_batch", synchronous_predict_batch),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("dashboard/", include("dashboard.urls")),
    re_path(r"^(?:dashboard)?$", RedirectView.as_view(url="/dashboard/", permanent=False)),
    *api,
]
if settings.REFLEX_SERVE_STATIC:
    urlpatterns.append(re_path(r"^static/(?P<path>.*)$", serve_static, {"insecure": True}))

handler404 = "reflex_project.api.errors.handler404"
handler500 = "reflex_project.api.errors.handler500"
