from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class KeyRateThrottle(SimpleRateThrottle):
    """Per-API-key rate, from a setting (SPEC §7)."""

    setting_name = ""

    def get_rate(self) -> str:
        return getattr(settings, self.setting_name)

    def get_cache_key(self, request, view) -> str | None:
        if request.auth is None:
            return None
        return f"throttle:{self.scope}:{request.auth.pk}"


class JobCreateThrottle(KeyRateThrottle):
    scope = "job_create"
    setting_name = "REFLEX_JOB_CREATE_RATE"


class PredictThrottle(KeyRateThrottle):
    scope = "predict"
    setting_name = "REFLEX_PREDICT_RATE"
