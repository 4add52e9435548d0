"""Staff view of uploaded files: who owns what, how large. The bytes stay out of the admin."""

from django.contrib import admin
from django.http import HttpRequest

from files.models import StoredFile


@admin.register(StoredFile)
class StoredFileAdmin(admin.ModelAdmin):
    list_display = ("id", "account", "filename", "purpose", "bytes", "status", "created_at")
    list_filter = ("purpose", "status")
    search_fields = ("id", "filename", "account__user__username")
    list_select_related = ("account__user",)
    readonly_fields = list_display

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # files are uploaded through the API

    def has_change_permission(self, request: HttpRequest, obj: StoredFile | None = None) -> bool:
        return False
