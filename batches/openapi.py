"""The shapes of the Batch endpoints in the OpenAPI document (reflex_project/api/openapi.py).

Schema-only serializers: ``batches.validation`` reads a create body and ``batches.serializers`` builds
the answers.
"""

from rest_framework import serializers

from batches.models import COMPLETION_WINDOW, ENDPOINT, BatchStatus


class RequestCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()


class BatchErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    param = serializers.CharField(allow_null=True)
    line = serializers.IntegerField(allow_null=True)


class BatchErrorsSerializer(serializers.Serializer):
    object = serializers.ChoiceField(choices=["list"])
    # a declared field, which SerializerMetaclass takes out of the class: the stubs see it replace Serializer.data
    data = BatchErrorSerializer(many=True)  # type: ignore[assignment]


class BatchSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="`batch_` and a random part.")
    object = serializers.ChoiceField(choices=["batch"])
    endpoint = serializers.ChoiceField(choices=[ENDPOINT])
    # a declared field, which SerializerMetaclass takes out of the class: the stubs see it replace Serializer.errors
    errors = BatchErrorsSerializer(allow_null=True, help_text="Why it failed: each bad line, numbered, or `output_too_large`.")  # type: ignore[assignment]
    input_file_id = serializers.CharField()
    completion_window = serializers.ChoiceField(choices=[COMPLETION_WINDOW])
    status = serializers.ChoiceField(choices=BatchStatus.values)
    output_file_id = serializers.CharField(allow_null=True, help_text="Answered requests, one JSON line each.")
    error_file_id = serializers.CharField(allow_null=True, help_text="Requests that failed, with their error.")
    created_at = serializers.IntegerField()
    in_progress_at = serializers.IntegerField(allow_null=True)
    expires_at = serializers.IntegerField()
    finalizing_at = serializers.IntegerField(allow_null=True)
    completed_at = serializers.IntegerField(allow_null=True)
    failed_at = serializers.IntegerField(allow_null=True)
    expired_at = serializers.IntegerField(allow_null=True)
    cancelling_at = serializers.IntegerField(allow_null=True)
    cancelled_at = serializers.IntegerField(allow_null=True)
    request_counts = RequestCountsSerializer()
    metadata = serializers.DictField(child=serializers.CharField(), allow_null=True)


class BatchCreateSerializer(serializers.Serializer):
    input_file_id = serializers.CharField(help_text="A file of purpose `batch`: JSONL lines `{custom_id, method, url, body}`.")
    endpoint = serializers.ChoiceField(choices=[ENDPOINT])
    completion_window = serializers.ChoiceField(choices=[COMPLETION_WINDOW])
    metadata = serializers.DictField(child=serializers.CharField(), required=False, allow_null=True)


class BatchListSerializer(serializers.Serializer):
    object = serializers.ChoiceField(choices=["list"])
    # a declared field, which SerializerMetaclass takes out of the class: the stubs see it replace Serializer.data
    data = BatchSerializer(many=True)  # type: ignore[assignment]
    has_more = serializers.BooleanField()
