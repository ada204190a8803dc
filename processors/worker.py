"""Running one Faust worker with every processor."""

from __future__ import annotations

import logging
from pathlib import Path

import faust

from processors.api_tokens import TokenConfigError
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
    origin = str(rules_path) if rules_path else "the shipped rule set"
    try:
        runtime = create_app(settings, rules, data_dir, web_port, name, origin)
    except TokenConfigError as error:
        raise SystemExit(f"invalid API token configuration: {error}") from error
    _quiet_library_loggers(runtime.app, loglevel)
    worker = faust.Worker(runtime.app, loglevel=loglevel, quiet=True)
    worker.execute_from_commandline()


def _quiet_library_loggers(app: faust.App, level: str) -> None:
    """Hold aiokafka, Faust and mode to the worker's level.

    The worker's logging set-up leaves their loggers enabled for DEBUG, and
    building those records cost about 8% of a worker's time under load
    (py-spy, `workstream bench pipeline`).
    """

    @app.task
    async def set_levels() -> None:
        numeric = logging.getLevelName(level.upper())
        for name in ("aiokafka", "faust", "mode", "kafka"):
            logging.getLogger(name).setLevel(numeric)
        log.info("library loggers set to %s", level)
