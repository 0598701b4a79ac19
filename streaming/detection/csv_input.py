"""Reading a user's time-series CSV for `adnomaly detect`, refusing what cannot be scored.

Cells are read as text and written back untouched, so the output is the input plus two
columns, not a re-formatted copy. Errors name the line (as an editor shows it: the header is
line 1) and the column, because "could not convert string to float" helps nobody.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

OUTPUT_COLUMNS = ("anomaly_score", "is_anomaly")
_SHOWN = 3  # problems listed per error message


class SeriesInputError(ValueError):
    """The CSV cannot be scored; the message says why and where."""


def _lines(mask: pd.Series) -> list[int]:
    return [int(i) + 2 for i in np.flatnonzero(mask.to_numpy())[:_SHOWN]]


def _text(path: Path) -> str:
    """The file as UTF-8 text (a BOM is dropped); a byte that is not UTF-8 is an error naming
    its line and column, since pandas would only say "codec can't decode byte 0xe9"."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SeriesInputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SeriesInputError(f"{path}: is a directory, not a CSV file") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = raw[exc.start : exc.start + 1].hex()
        raise SeriesInputError(
            f"{path}: line {line}, column {column}: byte 0x{byte} is not UTF-8 "
            "(save the file as UTF-8)"
        ) from None


def read_csv(path: Path) -> pd.DataFrame:
    text = _text(path)
    if not text.strip():
        raise SeriesInputError(f"{path}: empty file (a header line is needed)")
    try:
        frame = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=True
        )
    except pd.errors.EmptyDataError:
        raise SeriesInputError(f"{path}: empty file (a header line is needed)") from None
    except (pd.errors.ParserError, csv.Error) as exc:
        raise SeriesInputError(f"{path}: not a readable CSV: {exc}".strip()) from None
    return frame.fillna("")  # a short row's missing trailing cells are empty, not an error


def parse_timestamps(frame: pd.DataFrame) -> pd.DatetimeIndex:
    """The `timestamp` column as UTC; ISO-8601/date strings, or all-numeric epoch seconds (or
    milliseconds, from their size). Rows are scored in arrival order whatever their clock says
    (a clock that jumps back an hour is common in real files): see `order_warning`."""
    names = [c for c in frame.columns if str(c).strip().lower() == "timestamp"]
    if len(names) != 1:
        found = ", ".join(map(str, frame.columns)) or "none"
        problem = "no" if not names else "more than one"
        raise SeriesInputError(f"{problem} 'timestamp' column (columns: {found})")
    text = frame[names[0]].str.strip()
    numeric = pd.to_numeric(text, errors="coerce")
    if len(text) and numeric.notna().all():
        unit: Literal["s", "ms"] = "ms" if numeric.abs().max() >= 1e11 else "s"
        parsed = pd.to_datetime(numeric, unit=unit, utc=True)
    else:
        parsed = pd.to_datetime(text, utc=True, errors="coerce", format="mixed")
    bad = parsed.isna()
    if bad.any():
        shown = ", ".join(f"line {n} ({v!r})" for n, v in zip(_lines(bad), text[bad], strict=False))
        raise SeriesInputError(f"{int(bad.sum())} unparseable timestamp(s): {shown}")
    return pd.DatetimeIndex(parsed)


def order_warning(timestamps: pd.DatetimeIndex) -> str | None:
    """Where the clock goes back or repeats (line numbers as an editor shows them), or None.
    Such rows are still scored, in arrival order; only the seasonal view's "same time on
    earlier days" lookups use the clock, and they only look at earlier rows."""
    step = pd.Series(timestamps).diff()
    notes = []
    for what, mask in (("goes back", step < pd.Timedelta(0)), ("repeats", step == pd.Timedelta(0))):
        if mask.any():
            shown = ", ".join(map(str, _lines(mask)))
            more = f" and {int(mask.sum()) - _SHOWN} more" if mask.sum() > _SHOWN else ""
            notes.append(f"the clock {what} at line(s) {shown}{more}")
    if not notes:
        return None
    return "; ".join(notes) + " (scored in arrival order)"


def numeric_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns whose non-empty cells are mostly numbers, as floats (empty cell = missing).
    A mostly-numeric column with a non-number in it is an error, not a silent gap; text
    columns (labels, names) are carried through unscored."""
    taken = [c for c in OUTPUT_COLUMNS if c in frame.columns]
    if taken:
        raise SeriesInputError(f"input already has column(s) {', '.join(taken)}")
    result = {}
    for column in frame.columns:
        if str(column).strip().lower() == "timestamp":
            continue
        text = frame[column].str.strip()
        present = text != ""
        values = pd.to_numeric(text.where(present), errors="coerce")
        if not present.any() or values.notna().sum() * 2 < present.sum():
            continue
        bad = present & (values.isna() | ~np.isfinite(values.fillna(0.0)))
        if bad.any():
            shown = ", ".join(
                f"line {n} ({v!r})" for n, v in zip(_lines(bad), text[bad], strict=False)
            )
            raise SeriesInputError(f"column {column!r}: not a finite number at {shown}")
        result[column] = values.astype(np.float64)
    if not result:
        others = ", ".join(str(c) for c in frame.columns if str(c).strip().lower() != "timestamp")
        raise SeriesInputError(f"no numeric column besides timestamp (other columns: {others})")
    return pd.DataFrame(result)


def write_scored(frame: pd.DataFrame, score: np.ndarray, anomalous: np.ndarray, path: Path) -> None:
    out = frame.copy()
    out["anomaly_score"] = np.round(score, 6)
    out["is_anomaly"] = np.where(anomalous, "true", "false")
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)
