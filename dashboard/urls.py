from django.contrib.auth import views as auth_views
from django.urls import path, re_path

from dashboard import stream, views

app_name = "dashboard"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="dashboard/login.html", redirect_authenticated_user=True, next_page="dashboard:home"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="dashboard:login"), name="logout"),
    path("", views.home, name="home"),
    path("keys/", views.keys, name="keys"),
    path("keys/<int:key_id>/revoke", views.key_revoke, name="key_revoke"),
    path("jobs/", views.jobs, name="jobs"),
    path("jobs/live", views.jobs_live, name="jobs_live"),
    path("jobs/<str:job_id>/", views.job_detail, name="job_detail"),
    path("jobs/<str:job_id>/cancel", views.job_cancel, name="job_cancel"),
    path("jobs/<str:job_id>/events/stream", stream.job_events_stream, name="job_events_stream"),
    path("models/", views.models, name="models"),
    path("models/delete", views.model_delete, name="model_delete"),
    path("files/", views.files, name="files"),
    path("files/<str:file_id>/content", views.file_download, name="file_download"),
    path("playground/", views.playground, name="playground"),
    path("playground/predict", views.playground_predict, name="playground_predict"),
    path("webhooks/", views.webhooks, name="webhooks"),
    path("webhooks/rotate", views.webhook_secret_rotate, name="webhook_secret_rotate"),
    re_path(r"^.*$", views.not_found),  # an HTML 404 here; the API's JSON 404 everywhere else
]
