"""Tests only: the test settings plus :class:`testsupport.pause.PauseInCommit` among the ingest hooks
(a child ``manage.py worker`` is started with ``DJANGO_SETTINGS_MODULE=testsupport.settings_pause``)."""

from config.settings_test import *  # noqa: F403
from config.settings_test import INGEST_HOOKS

INGEST_HOOKS = [*INGEST_HOOKS, "testsupport.pause.PauseInCommit"]
