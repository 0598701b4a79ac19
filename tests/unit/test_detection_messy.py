"""Real files are messy: each kind of mess is scored, or refused with an error that names the
line and column, never a traceback (issue 13, item 4)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from adnomaly_cli import app


def _series(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2025-03-01", periods=n, freq="5min", tz="UTC")
    values = 50 + rng.normal(0, 1, n)
    return pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%d %H:%M:%S"), "value": values.round(3)})


def _detect(tmp_path: Path, text: str | bytes) -> tuple[int, str, pd.DataFrame | None]:
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    if isinstance(text, bytes):
        source.write_bytes(text)
    else:
        source.write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning from numpy is a bug here
        result = CliRunner().invoke(app, ["detect", "--input", str(source), "--output", str(out)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    scored = pd.read_csv(out, dtype=str) if out.exists() else None
    return result.exit_code, result.output, scored


def test_a_clock_that_goes_back_is_scored_in_arrival_order_with_a_warning(tmp_path: Path) -> None:
    frame = _series()
    jump = frame["timestamp"].iloc[288:300].to_numpy()
    frame.loc[300:311, "timestamp"] = jump  # the clock jumps back an hour (12 rows)
    code, output, scored = _detect(tmp_path, frame.to_csv(index=False))
    assert code == 0 and scored is not None and len(scored) == len(frame)
    assert "goes back at line(s) 302" in output and "arrival order" in output
    pd.testing.assert_series_equal(scored["timestamp"], frame["timestamp"])


def test_repeated_timestamps_are_scored_with_a_warning(tmp_path: Path) -> None:
    frame = _series()
    frame.loc[100, "timestamp"] = frame.loc[99, "timestamp"]
    code, output, scored = _detect(tmp_path, frame.to_csv(index=False))
    assert code == 0 and scored is not None and "repeats at line(s) 102" in output


def test_gaps_and_empty_cells_are_scored_and_an_empty_cell_is_not_an_anomaly(
    tmp_path: Path,
) -> None:
    frame = _series().drop(index=range(200, 260)).reset_index(drop=True)  # five hours missing
    frame["value"] = frame["value"].astype(str)
    frame.loc[[10, 300, 301], "value"] = ""
    code, _, scored = _detect(tmp_path, frame.to_csv(index=False))
    assert code == 0 and scored is not None
    assert (scored.loc[[10, 300, 301], "is_anomaly"] == "false").all()
    assert scored["anomaly_score"].astype(float).between(0, 1).all()


def test_a_constant_series_has_no_anomaly(tmp_path: Path) -> None:
    frame = _series().assign(value=7.0)
    code, _, scored = _detect(tmp_path, frame.to_csv(index=False))
    assert code == 0 and scored is not None
    assert (scored["is_anomaly"] == "false").all()


def test_a_huge_value_is_flagged_without_overflow(tmp_path: Path) -> None:
    frame = _series()
    frame["value"] = frame["value"].astype(str)
    frame.loc[400, "value"] = "1e300"
    code, _, scored = _detect(tmp_path, frame.to_csv(index=False))
    assert code == 0 and scored is not None
    assert scored.loc[400, "is_anomaly"] == "true"
    assert np.isfinite(scored["anomaly_score"].astype(float)).all()


def test_a_one_row_file_is_scored(tmp_path: Path) -> None:
    code, _, scored = _detect(tmp_path, "timestamp,value\n2025-01-01 00:00:00,3\n")
    assert code == 0 and scored is not None
    assert scored.loc[0, "anomaly_score"] == "0.0" and scored.loc[0, "is_anomaly"] == "false"


def test_a_non_utf8_file_is_refused_naming_line_and_column(tmp_path: Path) -> None:
    text = "timestamp,value,site\n2025-01-01 00:00:00,3,paris\n2025-01-01 00:05:00,4,caf\xe9\n"
    code, output, scored = _detect(tmp_path, text.encode("latin-1"))
    assert code == 2 and scored is None
    assert "line 3, column 26" in output and "0xe9" in output and "UTF-8" in output
