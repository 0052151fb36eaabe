"""Alerts and where they go: a JSON-lines log file always (MESH_ALERT_LOG), an HTTP webhook when
configured (MESH_ALERT_WEBHOOK); see settings.py."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from mesh_platform import settings

WEBHOOK_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class FreshnessAlert:
    kind: str  # breach | recovery
    product: str
    owner: str
    sla_hours: float
    state: str  # failing | warning | passing
    previous_state: str
    last_update: str | None  # ISO time of the latest publish, None if never published
    at: str  # ISO time the state changed
    data_time: str | None = None  # ISO time of the data the product holds (monitoring/data_time.py)
    partition: str | None = None  # of a partitioned product: its newest partition, the one judged

    def body(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        verb = "breached its" if self.kind == "breach" else "is back within its"
        judged = f" (newest partition {self.partition})" if self.partition else ""
        return (f"{self.product}{judged} ({self.owner}) {verb} {self.sla_hours:g} h freshness SLA; last update "
                f"{self.last_update}, data as of {self.data_time}")


class Sink(Protocol):
    def send(self, alert: FreshnessAlert) -> None: ...


@dataclass(frozen=True)
class LogSink:
    path: Path

    def send(self, alert: FreshnessAlert) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as log:  # one short line per write: appends do not interleave
            log.write(json.dumps(alert.body(), sort_keys=True) + "\n")


@dataclass(frozen=True)
class WebhookSink:
    url: str

    def send(self, alert: FreshnessAlert) -> None:
        request = urllib.request.Request(
            self.url, data=json.dumps(alert.body()).encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
            response.read()


def configured_sinks() -> list[Sink]:
    sinks: list[Sink] = [LogSink(settings.alert_log())]
    if webhook := settings.alert_webhook():
        sinks.append(WebhookSink(webhook))
    return sinks


def deliver(alert: FreshnessAlert, sinks: list[Sink]) -> list[str]:
    """Sends to every sink; a sink that fails does not stop the others. Returns the failures."""
    failures = []
    for sink in sinks:
        try:
            sink.send(alert)
        except OSError as exc:  # URLError, HTTPError, timeouts and file errors are all OSErrors
            failures.append(f"{type(sink).__name__}: {exc}")
    return failures
