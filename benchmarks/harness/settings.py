"""How long each section measures: the full run, ``--quick`` and ``--smoke``.

Every count and duration is bounded here, so a run always ends by itself.
``--smoke`` is what the test suite runs: a few requests of everything, to
prove that the suite still works, with numbers that mean nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Settings:
    """The sizes of one benchmark run."""

    name: str
    #: In-process: rounds, and the time each contender gets per round.
    rounds: int
    batch_seconds: float
    #: Bounds on the requests of one in-process batch.
    min_batch: int
    max_batch: int
    #: Over HTTP: rounds, seconds of load per contender and round, connections.
    http_rounds: int
    http_seconds: int
    http_connections: int
    #: Over HTTP, the notes page: bearer tokens that wrk's requests take in turn.
    http_tokens: int
    #: Page depth: notes in the organization, rounds, requests per sample.
    notes: int
    depth_rounds: int
    depth_batch: int
    #: Start-up: fresh interpreters per contender.
    startup_rounds: int
    #: Webhooks: rounds of 1 then 4 workers, deliveries owed to each, and
    #: the events of the burst that 4 idle workers then deliver.
    webhook_rounds: int
    webhook_deliveries: int
    webhook_burst: int
    #: ``mything.Client``: rounds, and calls per contender and round.
    client_rounds: int
    client_calls: int

    def with_overrides(self, **changes: object) -> Settings:
        """Return these settings with the given fields changed (``None`` keeps)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


FULL = Settings(
    name="full",
    rounds=15,
    batch_seconds=0.3,
    min_batch=20,
    max_batch=20_000,
    http_rounds=5,
    http_seconds=8,
    http_connections=4,
    http_tokens=8,
    notes=200_000,
    depth_rounds=15,
    depth_batch=20,
    startup_rounds=10,
    webhook_rounds=3,
    webhook_deliveries=1_000,
    webhook_burst=10_000,
    client_rounds=15,
    client_calls=500,
)

QUICK = Settings(
    name="quick",
    rounds=7,
    batch_seconds=0.15,
    min_batch=10,
    max_batch=10_000,
    http_rounds=3,
    http_seconds=4,
    http_connections=4,
    http_tokens=8,
    notes=200_000,
    depth_rounds=7,
    depth_batch=10,
    startup_rounds=5,
    webhook_rounds=2,
    webhook_deliveries=400,
    webhook_burst=2_000,
    client_rounds=7,
    client_calls=250,
)

SMOKE = Settings(
    name="smoke",
    rounds=2,
    batch_seconds=0.001,
    min_batch=2,
    max_batch=5,
    http_rounds=1,
    http_seconds=1,
    http_connections=2,
    http_tokens=2,
    notes=2_000,
    depth_rounds=2,
    depth_batch=2,
    startup_rounds=1,
    webhook_rounds=1,
    webhook_deliveries=10,
    webhook_burst=40,
    client_rounds=2,
    client_calls=20,
)

PRESETS = {preset.name: preset for preset in (FULL, QUICK, SMOKE)}
