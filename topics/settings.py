"""Broker connection settings, read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["EMBEDDED_FETCH_WAIT_MS", "BrokerSettings"]

# The embedded broker returns a fetch only when its maximum wait has passed,
# even when records arrive sooner. Measured with Tansu 0.6.0: about half the
# wait was added to every hop, so consumers of it wait briefly.
EMBEDDED_FETCH_WAIT_MS = 10


@dataclass(frozen=True)
class BrokerSettings:
    """Connection settings of one broker or cluster.

    `embedded` marks the in-memory broker started by Workstream. Its high
    watermark counts batches, not records, so producers must then send one
    record per batch or table recovery reads too little.
    """

    bootstrap_servers: str
    embedded: bool = False
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_cafile: str | None = None

    @classmethod
    def from_env(cls) -> BrokerSettings | None:
        """Return settings from KAFKA_* variables, or None when no broker is set."""
        servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not servers:
            return None
        return cls(
            bootstrap_servers=servers,
            embedded=os.environ.get("WORKSTREAM_EMBEDDED_BROKER") == "1",
            security_protocol=os.environ.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"),
            sasl_mechanism=os.environ.get("KAFKA_SASL_MECHANISM"),
            sasl_username=os.environ.get("KAFKA_SASL_USERNAME"),
            sasl_password=os.environ.get("KAFKA_SASL_PASSWORD"),
            ssl_cafile=os.environ.get("KAFKA_SSL_CAFILE"),
        )

    def environment(self) -> dict[str, str]:
        """Return the variables that hand these settings to a child process."""
        variables = {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "WORKSTREAM_EMBEDDED_BROKER": "1" if self.embedded else "0",
            "KAFKA_SECURITY_PROTOCOL": self.security_protocol,
        }
        optional = {
            "KAFKA_SASL_MECHANISM": self.sasl_mechanism,
            "KAFKA_SASL_USERNAME": self.sasl_username,
            "KAFKA_SASL_PASSWORD": self.sasl_password,
            "KAFKA_SSL_CAFILE": self.ssl_cafile,
        }
        variables.update({k: v for k, v in optional.items() if v})
        return variables

    @property
    def one_record_batches(self) -> bool:
        """Whether producers must send one record per batch (see the class doc).

        WORKSTREAM_BATCHING=1 turns the workaround off, for benchmarks that
        measure its cost; table recovery is then unreliable on the embedded
        broker.
        """
        return self.embedded and os.environ.get("WORKSTREAM_BATCHING") != "1"

    def producer_config(self, **extra: str | int | float | bool) -> dict:
        """Return a confluent-kafka producer configuration."""
        config = self.confluent(
            # The Java client's and aiokafka's partitioner, so a key lands on
            # the same partition whichever client produced it.
            partitioner="murmur2_random",
        )
        if self.one_record_batches:
            config["batch.num.messages"] = 1
            config["linger.ms"] = 0
        config.update(extra)
        return config

    def consumer_config(self, **extra: str | int | float | bool) -> dict:
        """Return a confluent-kafka consumer configuration."""
        config = self.confluent()
        if self.embedded:
            config["fetch.wait.max.ms"] = EMBEDDED_FETCH_WAIT_MS
        config.update(extra)
        return config

    def confluent(self, **extra: str | int | float | bool) -> dict:
        """Return the confluent-kafka settings common to every client."""
        config: dict = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
            # Errors only: librdkafka logs every idle disconnect at level 6.
            "log_level": 3,
        }
        if self.sasl_mechanism:
            config["sasl.mechanism"] = self.sasl_mechanism
            config["sasl.username"] = self.sasl_username or ""
            config["sasl.password"] = self.sasl_password or ""
        if self.ssl_cafile:
            config["ssl.ca.location"] = self.ssl_cafile
        config.update(extra)
        return config
