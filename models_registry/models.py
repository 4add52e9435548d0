from django.db import models
from django.db.models import Q

from accounts.models import Account


class Classifier(models.Model):
    """A served name: an account's model (its suffix or job id) or, with no account, a default Reflex."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, null=True, blank=True, related_name="classifiers")
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="classifier_owner_name_unique"),
            models.UniqueConstraint(fields=["name"], condition=Q(account__isnull=True), name="default_classifier_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_default(self) -> bool:
        return self.account_id is None


class ClassifierVersion(models.Model):
    """One trained model: what a succeeded job produced (or a default Reflex's training)."""

    classifier = models.ForeignKey(Classifier, on_delete=models.CASCADE, related_name="versions")
    # The id of the fine-tuning job that trained it (None for a default Reflex's training), kept as a plain
    # id because the registry knows no jobs. The version also answers to it as a name; deleting the job deletes
    # the version with it (jobs.services.delete_job).
    job_id = models.CharField(max_length=40, null=True, blank=True, unique=True)
    number = models.PositiveIntegerField()
    labels = models.JSONField()
    mode = models.CharField(max_length=16)
    stack = models.CharField(max_length=200)
    metrics = models.JSONField(default=dict)
    trained_examples = models.PositiveIntegerField(default=0)
    artifact = models.BinaryField()
    artifact_size = models.PositiveIntegerField(default=0)
    data_digest = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["classifier", "-number"]
        constraints = [models.UniqueConstraint(fields=["classifier", "number"], name="classifier_version_unique")]

    def __str__(self) -> str:
        return f"{self.classifier.name} v{self.number}"
