"""`adnomaly detect`: causal scores for any time-series CSV, and clear errors for bad ones."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from adnomaly_cli import app
from streaming.detection.csv_input import (
    SeriesInputError,
    numeric_columns,
    parse_timestamps,
    read_csv,
)
from streaming.detection.series import score_series

SPIKES = (500, 1000, 1500)


def hourly_cpc(hours: int = 24 * 70, seed: int = 1) -> pd.DataFrame:
    """An exchange's hourly CPC: a daily rhythm (+-30%), noise, three +40% spikes; and clicks."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2025-01-06", periods=hours, freq="h", tz="UTC")
    hour = ts.hour.to_numpy()
    cpc = 0.5 + 0.15 * np.sin(2 * math.pi * (hour - 6) / 24) + rng.normal(0, 0.015, hours)
    cpc[[s for s in SPIKES if s < hours]] *= 1.4
    return pd.DataFrame(
        {
            "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "exchange": "adx",
            "cpc": np.round(cpc, 4),
            "clicks": rng.poisson(1000, hours),
        }
    )


def _score(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    text = frame.astype(str)
    return score_series(parse_timestamps(text), numeric_columns(text))


def test_spikes_on_a_daily_rhythm_are_found_and_the_rhythm_is_not() -> None:
    score, anomalous = _score(hourly_cpc())
    # the spikes are the three highest scores and the only alarms in 70 days (the first one
    # after 3 weeks of history)
    assert set(np.argsort(-score)[: len(SPIKES)]) == set(SPIKES)
    assert set(np.flatnonzero(anomalous)) == set(SPIKES)
    assert ((score >= 0) & (score < 1)).all() and ((score >= 0.5) == anomalous).all()


def test_appending_rows_never_changes_earlier_scores() -> None:
    full = hourly_cpc(24 * 20, seed=3)
    whole, _ = _score(full)
    for cut in (30, 200, 333, len(full) - 1):
        prefix, _ = _score(full.iloc[:cut])
        np.testing.assert_array_equal(prefix, whole[:cut])


def test_a_level_shift_is_flagged_then_learned() -> None:
    rng = np.random.default_rng(2)
    values = np.r_[rng.normal(10, 1, 300), rng.normal(20, 1, 300)]
    ts = pd.date_range("2025-01-01", periods=600, freq="5min", tz="UTC")
    _, anomalous = score_series(pd.DatetimeIndex(ts), pd.DataFrame({"x": values}))
    assert anomalous[300] and not anomalous[400:].any()


def test_cli_writes_the_same_rows_plus_two_columns(tmp_path: Path) -> None:
    source = tmp_path / "cpc.csv"
    hourly_cpc(24 * 50).to_csv(source, index=False)
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(app, ["detect", "--input", str(source), "--output", str(out)])
    assert result.exit_code == 0, result.output
    original = pd.read_csv(source, dtype=str)
    scored = pd.read_csv(out, dtype=str)
    assert list(scored.columns) == [*original.columns, "anomaly_score", "is_anomaly"]
    pd.testing.assert_frame_equal(scored[original.columns], original)
    assert set(scored["is_anomaly"]) == {"true", "false"}
    assert scored.loc[1000, "is_anomaly"] == "true"
    assert "line 1002: score" in result.output and "view of 'cpc'" in result.output


BAD_INPUTS = {
    "no timestamp column": ("time,x\n2025-01-01,1\n", "no 'timestamp' column"),
    "no numeric column": ("timestamp,name\n2025-01-01,a\n2025-01-02,b\n", "no numeric column"),
    "unparseable timestamp": ("timestamp,x\n2025-01-01,1\nyesterday,2\n", "line 3 ('yesterday')"),
    "unparseable number": ("timestamp,x\n2025-01-01,1\n2025-01-02,2\n2025-01-03,n/a!\n", "line 4"),
    "infinite number": ("timestamp,x\n2025-01-01,1\n2025-01-02,2\n2025-01-03,inf\n", "finite"),
    "ragged row": ("timestamp,x\n2025-01-01,1\n2025-01-02,2,3\n", "Expected 2 fields"),
    "empty file": ("", "empty file"),
    "output column taken": ("timestamp,x,is_anomaly\n2025-01-01,1,0\n", "already has"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_a_clear_error(case: str, tmp_path: Path) -> None:
    text, expected = BAD_INPUTS[case]
    path = tmp_path / "in.csv"
    path.write_text(text)
    with pytest.raises(SeriesInputError, match=None) as caught:
        frame = read_csv(path)
        parse_timestamps(frame)
        numeric_columns(frame)
    assert expected in str(caught.value)
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(app, ["detect", "--input", str(path), "--output", str(out)])
    assert result.exit_code == 2 and expected in result.output and not out.exists()


def test_epoch_seconds_and_text_columns_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "epoch.csv"
    path.write_text("timestamp,label,x\n1735689600,a,1\n1735693200,b,\n1735696800,c,3\n")
    frame = read_csv(path)
    assert parse_timestamps(frame)[1] == pd.Timestamp("2025-01-01T01:00Z")
    values = numeric_columns(frame)
    assert list(values.columns) == ["x"] and np.isnan(values["x"].iloc[1])
