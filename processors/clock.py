"""Clocks for the adapters. The domain core never reads a clock itself.

The live system runs on the wall clock. The demo and benchmarks replay past
traffic on a scaled clock, shared by every process through one environment
variable, so that business time runs `speed` times faster than wall time.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["CLOCK_VARIABLE", "Clock", "ScaledClock", "WallClock", "clock_from_env"]

CLOCK_VARIABLE = "WORKSTREAM_CLOCK"


class Clock:
    # How far a desktop's clock may differ from this one, in wall seconds.
    SKEW_WALL_SECONDS = 120.0

    def now(self) -> datetime:
        raise NotImplementedError

    def skew_tolerance(self) -> timedelta:
        """Return the business time a desktop's clock may be off by."""
        return timedelta(seconds=self.SKEW_WALL_SECONDS)

    def wall_seconds(self, business: timedelta) -> float:
        """Return how many wall-clock seconds a business duration takes."""
        return business.total_seconds()


class WallClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class ScaledClock(Clock):
    """Business time that starts at `origin` at wall time `wall_origin`."""

    origin: datetime
    wall_origin: float
    speed: float

    def now(self) -> datetime:
        elapsed = (time.time() - self.wall_origin) * self.speed
        return self.origin + timedelta(seconds=elapsed)

    def wall_seconds(self, business: timedelta) -> float:
        return business.total_seconds() / self.speed

    def skew_tolerance(self) -> timedelta:
        # Replays run the desktops in the same process group: two wall
        # seconds of skew are plenty.
        return timedelta(seconds=2.0 * self.speed)

    def wall_time_of(self, moment: datetime) -> float:
        """Return the wall time (epoch seconds) at which business time reaches `moment`."""
        return self.wall_origin + (moment - self.origin).total_seconds() / self.speed

    def encode(self) -> str:
        return f"scaled|{self.origin.isoformat()}|{self.wall_origin!r}|{self.speed!r}"


def clock_from_env() -> Clock:
    """Read the clock from WORKSTREAM_CLOCK; the wall clock when it is unset."""
    value = os.environ.get(CLOCK_VARIABLE, "")
    if not value or value == "wall":
        return WallClock()
    kind, origin, wall_origin, speed = value.split("|")
    if kind != "scaled":
        raise ValueError(f"{CLOCK_VARIABLE}={value!r}: expected 'wall' or 'scaled|...'")
    return ScaledClock(datetime.fromisoformat(origin), float(wall_origin), float(speed))
