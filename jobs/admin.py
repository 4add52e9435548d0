"""Staff view of jobs, and of the registry's models (``jobs.model_admin``, whose deletion deletes jobs).
Cancel and delete go through jobs.services, exactly as the API does."""

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from jobs import services
from jobs.errors import JobNotCancellable
from jobs.model_admin import ClassifierAdmin, ClassifierVersionAdmin
from jobs.models import FineTuningJob, JobEvent, JobStatus, WorkerNode
from jobs.worker_node import node_state
from models_registry.models import Classifier, ClassifierVersion


class JobEventInline(admin.TabularInline):
    model = JobEvent
    extra = 0
    can_delete = False
    fields = ("seq", "created_at", "level", "type", "message", "data")
    readonly_fields = fields
    ordering = ("seq",)
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: FineTuningJob | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: FineTuningJob | None = None) -> bool:
        return False


@admin.register(FineTuningJob)
class FineTuningJobAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "account", "key_prefix", "suffix", "label_list", "created_at", "finished_at")
    list_filter = ("status", ("account", admin.RelatedOnlyFieldListFilter), "mode", "input_mode")
    search_fields = ("id", "suffix", "account__user__username", "account__public_id")
    list_select_related = ("account__user", "api_key")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    inlines = [JobEventInline]
    actions = ["cancel_selected", "delete_selected_jobs"]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id",
                    "status",
                    "account",
                    "api_key",
                    "suffix",
                    "model",
                    "base_model",
                    "labels",
                    "mode",
                    "input_mode",
                )
            },
        ),
        ("Outcome", {"fields": ("trained_examples", "result", "error")}),
        ("Timing", {"fields": ("created_at", "started_at", "finished_at", "heartbeat_at", "attempts", "node")}),
        ("Delivery", {"fields": ("webhook_url", "seed")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: FineTuningJob | None = None) -> list[str]:
        # A job is changed only by its lifecycle (services), never by editing fields.
        return flatten_fieldsets(self.fieldsets or ())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None):
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # Django's bulk delete would skip delete_job
        return actions

    @admin.display(description="key")
    def key_prefix(self, job: FineTuningJob) -> str:
        return f"{job.api_key.prefix}…" if job.api_key else "—"

    @admin.display(description="labels")
    def label_list(self, job: FineTuningJob) -> str:
        labels = ", ".join(job.labels or [])
        return labels if len(labels) <= 60 else labels[:59] + "…"

    @admin.action(description="Cancel selected jobs", permissions=["change"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[FineTuningJob]) -> None:
        cancelled, refused = 0, []
        for job in queryset:
            try:
                services.cancel_job(job=job, by="admin")
                cancelled += 1
            except JobNotCancellable:
                refused.append(job.id)
        if cancelled:
            self.message_user(request, f"Cancelled {cancelled} job(s).", messages.SUCCESS)
        if refused:
            self.message_user(request, f"Already finished, not cancelled: {', '.join(refused)}.", messages.WARNING)

    @admin.action(description="Delete selected jobs (with their events and model versions)", permissions=["delete"])
    def delete_selected_jobs(self, request: HttpRequest, queryset: QuerySet[FineTuningJob]) -> None:
        jobs = list(queryset)
        for job in jobs:
            services.delete_job(job=job)
        self.message_user(request, f"Deleted {len(jobs)} job(s).", messages.SUCCESS)

    def delete_model(self, request: HttpRequest, obj: FineTuningJob) -> None:
        services.delete_job(job=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[FineTuningJob]) -> None:
        for job in list(queryset):
            services.delete_job(job=job)


@admin.register(WorkerNode)
class WorkerNodeAdmin(admin.ModelAdmin):
    """The worker nodes (``manage.py workers`` shows the same). Read only: a node writes its own row."""

    list_display = ("name", "state", "role", "cluster_list", "host", "pid", "training_slots", "heartbeat_at", "running_jobs")
    list_filter = ("role", "host")
    search_fields = ("name", "host")

    def get_readonly_fields(self, request: HttpRequest, obj: WorkerNode | None = None) -> list[str]:
        return [f.name for f in WorkerNode._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: WorkerNode | None = None) -> bool:
        return False

    @admin.display(description="state")
    def state(self, node: WorkerNode) -> str:
        return node_state(node, timezone.now())

    @admin.display(description="clusters")
    def cluster_list(self, node: WorkerNode) -> str:
        return ", ".join(node.clusters or [])

    @admin.display(description="running jobs")
    def running_jobs(self, node: WorkerNode) -> str:
        ids = FineTuningJob.objects.filter(status=JobStatus.RUNNING, node=node.name).values_list("id", flat=True)
        return ", ".join(ids) or "—"


admin.site.register(Classifier, ClassifierAdmin)
admin.site.register(ClassifierVersion, ClassifierVersionAdmin)
