"""The staff group: what a user made with ``create_user NAME --staff`` may do in the admin.

Staff inspect accounts, keys, jobs, models, versions and webhook deliveries, and cancel jobs (the
admin's cancel action needs the change permission on jobs; every job field stays read-only). Deleting
and anything else stay with superusers.
"""

from django.contrib.auth.models import Group, Permission

STAFF_GROUP = "Reflex staff"
STAFF_PERMISSIONS = (
    "accounts.view_account",
    "accounts.view_apikey",
    "jobs.view_finetuningjob",
    "jobs.change_finetuningjob",
    "jobs.view_jobevent",
    "models_registry.view_classifier",
    "models_registry.view_classifierversion",
    "webhooks.view_delivery",
    "webhooks.view_deliveryattempt",
)


def get_or_create_staff_group() -> Group:
    """The group with at least ``STAFF_PERMISSIONS``; safe to call again (permissions an operator added
    to it are kept)."""
    group, _ = Group.objects.get_or_create(name=STAFF_GROUP)
    wanted = [name.split(".") for name in STAFF_PERMISSIONS]
    permissions = [Permission.objects.get(content_type__app_label=app, codename=codename) for app, codename in wanted]
    group.permissions.add(*permissions)
    return group
