"""The Faust application: settings, topics and tables shared by the processors."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import aiokafka
import faust

from processors.clock import Clock, clock_from_env
from schemas.rules import RuleSet
from topics import catalog
from topics.settings import EMBEDDED_FETCH_WAIT_MS, BrokerSettings

__all__ = ["Runtime", "create_app"]

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The app, rules and clock shared by every processor of one worker."""

    app: faust.App
    rules: RuleSet
    clock: Clock
    producer_name: str

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
) -> Runtime:
    """Build the Faust app with every processor registered on it."""
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
    runtime = Runtime(app, rules, clock_from_env(), producer_name=worker_name)

    from processors import capture, distributor, tasks, web

    capture.register(runtime)
    tasks.register(runtime)
    distributor.register(runtime)
    web.register(runtime)
    log.info(
        "worker %s configured: broker %s, rule set version %d, data in %s",
        worker_name,
        settings.bootstrap_servers,
        rules.version,
        data_dir,
    )
    return runtime


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
