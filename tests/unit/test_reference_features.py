"""The reference feature computation: a hand-computed example, window semantics, and an
independent brute-force check on generated traffic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from streaming.feature_contract import FEATURE_NAMES, SUSPICIOUS_UA_MARKERS, FeatureRow
from streaming.features.reference import COLUMNS, compute_features
from streaming.generator import TrafficGenerator

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0.0.0 Safari/537.36"
HEADLESS = "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/124.0.6367.60 Safari/537.36"


def _event(at: timedelta, geo: str, platform: str, user: str, ua: str, **metrics: float) -> dict:
    base = {"timestamp": T0 + at, "geo": geo, "platform": platform, "user_id_hash": user}
    base |= {"user_agent": ua, "CTR": 0.01, "CPC": 0.5, "conversion": 0, "bounce_rate": 0.4}
    return base | metrics


@pytest.fixture
def hand() -> pd.DataFrame:
    s = timedelta(seconds=1)
    return pd.DataFrame(
        [
            _event(10 * s, "US", "web", "u1", CHROME),
            _event(
                90 * s,
                "US",
                "web",
                "u2",
                HEADLESS,
                CTR=0.03,
                CPC=0.7,
                bounce_rate=0.6,
                conversion=1,
            ),
            _event(180 * s, "US", "web", "u1", CHROME, CTR=0.02, CPC=0.6),
            _event(120 * s, "DE", "ios", "u3", "Some Bot/1.0 (BOT)"),
        ]
    )


def _row(features: pd.DataFrame, geo: str, start_minute: int) -> pd.Series:
    start = pd.Timestamp(T0 + timedelta(minutes=start_minute))
    hit = features[(features["geo"] == geo) & (features["window_start"] == start)]
    assert len(hit) == 1, hit
    return hit.iloc[0]


def test_hand_example(hand: pd.DataFrame) -> None:
    """US|web events at 10:00:10 (u1), 10:01:30 (u2, headless), 10:03:00 (u1 again)."""
    features = compute_features(hand)
    assert list(features.columns) == list(COLUMNS)
    us = features[features["geo"] == "US"]
    # a window starts every minute from 09:56 (first holding 10:00:10) to 10:03 (last: 10:03)
    assert [t.strftime("%H:%M") for t in us["window_start"]] == [
        "09:56",
        "09:57",
        "09:58",
        "09:59",
        "10:00",
        "10:01",
        "10:02",
        "10:03",
    ]
    both = _row(features, "US", -1)  # [09:59, 10:04): all three US events
    assert both["window_end"] == pd.Timestamp(T0 + timedelta(minutes=4))
    assert both["event_count"] == 3 and both["unique_users"] == 2
    assert both["events_per_user"] == pytest.approx(1.5)
    assert both["ctr_avg"] == pytest.approx(0.02)
    assert both["cpc_avg"] == pytest.approx(0.6)
    assert both["bounce_rate_avg"] == pytest.approx((0.4 + 0.6 + 0.4) / 3)
    assert both["conversion_rate"] == pytest.approx(1 / 3)
    assert both["suspicious_ua_share"] == pytest.approx(1 / 3)
    first = _row(features, "US", -4)  # [09:56, 10:01): only 10:00:10
    assert (first["event_count"], first["unique_users"], first["suspicious_ua_share"]) == (1, 1, 0)
    late = _row(features, "US", 2)  # [10:02, 10:07): only 10:03:00
    assert (late["event_count"], late["cpc_avg"]) == (1, pytest.approx(0.6))
    de = features[features["geo"] == "DE"]
    assert len(de) == 5 and (de["suspicious_ua_share"] == 1.0).all()  # "BOT" upper case


def test_rows_satisfy_the_feature_contract(hand: pd.DataFrame) -> None:
    for row in compute_features(hand).to_dict("records"):
        FeatureRow.model_validate(row)
    assert set(FEATURE_NAMES) <= set(COLUMNS)


def test_window_size_and_slide_are_configurable(hand: pd.DataFrame) -> None:
    features = compute_features(hand, size=timedelta(minutes=2), slide=timedelta(minutes=1))
    us = features[features["geo"] == "US"]
    assert (us["window_end"] - us["window_start"] == pd.Timedelta(minutes=2)).all()
    assert us["event_count"].tolist() == [1, 2, 1, 1, 1]  # 09:59 10:00 10:01 10:02 10:03
    with pytest.raises(ValueError, match="multiple"):
        compute_features(hand, size=timedelta(minutes=5), slide=timedelta(minutes=2))


def test_empty_input_and_missing_columns(hand: pd.DataFrame) -> None:
    empty = compute_features(hand.iloc[:0])
    assert empty.empty and list(empty.columns) == list(COLUMNS)
    with pytest.raises(ValueError, match="user_agent"):
        compute_features(hand.drop(columns=["user_agent"]))


def test_matches_brute_force_on_generated_traffic() -> None:
    """Every window of two generated hours against a per-window recomputation."""
    gen = TrafficGenerator(seed=5, hash_salt="ref", incidents_per_day=200)
    events = gen.batch(6000, T0, T0 + timedelta(hours=2)).to_frame()
    features = compute_features(events)
    rng = np.random.default_rng(0)
    sample = features.iloc[rng.choice(len(features), 150, replace=False)]
    lowered = events["user_agent"].str.lower()
    marker = lowered.map(lambda ua: any(m in ua for m in SUSPICIOUS_UA_MARKERS))
    for row in sample.itertuples():
        inside = events[
            (events["geo"] == row.geo)
            & (events["platform"] == row.platform)
            & (events["timestamp"] >= row.window_start)
            & (events["timestamp"] < row.window_end)
        ]
        assert row.event_count == len(inside)
        assert row.unique_users == inside["user_id_hash"].nunique()
        assert row.ctr_avg == pytest.approx(inside["CTR"].mean(), rel=1e-12)
        assert row.cpc_avg == pytest.approx(inside["CPC"].mean(), rel=1e-12)
        assert row.conversion_rate == pytest.approx(inside["conversion"].mean(), abs=1e-12)
        assert row.suspicious_ua_share == pytest.approx(marker[inside.index].mean(), abs=1e-12)
    # exactly the windows holding an event: the 5 starting in the event's minute or before
    minute = events["timestamp"].dt.floor("min")
    expected = {
        (geo, platform, start - pd.Timedelta(minutes=k))
        for geo, platform, start in zip(events["geo"], events["platform"], minute, strict=True)
        for k in range(5)
    }
    keys = zip(features["geo"], features["platform"], features["window_start"], strict=True)
    assert set(keys) == expected and len(features) == len(expected)
    assert (features["suspicious_ua_share"] > 0).any(), "no fraud UA in the sample: weak test"
