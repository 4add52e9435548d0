"""The shapes of the Files endpoints in the OpenAPI document (reflex_project/api/openapi.py).

Schema-only serializers: ``files.uploads`` reads an upload and ``files.serializers`` builds the answers.
"""

from rest_framework import serializers

from files.models import UPLOAD_PURPOSES, FilePurpose, FileStatus


class FileSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="`file-` and a random part.")
    object = serializers.ChoiceField(choices=["file"])
    bytes = serializers.IntegerField()
    created_at = serializers.IntegerField(help_text="Unix seconds.")
    expires_at = serializers.IntegerField(allow_null=True, help_text="Always null: files are kept until deleted.")
    filename = serializers.CharField()
    purpose = serializers.ChoiceField(choices=FilePurpose.values)
    status = serializers.ChoiceField(choices=FileStatus.values)
    status_details = serializers.CharField(allow_null=True)


class FileUploadSerializer(serializers.Serializer):
    """The multipart form of ``POST /v1/files``."""

    file = serializers.FileField(help_text="JSONL: training rows (`fine-tune`) or batch requests (`batch`).")
    purpose = serializers.ChoiceField(choices=[purpose.value for purpose in UPLOAD_PURPOSES])


class FileDeletedSerializer(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.ChoiceField(choices=["file"])
    deleted = serializers.BooleanField()


class FileListSerializer(serializers.Serializer):
    object = serializers.ChoiceField(choices=["list"])
    # a declared field, which SerializerMetaclass takes out of the class: the stubs see it replace Serializer.data
    data = FileSerializer(many=True)  # type: ignore[assignment]
    has_more = serializers.BooleanField()
