"""Shared fixtures: the e2e tests start the real stack once per module."""

from __future__ import annotations

import logging

logging.getLogger("confluent_kafka").setLevel(logging.WARNING)
