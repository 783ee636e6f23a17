"""The parameters of one load run, shared by the runner and its worker processes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

SCENARIOS = ("boot-storm", "steady", "transactions", "commands", "reconnect-storm")

# Indices into the shared control array (multiprocessing.Array('d', N_FLAGS)).
GO_AT = 0  # monotonic time at which station 0 starts connecting (0 = not yet)
MEASURING = 1  # 1.0 while the measured window is open
STOP = 2  # 1.0 when workers must close everything and report
N_FLAGS = 3

# Hard bounds, whatever the flags say.
MAX_STATIONS = 50_000
MAX_DURATION_S = 3600.0


@dataclass
class LoadConfig:
    """One scenario against one target; every time is in seconds."""

    scenario: str = "steady"
    url: str = ""  # ws://127.0.0.1:PORT/ocpp ; the station id is appended
    stations: int = 1000
    # Load worker processes. One is the default: on uvloop a worker costs ~13 us per round trip,
    # a quarter of the server's, and on 2 cores a second one only adds context switches
    # (measured side by side: sigec-w2/w1 1.82x with one, 1.56x with two; boot-storm faster).
    workers: int = 1
    ramp_s: float = 0.0  # 0 = all stations connect at once
    duration_s: float = 20.0  # measured window (boot-storm: hold after all booted)
    connect_timeout_s: float = 60.0  # bound on the connect/boot phase
    heartbeat_every_s: float = 1.0  # steady/commands: per station; 0 with status 0 = closed loop
    status_every_s: float = 2.0
    meter_every_s: float = 2.0  # transactions: TransactionEvent Updated period
    tx_length_s: float = 10.0  # transactions: Started -> Ended
    meter_values: bool = False  # transactions: send MeterValues instead of Updated
    call_timeout_s: float = 30.0
    reconnect_max_s: float = 1.0  # reconnect after a random delay in [0.05, this]
    id_prefix: str = "BENCH"
    password: str = ""  # Basic-auth password ("" = no Authorization header)
    commands_per_s: float = 20.0  # commands scenario: REST commands per second
    open_timeout_s: float = 30.0
    client_nice: int = 5  # workers run at this niceness so they never starve the server
    client_loop: str = "uvloop"  # the workers' event loop: uvloop (if installed) or asyncio
    # "batch": the workers run under SCHED_BATCH, so a worker woken by a reply does not preempt
    # the server on that core but runs when the server blocks or its slice ends, and handles
    # more replies per wake-up (side by side: ~8.5 instead of ~12 us per message with sigec-w2)
    client_sched: str = "batch"

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {self.scenario!r}; one of {', '.join(SCENARIOS)}")
        if not 1 <= self.stations <= MAX_STATIONS:
            raise ValueError(f"stations must be 1..{MAX_STATIONS}")
        if not 0 < self.duration_s <= MAX_DURATION_S:
            raise ValueError(f"duration must be in (0, {MAX_DURATION_S}] s")
        if self.client_sched not in ("normal", "batch"):
            raise ValueError(f"client sched must be normal or batch, not {self.client_sched!r}")
        if self.client_loop not in ("uvloop", "asyncio"):
            raise ValueError(f"client loop must be uvloop or asyncio, not {self.client_loop!r}")
        self.workers = max(1, min(self.workers, self.stations))

    @property
    def closed_loop(self) -> bool:
        """Steady with both periods 0: each station sends its next CALL as soon as answered."""
        return self.heartbeat_every_s <= 0 and self.status_every_s <= 0

    def station_id(self, index: int) -> str:
        return f"{self.id_prefix}{index:06d}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("password")
        return data
