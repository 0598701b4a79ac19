"""Result shape shared by every benchmark: medians over runs, our figure vs the limit measured in
the same run. A run that measures no limit (the soak holds a requested rate) has none, and its
requested rate is its target."""

from __future__ import annotations

import json
import platform
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table


@dataclass
class BenchResult:
    name: str
    throughput_eps: float
    limit_eps: float | None
    runs: list[dict[str, float]] = field(default_factory=list)
    target_eps: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return self.throughput_eps / self.limit_eps if self.limit_eps else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "throughput_eps": round(self.throughput_eps),
            "limit_eps": None if self.limit_eps is None else round(self.limit_eps),
            "ratio": None if self.ratio is None else round(self.ratio, 3),
            "target_eps": self.target_eps,
            "runs": self.runs,
            "machine": f"{platform.node()} {platform.machine()} {platform.python_version()}",
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            **self.extra,
        }


def median_result(
    name: str, runs: list[dict[str, float]], target_eps: float | None = None, **extra: Any
) -> BenchResult:
    ours = statistics.median(r["ours_eps"] for r in runs)
    limit = statistics.median(r["limit_eps"] for r in runs)
    return BenchResult(name, ours, limit, runs, target_eps, extra)


def _cells(ours: float, limit: float | None) -> tuple[str, str, str]:
    if not limit:
        return f"{ours:,.0f}", "-", "-"
    return f"{ours:,.0f}", f"{limit:,.0f}", f"{ours / limit:.2f}"


def report(result: BenchResult, as_json: bool, console: Console) -> None:
    table = Table(title=f"bench {result.name} (median of {len(result.runs)} runs)")
    for col in ("run", "ours events/s", "limit events/s", "ratio"):
        table.add_column(col, justify="right")
    for i, run in enumerate(result.runs, 1):
        table.add_row(str(i), *_cells(run["ours_eps"], run.get("limit_eps")))
    table.add_row("median", *_cells(result.throughput_eps, result.limit_eps), style="bold")
    console.print(table)
    if as_json:
        print(json.dumps(result.as_dict()))
