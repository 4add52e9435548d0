"""Staff view of batches. Cancelling goes through batches.services."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from batches.errors import BatchNotCancellable
from batches.models import Batch
from batches.services import cancel_batch


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ("id", "account", "status", "request_total", "request_completed", "request_failed", "created_at")
    list_filter = ("status",)
    search_fields = ("id", "input_file_id", "account__user__username")
    list_select_related = ("account__user",)
    readonly_fields = [field.name for field in Batch._meta.fields]
    actions = ["cancel_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Cancel the selected batches (keeps their answers so far)")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Batch]) -> None:
        for batch in queryset:
            try:
                cancel_batch(batch=batch)
            except BatchNotCancellable as error:
                messages.warning(request, error.message)
