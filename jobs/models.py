import secrets

from django.db import models
from django.utils import timezone

from accounts.models import Account, ApiKey

BASE_MODEL_NAME = "morph-reflex-v1"
JOB_ID_PREFIX = "ftjob-"


def new_job_id() -> str:
    return JOB_ID_PREFIX + secrets.token_hex(12)


def new_event_id() -> str:
    return "ftevent-" + secrets.token_hex(12)


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})
ACTIVE_STATUSES = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})


class InputMode(models.TextChoices):
    TRAINING_DATA = "training_data"
    GENERATE = "generate"
    LABEL_DATA = "label_data"


class FineTuningJob(models.Model):
    """The truth about a job. The queue only carries "look at job N"; this row decides."""

    id = models.CharField(primary_key=True, max_length=40, default=new_job_id, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="jobs")
    api_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="jobs")
    model = models.CharField(max_length=64, default=BASE_MODEL_NAME)
    base_model = models.CharField(max_length=100, null=True, blank=True)
    base_version = models.ForeignKey("models_registry.ClassifierVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    suffix = models.CharField(max_length=64, null=True, blank=True, db_index=True)
    labels = models.JSONField(default=list)
    mode = models.CharField(max_length=16, default="single_label")
    input_mode = models.CharField(max_length=16, choices=InputMode.choices, default=InputMode.TRAINING_DATA)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    run_token = models.CharField(max_length=40, blank=True, default="")
    running_slot = models.PositiveSmallIntegerField(null=True, blank=True)
    node = models.CharField(max_length=200, blank=True, default="")  # the worker node running it (WorkerNode.name)
    attempts = models.PositiveIntegerField(default=0)
    trained_examples = models.PositiveIntegerField(default=0)
    trained_tokens = models.BigIntegerField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    webhook_url = models.CharField(max_length=2048, null=True, blank=True)
    training_file = models.CharField(max_length=100, null=True, blank=True)  # the file ids it was given (files app)
    validation_file = models.CharField(max_length=100, null=True, blank=True)
    seed = models.IntegerField(default=0)
    estimated_finish = models.DateTimeField(null=True, blank=True)
    event_seq = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["api_key", "status", "created_at"], name="job_key_status_created")]
        constraints = [
            # The per-key limit, held by the database itself: a running job owns one of its key's
            # numbered slots (1..REFLEX_MAX_RUNNING_JOBS_PER_KEY) and no two running jobs share one.
            models.UniqueConstraint(
                fields=["api_key", "running_slot"],
                condition=models.Q(status="running"),
                name="job_running_slot_unique_per_key",
            ),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def served_name(self) -> str:
        """The name the model is served under once the job succeeds."""
        return self.suffix or self.id


class WorkerNode(models.Model):
    """A running ``manage.py worker`` (jobs/node.py): written when it starts, heartbeated by its main
    process, removed when it stops. A row whose heartbeat is older than the job heartbeat timeout is a
    node that died (``manage.py workers`` says so). django-q2's own cluster stats live in the cache,
    which without Redis is per process: a model is what every process can read."""

    name = models.CharField(primary_key=True, max_length=200)
    role = models.CharField(max_length=16)
    clusters = models.JSONField(default=list)  # django-q2 cluster names it runs
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    training_slots = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    heartbeat_at = models.DateTimeField(default=timezone.now)
    stopping_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class JobInput(models.Model):
    """The request's data, kept apart so job reads never drag 50,000 rows along."""

    job = models.OneToOneField(FineTuningJob, on_delete=models.CASCADE, primary_key=True, related_name="input")
    payload = models.JSONField()


class LabelIssue(models.Model):
    """A training row whose given label the job's out-of-fold model confidently disputes; ``rank`` 0 is
    the most suspicious."""

    job = models.ForeignKey(FineTuningJob, on_delete=models.CASCADE, related_name="label_issues")
    rank = models.PositiveIntegerField()
    row = models.PositiveIntegerField()  # the row's position in the training data as given
    text = models.TextField()
    given = models.JSONField()
    suggested = models.JSONField()
    confidence = models.FloatField()

    class Meta:
        ordering = ["job", "rank"]
        constraints = [models.UniqueConstraint(fields=["job", "rank"], name="label_issue_rank_unique")]

    @property
    def public_id(self) -> str:
        return f"labelissue-{self.rank}"


class EventLevel(models.TextChoices):
    INFO = "info"
    WARN = "warn"
    ERROR = "error"


class EventType(models.TextChoices):
    MESSAGE = "message"
    METRICS = "metrics"


class JobEvent(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=new_event_id, editable=False)
    job = models.ForeignKey(FineTuningJob, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    level = models.CharField(max_length=8, choices=EventLevel.choices, default=EventLevel.INFO)
    type = models.CharField(max_length=16, choices=EventType.choices, default=EventType.MESSAGE)
    message = models.TextField()
    data = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["job", "seq"]
        constraints = [models.UniqueConstraint(fields=["job", "seq"], name="job_event_seq_unique")]

    def __str__(self) -> str:
        return f"{self.job_id}#{self.seq} {self.message}"
