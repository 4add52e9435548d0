"""Test settings: the production module with test knobs flipped, nothing else."""

from reflex_project.settings import *  # noqa: F401,F403
from reflex_project.settings import env_int, env_str

SECRET_KEY = env_str("SECRET_KEY", "reflex-test-key-not-for-production-9f3c1a7e5b2d4f6081a3c5e7b9d1f3a5")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REFLEX_JOB_CREATE_RATE = "100000/min"
REFLEX_TRAINING_THREADS = env_int("REFLEX_TRAINING_THREADS", 1)
