"""Starting and stopping everything a run needs: broker, topics and workers.

Used by the demo, the benchmarks and the end-to-end tests, so all three run
the product the way an operator would.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from processors.clock import CLOCK_VARIABLE, Clock, ScaledClock
from topics.admin import create_topics
from topics.broker import EmbeddedBroker, free_port, stop_with_parent
from topics.settings import BrokerSettings

__all__ = ["Stack", "StackError"]

log = logging.getLogger(__name__)


class StackError(RuntimeError):
    pass


# Set to keep a run's temporary directory (worker logs, RocksDB state).
KEEP_RUN_DIR = "WORKSTREAM_KEEP_RUN_DIR"


class Stack:
    """A broker (embedded unless KAFKA_BOOTSTRAP_SERVERS is set), the catalog's
    topics and `workers` worker processes, all stopped on exit."""

    def __init__(
        self,
        workers: int = 1,
        clock: Clock | None = None,
        run_dir: Path | None = None,
        rules_path: Path | None = None,
        worker_log_level: str = "warning",
    ) -> None:
        self.worker_count = workers
        self.clock = clock
        self.owns_run_dir = run_dir is None
        self.run_dir = run_dir or Path(tempfile.mkdtemp(prefix="workstream-"))
        self.failed = False
        self.rules_path = rules_path
        self.worker_log_level = worker_log_level
        self.broker: EmbeddedBroker | None = None
        self.settings: BrokerSettings | None = None
        self.workers: list[tuple[subprocess.Popen, int]] = []

    def start(self) -> BrokerSettings:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.settings = BrokerSettings.from_env()
        if self.settings is None:
            self.broker = EmbeddedBroker(log_path=self.run_dir / "broker.log")
            self.settings = self.broker.start()
        create_topics(self.settings)
        for number in range(1, self.worker_count + 1):
            self.start_worker(number)
        for process, port in self.workers:
            self._wait_healthy(process, port)
        return self.settings

    def start_worker(self, number: int) -> int:
        """Start worker `number` and return its HTTP port."""
        port = free_port()
        environment = {**os.environ, **self.settings.environment()}
        if isinstance(self.clock, ScaledClock):
            environment[CLOCK_VARIABLE] = self.clock.encode()
        command = [
            sys.executable,
            "-m",
            "processors.cli",
            "--log-level",
            self.worker_log_level,
            "worker",
            "--name",
            f"worker-{number}",
            "--data-dir",
            str(self.run_dir / f"worker-{number}"),
            "--web-port",
            str(port),
        ]
        if self.rules_path is not None:
            command += ["--rules", str(self.rules_path)]
        output = open(self.run_dir / f"worker-{number}.log", "ab")
        process = subprocess.Popen(
            command,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=stop_with_parent,
        )
        log.info("started worker-%d (pid %d, port %d)", number, process.pid, port)
        self.workers.append((process, port))
        return port

    def _wait_healthy(
        self, process: subprocess.Popen, port: int, timeout: float = 90.0
    ) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{port}/health/"
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.failed = True
                raise StackError(
                    f"worker exited with code {process.returncode}; see its log in {self.run_dir}"
                )
            try:
                with urllib.request.urlopen(url, timeout=1.0) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        self.failed = True
        raise StackError(
            f"worker on port {port} did not respond within {timeout:.0f} s; see {self.run_dir}"
        )

    def task_state(self, task_id: str, worker: int = 0) -> dict | None:
        """Return a task's current state from a worker's tasks table."""
        import orjson

        port = self.workers[worker][1]
        url = f"http://127.0.0.1:{port}/tasks/{urllib.request.quote(task_id, safe='')}/"
        try:
            with urllib.request.urlopen(url, timeout=5.0) as response:
                return orjson.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise

    def stop(self) -> None:
        for process, _ in self.workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process, _ in self.workers:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                log.warning(
                    "worker pid %d did not stop in 20 s; killing it", process.pid
                )
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        self.workers.clear()
        if self.broker is not None:
            self.broker.stop()
        if self.owns_run_dir and not self.failed and not os.environ.get(KEEP_RUN_DIR):
            shutil.rmtree(self.run_dir, ignore_errors=True)
        elif self.owns_run_dir:
            log.warning("worker logs and state kept in %s", self.run_dir)

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.failed = self.failed or kind not in (None, KeyboardInterrupt)
        self.stop()
