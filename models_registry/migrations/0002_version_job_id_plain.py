"""``ClassifierVersion.job`` (a one-to-one foreign key to jobs' table) becomes ``job_id``, a plain id.

The column keeps its name, type, values and unique index; only the foreign key constraint is dropped,
so an existing database upgrades with ``manage.py migrate`` and loses nothing. Deleting a job deletes
its version in ``jobs.services.delete_job`` rather than by the database's cascade.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("models_registry", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterField(
                    model_name="classifierversion",
                    name="job",
                    field=models.OneToOneField(
                        blank=True,
                        null=True,
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="model_version",
                        to="jobs.finetuningjob",
                    ),
                ),
            ],
            state_operations=[
                migrations.RemoveField(model_name="classifierversion", name="job"),
                migrations.AddField(
                    model_name="classifierversion",
                    name="job_id",
                    field=models.CharField(blank=True, max_length=40, null=True, unique=True),
                ),
            ],
        ),
    ]
