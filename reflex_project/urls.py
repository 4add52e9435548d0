from django.contrib import admin
from django.urls import path

from inference.views import PredictView
from jobs.views import JobCancelView, JobDetailView, JobEventsView, JobListCreateView
from models_registry.views import ModelDetailView, ModelListView

api = [
    path("v1/fine_tuning/jobs", JobListCreateView.as_view()),
    path("v1/fine_tuning/jobs/<str:job_id>", JobDetailView.as_view()),
    path("v1/fine_tuning/jobs/<str:job_id>/cancel", JobCancelView.as_view()),
    path("v1/fine_tuning/jobs/<str:job_id>/events", JobEventsView.as_view()),
    path("v1/models", ModelListView.as_view()),
    path("v1/models/<path:model>", ModelDetailView.as_view()),
    path("v1/reflex/predict", PredictView.as_view()),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    *api,
]

handler404 = "reflex_project.api.errors.handler404"
handler500 = "reflex_project.api.errors.handler500"
