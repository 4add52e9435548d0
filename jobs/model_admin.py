"""Staff view of the registry's models and their versions: metrics and stack; artifact bytes never leave
the database. Registered by ``jobs.admin``.

It lives with jobs because deleting goes as the API's does: a model with the jobs that trained it
(``jobs.services.delete_model``), a trained version with its job (``jobs.services.delete_job``); the
registry below knows no jobs. A version no job trained goes through ``models_registry.services``.
"""

from typing import TYPE_CHECKING, TypedDict

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat

from jobs.models import FineTuningJob
from jobs.services import delete_job, delete_model
from models_registry.errors import ModelNotDeletable
from models_registry.models import Classifier, ClassifierVersion
from models_registry.services import delete_versions

if TYPE_CHECKING:  # django-stubs' helper, a dev requirement
    from django_stubs_ext import WithAnnotations


class _VersionCount(TypedDict):
    """What ``ClassifierAdmin.get_queryset`` annotates each model with."""

    _versions: int


VERSION_FIELDS = (
    "classifier",
    "number",
    "job_id",
    "labels",
    "mode",
    "stack",
    "metrics",
    "trained_examples",
    "artifact_size",
    "data_digest",
    "created_at",
)


def _accuracy(version: ClassifierVersion) -> str:
    value = (version.metrics or {}).get("accuracy")
    return f"{value:.3f}" if isinstance(value, (int, float)) else "—"


class ClassifierVersionInline(admin.TabularInline):
    model = ClassifierVersion
    extra = 0
    can_delete = False
    fields = ("number", "job_id", "mode", "trained_examples", "accuracy", "stack", "created_at")
    readonly_fields = fields
    ordering = ("-number",)
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[ClassifierVersion]:
        return super().get_queryset(request).defer("artifact")

    def has_add_permission(self, request: HttpRequest, obj: Classifier | None = None) -> bool:
        return False

    @admin.display(description="accuracy")
    def accuracy(self, version: ClassifierVersion) -> str:
        return _accuracy(version)


class ClassifierAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "version_count", "created_at")
    list_filter = (("account", admin.EmptyFieldListFilter),)
    search_fields = ("name", "account__user__username", "account__public_id")
    list_select_related = ("account__user",)
    readonly_fields = ("name", "account", "created_at")
    inlines = [ClassifierVersionInline]
    actions = ["delete_selected_models"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Classifier]:
        return super().get_queryset(request).annotate(_versions=Count("versions"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Classifier | None = None) -> bool:
        if obj is not None and obj.is_default:
            return False  # default Reflexes are not deletable (the API answers model_not_deletable)
        return super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="owner", ordering="account")
    def owner(self, classifier: Classifier) -> str:
        return str(classifier.account) if classifier.account_id else "default Reflex"

    @admin.display(description="versions", ordering="_versions")
    def version_count(self, classifier: "WithAnnotations[Classifier, _VersionCount]") -> int:
        return classifier._versions

    @admin.action(description="Delete selected models (all versions and their jobs)", permissions=["delete"])
    def delete_selected_models(self, request: HttpRequest, queryset: QuerySet[Classifier]) -> None:
        deleted, refused = 0, []
        for classifier in queryset.select_related("account"):
            try:
                self.delete_model(request, classifier)
                deleted += 1
            except ModelNotDeletable:
                refused.append(classifier.name)
        if deleted:
            self.message_user(request, f"Deleted {deleted} model(s).", messages.SUCCESS)
        if refused:
            self.message_user(request, f"Default Reflexes are not deletable: {', '.join(refused)}.", messages.WARNING)

    def delete_model(self, request: HttpRequest, obj: Classifier) -> None:
        if obj.account is None:  # a default Reflex
            raise ModelNotDeletable(f"{obj.name!r} is a default Reflex and cannot be deleted.", param="model")
        delete_model(account=obj.account, name=obj.name)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Classifier]) -> None:
        for classifier in queryset.filter(account__isnull=False).select_related("account"):
            assert classifier.account is not None  # filtered above
            delete_model(account=classifier.account, name=classifier.name)


class ClassifierVersionAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "owner",
        "mode",
        "trained_examples",
        "accuracy",
        "f1_score",
        "size",
        "stack",
        "created_at",
    )
    list_filter = ("mode", "stack", ("classifier__account", admin.EmptyFieldListFilter))
    search_fields = ("classifier__name", "job_id", "classifier__account__user__username")
    list_select_related = ("classifier__account__user",)
    fields = VERSION_FIELDS
    readonly_fields = VERSION_FIELDS

    def get_queryset(self, request: HttpRequest) -> QuerySet[ClassifierVersion]:
        return super().get_queryset(request).defer("artifact")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="owner", ordering="classifier__account")
    def owner(self, version: ClassifierVersion) -> str:
        account = version.classifier.account
        return str(account) if account else "default Reflex"

    @admin.display(description="accuracy")
    def accuracy(self, version: ClassifierVersion) -> str:
        return _accuracy(version)

    @admin.display(description="F1")
    def f1_score(self, version: ClassifierVersion) -> str:
        value = (version.metrics or {}).get("f1_score")
        return f"{value:.3f}" if isinstance(value, (int, float)) else "—"

    @admin.display(description="size", ordering="artifact_size")
    def size(self, version: ClassifierVersion) -> str:
        return filesizeformat(version.artifact_size)

    def delete_model(self, request: HttpRequest, obj: ClassifierVersion) -> None:
        # A trained version goes with its job, as DELETE /v1/models/<job id> does.
        job = FineTuningJob.objects.filter(pk=obj.job_id).first() if obj.job_id is not None else None
        if job is not None:
            delete_job(job=job)
        else:
            delete_versions(versions=[obj])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ClassifierVersion]) -> None:
        for version in list(queryset.defer("artifact")):
            self.delete_model(request, version)
