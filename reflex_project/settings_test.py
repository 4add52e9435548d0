"""Test settings: the production module with test knobs flipped, nothing else."""

from reflex_project.settings import *  # noqa: F401,F403
from reflex_project.settings import env_int

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REFLEX_JOB_CREATE_RATE = "100000/min"
REFLEX_TRAINING_THREADS = env_int("REFLEX_TRAINING_THREADS", 1)
