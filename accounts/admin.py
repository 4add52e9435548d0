"""Staff view of accounts and API keys. Revoking goes through accounts.services."""

from typing import TYPE_CHECKING, TypedDict

from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest

from accounts.models import Account, ApiKey
from accounts.services import revoke_api_key

if TYPE_CHECKING:  # django-stubs' helper, a dev requirement
    from django_stubs_ext import WithAnnotations


class _Counts(TypedDict):
    """What ``AccountAdmin.get_queryset`` annotates each account with."""

    _active_keys: int
    _jobs: int


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    can_delete = False
    fields = ("prefix", "name", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Account | None = None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("user", "public_id", "active_keys", "job_count", "created_at")
    search_fields = ("user__username", "user__email", "public_id")
    list_select_related = ("user",)
    readonly_fields = ("user", "public_id", "created_at")
    exclude = ("webhook_secret",)  # a signing secret is shown to its owner only, in the dashboard
    inlines = [ApiKeyInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Account]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                _active_keys=Count("api_keys", filter=Q(api_keys__revoked_at__isnull=True), distinct=True),
                _jobs=Count("jobs", distinct=True),
            )
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # an account is created with its user (create_user, create_api_key)

    @admin.display(description="active keys", ordering="_active_keys")
    def active_keys(self, account: "WithAnnotations[Account, _Counts]") -> int:
        return account._active_keys

    @admin.display(description="jobs", ordering="_jobs")
    def job_count(self, account: "WithAnnotations[Account, _Counts]") -> int:
        return account._jobs


class ActiveFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("active", "active"), ("revoked", "revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> QuerySet[ApiKey]:
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "account", "created_at", "last_used_at", "is_active")
    list_filter = (ActiveFilter,)
    search_fields = ("prefix", "name", "account__user__username")
    list_select_related = ("account__user",)
    readonly_fields = ("prefix", "account", "created_at", "last_used_at", "revoked_at")
    exclude = ("key_hash",)
    actions = ["revoke_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are issued in the dashboard or by create_api_key, where the raw key is shown once

    @admin.display(boolean=True, description="active")
    def is_active(self, key: ApiKey) -> bool:
        return key.is_active

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        keys = list(queryset)
        for key in keys:
            revoke_api_key(api_key=key)
        self.message_user(request, f"Revoked {len(keys)} key(s); the API refuses them now.", messages.SUCCESS)
