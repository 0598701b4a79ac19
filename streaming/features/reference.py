"""Reference (oracle) computation of the feature contract's rows from raw click events.

The Flink job is the production path; this pandas version exists so tests and the offline
evaluation have an independent, obviously-correct answer to compare against. It mirrors Flink's
HOP window semantics: windows start on epoch multiples of `slide`, are `size` long (a multiple
of `slide`), and only windows holding at least one event produce a row.

Vectorized through "panes" (one per slide): events are summed per (segment, pane) once and each
pane is added to the size/slide windows that contain it, so the cost is O(events + panes * k)
rather than O(events * k). Distinct counts do not add up across panes, so distinct users come
from one sort by (user, pane) instead (see `_distinct_users`). A simulated day at a few events/s
takes about a second.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from streaming.feature_contract import SUSPICIOUS_UA_MARKERS, FeatureRow

COLUMNS: Final[tuple[str, ...]] = tuple(FeatureRow.model_fields)
REQUIRED: Final = ("timestamp", "geo", "platform", "user_id_hash", "user_agent")
# event column (or derived flag) -> the feature that is its per-window mean
_MEANS: Final = {
    "CTR": "ctr_avg",
    "bounce_rate": "bounce_rate_avg",
    "CPC": "cpc_avg",
    "conversion": "conversion_rate",
    "suspicious": "suspicious_ua_share",
}
_NUMERIC: Final = ("CTR", "bounce_rate", "CPC", "conversion")


def suspicious_mask(user_agents: pd.Series) -> NDArray[np.bool_]:
    """Whether each UA contains any marker, case-insensitively; evaluated once per distinct UA
    (a day of traffic has a few dozen distinct strings, not millions)."""
    codes, uniques = pd.factorize(user_agents)
    flags = np.array(
        [any(m in str(ua).lower() for m in SUSPICIOUS_UA_MARKERS) for ua in uniques], dtype=bool
    )
    return flags[codes] if flags.size else np.zeros(len(user_agents), dtype=bool)


def _panes(size: timedelta, slide: timedelta) -> tuple[int, int]:
    size_ns, slide_ns = pd.Timedelta(size).value, pd.Timedelta(slide).value
    if slide_ns <= 0 or size_ns <= 0 or size_ns % slide_ns:
        raise ValueError(f"HOP windows need 0 < slide and size a multiple of it: {size}/{slide}")
    return slide_ns, size_ns // slide_ns


def empty_features() -> pd.DataFrame:
    """No rows, but the real columns and dtypes, so callers concatenate without special cases."""
    frame = pd.DataFrame({name: pd.Series(dtype="float64") for name in COLUMNS})
    frame[["geo", "platform"]] = frame[["geo", "platform"]].astype(object)
    for name in ("window_start", "window_end"):
        frame[name] = pd.Series(dtype="datetime64[ns, UTC]")
    return frame.astype({"event_count": "int64", "unique_users": "int64"})


def compute_features(
    events: pd.DataFrame,
    size: timedelta = timedelta(minutes=5),
    slide: timedelta = timedelta(minutes=1),
) -> pd.DataFrame:
    """One row per (geo, platform, window) with FeatureRow's columns, ordered by window_start,
    geo, platform. `events` has EventBatch.to_frame()'s columns (extra ones are ignored)."""
    missing = [c for c in (*REQUIRED, *_NUMERIC) if c not in events]
    if missing:
        raise ValueError(f"events lack column(s): {', '.join(missing)}")
    slide_ns, k = _panes(size, slide)
    if events.empty:
        return empty_features()
    ts = pd.DatetimeIndex(pd.to_datetime(events["timestamp"], utc=True)).as_unit("ns").asi8
    pane = ts // slide_ns
    geo_codes, geos = pd.factorize(events["geo"])
    plat_codes, plats = pd.factorize(events["platform"])
    seg = geo_codes.astype(np.int64) * len(plats) + plat_codes
    first_pane = int(pane.min()) - (k - 1)  # pane index 0 = the earliest window's start
    span = int(pane.max()) - first_pane + 1
    pane_key = seg * span + (pane - first_pane)

    values = {col: events[col].to_numpy(dtype=np.float64) for col in _NUMERIC}
    values["suspicious"] = suspicious_mask(events["user_agent"]).astype(np.float64)
    p_codes, p_keys = pd.factorize(pane_key)
    p_sums = {col: np.bincount(p_codes, weights=v) for col, v in values.items()}
    p_count = np.bincount(p_codes).astype(np.float64)

    # each pane belongs to the k windows starting at it and the k-1 panes before it
    w_all = np.concatenate([p_keys - j for j in range(k)])
    w_codes, w_keys = pd.factorize(w_all)
    count = np.bincount(w_codes, weights=np.tile(p_count, k)).round().astype(np.int64)
    out: dict[str, object] = {}
    for col, name in _MEANS.items():
        out[name] = np.bincount(w_codes, weights=np.tile(p_sums[col], k)) / count
    users = _distinct_users(events["user_id_hash"], pane_key, k, pd.Index(w_keys))

    w_seg, w_pane = np.divmod(w_keys, span)
    start = pd.to_datetime((w_pane + first_pane) * slide_ns, utc=True)
    frame = pd.DataFrame(
        {
            "geo": np.asarray(geos, dtype=object)[w_seg // len(plats)],
            "platform": np.asarray(plats, dtype=object)[w_seg % len(plats)],
            "window_start": start,
            "window_end": start + pd.Timedelta(slide_ns * k, unit="ns"),
            **out,
            "event_count": count,
            "unique_users": users,
            "events_per_user": count / users,
        }
    )[list(COLUMNS)]
    order = frame.sort_values(["window_start", "geo", "platform"], kind="stable").index
    return frame.loc[order].reset_index(drop=True)


def _distinct_users(
    user_ids: pd.Series, pane_key: NDArray[np.int64], k: int, windows: pd.Index
) -> NDArray[np.int64]:
    """Distinct users per window without a distinct-set per window: sorted by (user, pane), each
    of a user's panes adds +1 only to the windows the user's previous pane did not already
    reach, so a plain count per window is the distinct count (no hashing of millions of pairs;
    pane keys of different segments are at least `span` apart, so segments never mix)."""
    user_codes = pd.factorize(user_ids)[0]
    order = np.lexsort((pane_key, user_codes))
    user, pane = user_codes[order], pane_key[order]
    prev = np.empty_like(pane)
    prev[0], prev[1:] = np.iinfo(np.int64).min // 2, pane[:-1]
    prev[1:][user[1:] != user[:-1]] = np.iinfo(np.int64).min // 2
    lo = np.maximum(pane - (k - 1), prev + 1)
    length = np.maximum(pane - lo + 1, 0)
    first = np.cumsum(length) - length
    step = np.arange(int(length.sum())) - np.repeat(first, length)
    reached = np.repeat(pane, length) - step
    per_window = np.bincount(windows.get_indexer(reached), minlength=len(windows))
    return per_window.astype(np.int64)
