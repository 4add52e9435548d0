"""The shapes of the fine-tuning endpoints in the OpenAPI document (reflex_project/api/openapi.py).

Schema-only serializers: ``jobs.validation`` reads a create body and ``jobs.serializers`` builds the
answers; these say the same for the document, and the schemathesis run holds both to it.
"""

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from jobs.models import BASE_MODEL_NAME, EventLevel, EventType, JobStatus
from jobs.validation import MAX_SEED, MODES

NULL = {"type": "null"}
ANY: dict[str, Any] = {}  # any JSON value


@extend_schema_field(NULL)
class AlwaysNull(serializers.Field):
    """Present for OpenAI SDK compatibility; always null."""


@extend_schema_field(ANY)
class AnyValue(serializers.Field):
    """Any JSON value."""


class SingleLabelRowSerializer(serializers.Serializer):
    text = serializers.CharField(min_length=1, max_length=settings.REFLEX_MAX_TEXT_CHARS, trim_whitespace=False)
    # a declared field, which SerializerMetaclass takes out of the class: the stubs see it replace Field.label
    label = serializers.CharField(min_length=1, max_length=100, trim_whitespace=False)  # type: ignore[assignment]


class MultiLabelRowSerializer(serializers.Serializer):
    text = serializers.CharField(min_length=1, max_length=settings.REFLEX_MAX_TEXT_CHARS, trim_whitespace=False)
    labels = serializers.ListField(child=serializers.CharField(min_length=1, max_length=100, trim_whitespace=False))


class GenerateSerializer(serializers.Serializer):
    description = serializers.CharField(min_length=1, max_length=4000, trim_whitespace=False)
    examples_per_label = serializers.IntegerField(min_value=5, max_value=1000, required=False, help_text="Default 500.")


class LabelDataSerializer(serializers.Serializer):
    texts = serializers.ListField(
        child=serializers.CharField(min_length=1, max_length=settings.REFLEX_MAX_TEXT_CHARS, trim_whitespace=False),
        min_length=10,
        max_length=20_000,
    )
    description = serializers.CharField(max_length=4000, required=False, allow_null=True, allow_blank=True, trim_whitespace=False)


class JobCreateSerializer(serializers.Serializer):
    """Exactly one of `training_file`, `training_data`, `generate` and `label_data`."""

    model = serializers.ChoiceField([BASE_MODEL_NAME], required=False, allow_null=True, help_text="The only base encoder.")
    training_data = PolymorphicProxySerializer(
        "TrainingRow",
        [SingleLabelRowSerializer, MultiLabelRowSerializer],
        resource_type_field_name=None,
        many=True,
        min_length=1,
        max_length=settings.REFLEX_MAX_TRAINING_ROWS,
        required=False,
        allow_null=True,
        help_text="`{text, label}` rows (`{text, labels}` in `multi_label` mode), and no other field.",
    )
    generate = GenerateSerializer(required=False, allow_null=True, help_text="Rows written by a language model; needs `labels`.")
    label_data = LabelDataSerializer(required=False, allow_null=True, help_text="Your texts, labelled by a language model; needs `labels`.")
    labels = serializers.ListField(
        child=serializers.CharField(min_length=1, max_length=100, trim_whitespace=False),
        min_length=settings.REFLEX_MIN_LABELS,
        max_length=settings.REFLEX_MAX_LABELS,
        required=False,
        allow_null=True,
        help_text="Distinct. Required with `generate` and `label_data`; inferred from `training_data` otherwise.",
    )
    mode = serializers.ChoiceField(MODES, required=False, allow_null=True, help_text="Default `single_label`.")
    suffix = serializers.RegexField(
        r"^[A-Za-z0-9\-_.]{1,64}$",
        required=False,
        allow_null=True,
        help_text=f"The name the model is served under (else the job id); not starting with `ftjob-`, not `{BASE_MODEL_NAME}`.",
    )
    base_model = serializers.CharField(
        min_length=1,
        max_length=100,
        required=False,
        allow_null=True,
        trim_whitespace=False,
        help_text="Warm start from one of your models (name or job id) or a default Reflex.",
    )
    seed = serializers.IntegerField(min_value=0, max_value=MAX_SEED, required=False, allow_null=True)
    webhook_url = serializers.CharField(min_length=1, max_length=2048, required=False, allow_null=True, help_text="An `https` URL told when the job ends.")
    training_file = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="A file id (`file-...`, purpose `fine-tune`): the rows. Beside an inline input, a value that is not a "
        "file id is tolerated and ignored (SDK callers once had to send one).",
    )
    validation_file = serializers.CharField(max_length=100, required=False, allow_null=True, help_text="A file id: what `result` is measured on.")
    integrations = AnyValue(required=False, help_text="Tolerated and ignored.")
    metadata = AnyValue(required=False, help_text="Tolerated and ignored.")


class JobErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    param = serializers.CharField(allow_null=True)


class JobSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="`ftjob-` and random hex.")
    object = serializers.ChoiceField(["fine_tuning.job"])
    model = serializers.CharField()
    base_model = serializers.CharField(allow_null=True)
    created_at = serializers.IntegerField(help_text="Unix seconds.")
    finished_at = serializers.IntegerField(allow_null=True)
    fine_tuned_model = serializers.CharField(allow_null=True, help_text="The name to predict with, once succeeded.")
    status = serializers.ChoiceField(JobStatus.values)
    labels = serializers.ListField(child=serializers.CharField())
    mode = serializers.ChoiceField(MODES)
    trained_examples = serializers.IntegerField(min_value=0)
    result = serializers.DictField(allow_null=True, help_text="Out-of-fold metrics, once succeeded.")
    error = JobErrorSerializer(allow_null=True)
    suffix = serializers.CharField(allow_null=True)
    webhook_url = serializers.CharField(allow_null=True)
    organization_id = serializers.CharField()
    training_file = serializers.CharField(allow_null=True)
    validation_file = serializers.CharField(allow_null=True)
    hyperparameters = serializers.DictField()
    result_files = serializers.ListField(child=serializers.CharField(), max_length=0)
    seed = serializers.IntegerField()
    trained_tokens = serializers.IntegerField(allow_null=True)
    estimated_finish = serializers.IntegerField(allow_null=True)
    integrations = serializers.ListField(child=serializers.DictField(), max_length=0)
    metadata = AlwaysNull()


class JobListSerializer(serializers.Serializer):
    object = serializers.ChoiceField(["list"])
    # a declared field, which SerializerMetaclass takes out of the class: the stubs see it replace Serializer.data
    data = JobSerializer(many=True)  # type: ignore[assignment]
    has_more = serializers.BooleanField()


class JobDeletedSerializer(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.ChoiceField(["fine_tuning.job"])
    deleted = serializers.BooleanField()


class EventSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="`ftevent-...`")
    object = serializers.ChoiceField(["fine_tuning.job.event"])
    created_at = serializers.IntegerField()
    level = serializers.ChoiceField(EventLevel.values)
    message = serializers.CharField(allow_blank=True)
    type = serializers.ChoiceField(EventType.values)
    # a declared field, which SerializerMetaclass takes out of the class: the stubs see it replace Serializer.data
    data = serializers.DictField(help_text="`{epoch, step, train_loss, ...}` for `metrics` events, else `{}` or details.")  # type: ignore[assignment]


class EventListSerializer(serializers.Serializer):
    object = serializers.ChoiceField(["list"])
    # a declared field, which SerializerMetaclass takes out of the class: the stubs see it replace Serializer.data
    data = EventSerializer(many=True)  # type: ignore[assignment]
    has_more = serializers.BooleanField()


class LabelIssueSerializer(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.ChoiceField(["fine_tuning.job.label_issue"])
    row = serializers.IntegerField(min_value=0, help_text="The row's position in `training_data`, from 0.")
    text = serializers.CharField(allow_blank=True)
    given = serializers.ListField(child=serializers.CharField())
    suggested = serializers.ListField(child=serializers.CharField())
    confidence = serializers.FloatField()


class LabelIssueListSerializer(serializers.Serializer):
    object = serializers.ChoiceField(["list"])
    # a declared field, which SerializerMetaclass takes out of the class: the stubs see it replace Serializer.data
    data = LabelIssueSerializer(many=True)  # type: ignore[assignment]
    has_more = serializers.BooleanField()


EVENT_STREAM = {
    "type": "object",
    "description": "One Server-Sent Event (this schema describes each event of the stream): `id: <event id>` and "
    "`data: <the event object as JSON>`, then a blank line. `: keep-alive` comment lines come at least every 15 s "
    "while nothing happens; the stream closes after the job's terminal event.",
    "required": ["id", "data"],
    "properties": {
        "id": {"type": "string", "description": "The event's id: send it back as `Last-Event-ID` to resume."},
        "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": {"$ref": "#/components/schemas/Event"}},
        "event": {"type": "string", "enum": ["message"]},
    },
}

_TICKETS = [("I was charged twice this month", "billing"), ("The app crashes when I upload a photo", "bug")]
CREATE_EXAMPLES = [
    OpenApiExample(
        "Inline rows",
        {
            "model": BASE_MODEL_NAME,
            "suffix": "support-triage",
            "training_data": [{"text": f"{text} ({n})", "label": label} for text, label in _TICKETS for n in range(5)],
        },
        request_only=True,
    ),
    OpenApiExample(
        "Warm start from one of your models",
        {"base_model": "support-triage", "training_data": [{"text": f"{text} ({n})", "label": label} for text, label in _TICKETS for n in range(5)]},
        request_only=True,
    ),
]
