"""The shapes of the model endpoints in the OpenAPI document (reflex_project/api/openapi.py);
``models_registry.serializers`` builds the answers."""

from rest_framework import serializers

MODES = ["single_label", "multi_label"]


class ModelSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The name to predict with.")
    object = serializers.ChoiceField(["model"])
    created = serializers.IntegerField(help_text="Unix seconds.")
    owned_by = serializers.CharField(help_text="`reflex` for a default Reflex, else the account's public id.")
    labels = serializers.ListField(child=serializers.CharField())
    mode = serializers.ChoiceField(MODES)
    status = serializers.ChoiceField(["ready", "training"])


class ModelVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    job_id = serializers.CharField(allow_null=True, help_text="null for a default Reflex.")
    created = serializers.IntegerField()
    labels = serializers.ListField(child=serializers.CharField())
    mode = serializers.ChoiceField(MODES)
    stack = serializers.CharField()
    trained_examples = serializers.IntegerField()
    result = serializers.DictField(allow_null=True)
    size_bytes = serializers.IntegerField()


class ModelDetailSerializer(ModelSerializer):
    versions = ModelVersionSerializer(many=True, help_text="Newest first.")
    result = serializers.DictField(allow_null=True, help_text="The latest version's held-out metrics.")
    pending_jobs = serializers.ListField(child=serializers.CharField(), help_text="Queued or running jobs that will add a version.")


class ModelListSerializer(serializers.Serializer):
    object = serializers.ChoiceField(["list"])
    # a declared field, which SerializerMetaclass takes out of the class: the stubs see it replace Serializer.data
    data = ModelSerializer(many=True)  # type: ignore[assignment]


class ModelDeletedSerializer(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.ChoiceField(["model"])
    deleted = serializers.BooleanField()
