"""The clock is a dependency so tests can move time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock:
    """Real time, always aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today_local(self) -> date:
        return self.now().astimezone(SHANGHAI).date()


class FrozenClock(Clock):
    """A clock that only moves when told to (tests, replays)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> None:
        self._at += delta

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)


def to_local(moment: datetime) -> datetime:
    """Show a stored UTC moment in Asia/Shanghai."""
    return moment.astimezone(SHANGHAI)
