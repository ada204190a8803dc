"""A worker's view of the rules topic: every version, newest one active.

Each worker needs every version, so the topic is not read through a consumer
group, which would hand its one partition to one worker only. A Faust
GlobalTable would read it on every worker, but it keeps a changelog of its
own and folds records into one value per key. Here a plain consumer, assigned
to the partition from its start, runs in a thread and hands each record to
the event loop, where the registry changes. The worker counts as ready once
it has read up to the end the topic had at start. Its processors wait for
that, so nothing is classified with rules older than the log's newest.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from processors import rule_log
from processors.domain.rule_versions import RuleSetRegistry
from processors.domain.rulesets import RuleSetError
from schemas.rule_events import RuleSetApplied
from schemas.rules import RuleSet
from topics import catalog
from topics.settings import BrokerSettings

__all__ = ["RuleSetFeed", "RuleSetUnavailable"]

log = logging.getLogger(__name__)

# A rule set change reaches the worker within about this wait plus one
# round trip; a shorter wait costs idle fetches on the embedded broker.
FETCH_WAIT_MS = 100
POLL_SECONDS = 0.5


class RuleSetUnavailable(LookupError):
    pass


class RuleSetFeed:
    """The registry of one worker, filled from the rules topic by a thread."""

    def __init__(
        self,
        settings: BrokerSettings,
        seed: RuleSet,
        seed_origin: str,
        producer_name: str,
    ) -> None:
        self.settings = settings
        self.seed = seed
        self.seed_origin = seed_origin
        self.producer_name = producer_name
        self.registry = RuleSetRegistry()
        self.position = 0  # the offset after the last record handled
        self.error: BaseException | None = None
        self._ready = asyncio.Event()
        self._progress = asyncio.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_error: Callable[[BaseException], None] | None = None

    @property
    def rules(self) -> RuleSet:
        """Return the active rule set (the seed until the topic was read)."""
        return self.registry.active_rules or self.seed

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def start(
        self,
        loop: asyncio.AbstractEventLoop,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._loop = loop
        self._on_error = on_error
        self._thread = threading.Thread(
            target=self._run, name="rule-set-reader", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    async def wait_ready(self) -> None:
        await self._ready.wait()

    async def rules_for(self, version: int | None, timeout: float = 60.0) -> RuleSet:
        """Return the rules of `version` (None: the active one), waiting up to
        `timeout` seconds for a version this worker has not read yet."""
        await self._ready.wait()
        if version is None:
            return self.rules
        await self._wait_until(lambda: self.registry.get(version) is not None, timeout)
        found = self.registry.rules(version)
        if found is None:
            newest = self.registry.active.version if self.registry.active else None
            raise RuleSetUnavailable(
                f"rule set version {version} is not on {catalog.RULES} after "
                f"{timeout:.0f} s (newest read: {newest})"
            )
        return found

    async def wait_position(self, position: int, timeout: float = 30.0) -> bool:
        """Wait until records before offset `position` are handled."""
        return await self._wait_until(lambda: self.position >= position, timeout)

    async def _wait_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or self.error is not None:
                return False
            try:
                await asyncio.wait_for(self._progress.wait(), remaining)
            except TimeoutError:
                return False
        return True

    # Runs in the reader thread.

    def _run(self) -> None:
        try:
            self._read()
        except Exception as error:  # noqa: BLE001 - reported to the worker
            log.exception("rule set reader failed")
            self._loop.call_soon_threadsafe(self._fail, error)

    def _read(self) -> None:
        consumer = Consumer(
            self.settings.consumer_config(
                **{
                    "group.id": f"workstream-rules-{uuid.uuid4().hex}",
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "fetch.wait.max.ms": FETCH_WAIT_MS,
                }
            )
        )
        try:
            end = self._end_offset(consumer)
            if end == 0:
                self._publish_seed()
                end = self._end_offset(consumer)
            else:
                log.info(
                    "%s has records up to offset %d; %s is not applied unless "
                    "its version is new and it is applied with "
                    "'workstream rules apply'",
                    catalog.RULES,
                    end,
                    self.seed_origin,
                )
            consumer.assign([TopicPartition(catalog.RULES, 0, OFFSET_BEGINNING)])
            while not self._stop.is_set():
                message = consumer.poll(POLL_SECONDS)
                if message is None:
                    continue
                if message.error():
                    log.warning("reading %s failed: %s", catalog.RULES, message.error())
                    continue
                self._handle(message.value(), message.offset(), end)
        finally:
            consumer.close()

    def _end_offset(self, consumer: Consumer) -> int:
        topics = consumer.list_topics(timeout=10).topics
        if catalog.RULES not in topics:
            raise RuleSetUnavailable(
                f"topic {catalog.RULES} does not exist; run 'workstream topics create'"
            )
        _, high = consumer.get_watermark_offsets(
            TopicPartition(catalog.RULES, 0), timeout=10
        )
        return high

    def _publish_seed(self) -> None:
        # NOTE: workers that start together on an empty topic may each publish
        # the seed. Readers keep the first record of the version, but
        # compaction keeps the last one of the key, so after compaction the
        # author and time of the first version may name another worker.
        record = rule_log.new_record(
            self.seed,
            author=f"{self.producer_name} (from {self.seed_origin})",
            comment="initial rule set, published at worker start because "
            f"{catalog.RULES} was empty",
        )
        offset = rule_log.publish(self.settings, record, self.producer_name)
        log.info(
            "%s was empty: published rule set version %d from %s at offset %d",
            catalog.RULES,
            record.version,
            self.seed_origin,
            offset,
        )

    def _handle(self, value: bytes, offset: int, end: int) -> None:
        origin = f"{catalog.RULES}@{offset}"
        try:
            record = rule_log.record_from_value(value, origin)
        except (ValueError, RuleSetError) as error:
            log.error("skipped invalid rule set record %s: %s", origin, error)
            record = None
        self._loop.call_soon_threadsafe(self._accept, record, offset, end)

    # Runs on the event loop.

    def _accept(self, record: RuleSetApplied | None, offset: int, end: int) -> None:
        if record is not None:
            rejected = self.registry.add(record)
            if rejected is None:
                log.info(
                    "rule set version %d active (applied by %s at %s: %s)",
                    record.version,
                    record.applied_by,
                    record.applied_at.isoformat(),
                    record.comment or "no comment",
                )
            else:
                log.warning(
                    "skipped rule set record %s@%d: %s",
                    catalog.RULES,
                    offset,
                    rejected.reason,
                )
        self.position = offset + 1
        if self.position >= end and not self._ready.is_set():
            active = self.registry.active
            log.info(
                "rule sets loaded: %d versions, version %s active",
                len(self.registry),
                active.version if active else None,
            )
            self._ready.set()
        self._notify()

    def _fail(self, error: BaseException) -> None:
        self.error = error
        self._notify()
        if self._on_error is not None:
            self._on_error(error)

    def _notify(self) -> None:
        waiting = self._progress
        self._progress = asyncio.Event()
        waiting.set()
