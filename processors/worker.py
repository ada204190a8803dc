"""Running one Faust worker with every processor."""

from __future__ import annotations

import logging
from pathlib import Path

import faust

from processors.app import create_app
from processors.domain.rulesets import default_rules, load_rules
from topics.settings import BrokerSettings

__all__ = ["run_worker"]

log = logging.getLogger(__name__)


def run_worker(
    settings: BrokerSettings,
    rules_path: Path | None,
    data_dir: Path,
    web_port: int,
    name: str,
    loglevel: str = "warning",
) -> None:
    """Start the worker and block until it is stopped (SIGTERM or Ctrl-C)."""
    rules = load_rules(rules_path) if rules_path else default_rules()
    data_dir.mkdir(parents=True, exist_ok=True)
    runtime = create_app(settings, rules, data_dir, web_port, name)
    worker = faust.Worker(runtime.app, loglevel=loglevel, quiet=True)
    worker.execute_from_commandline()
