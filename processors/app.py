"""The Faust application: settings, topics and tables shared by the processors."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import aiokafka
import faust

from processors.clock import Clock, clock_from_env
from processors.rule_feed import RuleSetFeed
from schemas.rules import RuleSet
from topics import catalog
from topics.settings import EMBEDDED_FETCH_WAIT_MS, BrokerSettings

__all__ = ["Runtime", "create_app"]

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The app, rule sets and clock shared by every processor of one worker."""

    app: faust.App
    rule_sets: RuleSetFeed
    clock: Clock
    producer_name: str

    @property
    def rules(self) -> RuleSet:
        """Return the active rule set: the newest version on the rules topic."""
        return self.rule_sets.rules

    def topic(self, name: str) -> faust.TopicT:
        return self.app.topic(
            name,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=catalog.PARTITIONS,
        )

    def table(self, name: str) -> faust.Table:
        return self.app.Table(
            name,
            default=None,
            key_type=bytes,
            value_type=bytes,
            partitions=catalog.PARTITIONS,
        )


def create_app(
    settings: BrokerSettings,
    rules: RuleSet,
    data_dir: Path,
    web_port: int = 6066,
    worker_name: str = "worker",
    rules_origin: str = "the shipped rule set",
) -> Runtime:
    """Build the Faust app with every processor registered on it.

    `rules` is published as the first version when the rules topic is empty;
    otherwise the topic's newest version is active.
    """
    producer_options = {}
    if settings.one_record_batches:
        # One record per batch: see BrokerSettings.
        producer_options = {"producer_max_batch_size": 1, "producer_linger": 0.0}
    if settings.embedded:
        _shorten_fetch_wait(EMBEDDED_FETCH_WAIT_MS)

    app = faust.App(
        catalog.APP_ID,
        broker=f"kafka://{settings.bootstrap_servers}",
        broker_credentials=_credentials(settings),
        store="rocksdb://",
        datadir=str(data_dir),
        topic_partitions=catalog.PARTITIONS,
        topic_allow_declare=False,
        topic_disable_leader=True,
        broker_session_timeout=6.0,
        broker_heartbeat_interval=1.0,
        broker_rebalance_timeout=30.0,
        stream_wait_empty=False,
        web_enabled=True,
        web_port=web_port,
        web_bind="127.0.0.1",
        web_host="127.0.0.1",
        table_cleanup_interval=3600.0,
        **producer_options,
    )
    feed = RuleSetFeed(settings, rules, rules_origin, worker_name)
    runtime = Runtime(app, feed, clock_from_env(), producer_name=worker_name)
    _start_rule_feed(runtime)

    from processors import capture, distributor, rules_api, tasks, web

    capture.register(runtime)
    tasks.register(runtime)
    distributor.register(runtime)
    web.register(runtime)
    rules_api.register(runtime)
    log.info(
        "worker %s configured: broker %s, rule set version %d from %s until the "
        "rules topic is read, data in %s",
        worker_name,
        settings.bootstrap_servers,
        rules.version,
        rules_origin,
        data_dir,
    )
    return runtime


def _start_rule_feed(runtime: Runtime) -> None:
    """Read the rules topic from the worker's start until it stops; a reader
    that fails stops the worker, which cannot classify without rules."""
    app = runtime.app

    @app.task
    async def read_rule_sets() -> None:
        def crash(error: BaseException) -> None:
            log.error("stopping the worker: %s", error)
            asyncio.ensure_future(app.crash(error))

        runtime.rule_sets.start(asyncio.get_running_loop(), on_error=crash)

    @app.on_before_shutdown.connect
    async def stop_rule_sets(app, **kwargs) -> None:
        runtime.rule_sets.stop()


def _shorten_fetch_wait(wait_ms: int) -> None:
    """Make Faust's consumers wait at most `wait_ms` per fetch.

    faust-streaming 0.15 creates its aiokafka consumer with a fixed
    fetch_max_wait_ms of 1500 and no setting to change it, so the consumer
    class is replaced by one that lowers it, in this worker process only.
    """

    class ShortWaitConsumer(aiokafka.AIOKafkaConsumer):
        def __init__(self, *topics, **options) -> None:
            options["fetch_max_wait_ms"] = min(
                options.get("fetch_max_wait_ms", wait_ms), wait_ms
            )
            super().__init__(*topics, **options)

    aiokafka.AIOKafkaConsumer = ShortWaitConsumer


def _credentials(settings: BrokerSettings) -> faust.SASLCredentials | None:
    if not settings.sasl_mechanism:
        return None
    ssl_context = None
    if settings.ssl_cafile:
        ssl_context = faust.ssl.create_default_context(cafile=settings.ssl_cafile)
    return faust.SASLCredentials(
        username=settings.sasl_username or "",
        password=settings.sasl_password or "",
        mechanism=settings.sasl_mechanism,
        ssl_context=ssl_context,
    )


def default_data_dir() -> Path:
    return Path(os.environ.get("WORKSTREAM_DATA_DIR", "var/worker"))
