"""Test settings: fast hashing, in-memory e-mail, tasks run where enqueued unless a test says otherwise."""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdefghijklmnop")

from .base import *  # noqa: F403
from .base import VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "test-media"
# Tasks run where they are enqueued; tests of real workers use the "database" backend instead.
TASKS = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]},
    "database": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]},
}
PIPELINE_STALE_SECONDS = 3
if DATABASES["default"]["ENGINE"] in ("estatecrm.core.sqlite", "django.db.backends.sqlite3"):  # noqa: F405
    # A file, not memory: worker processes started by tests open the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}  # noqa: F405
else:
    # One test database per test run, so two runs on the same server never collide.
    DATABASES["default"]["TEST"] = {"NAME": f"test_estatecrm_{os.getpid()}"}  # noqa: F405
AXES_ENABLED = True
