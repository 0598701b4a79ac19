"""The model of normal on synthetic features: what it flags, why, and how it is stored."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from botocore.exceptions import ClientError

from streaming.detection.model import DetectorModel
from streaming.detection.scoring import score
from streaming.detection.store import ModelWatcher, list_versions, load_latest_model, save_model
from streaming.detection.train import train
from streaming.settings import Settings, load_settings

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
SEGMENTS = (("US", "web", 30.0), ("DE", "ios", 12.0), ("FR", "android", 6.0))


def synthetic(days: int, seed: int = 0, start: datetime = MONDAY) -> pd.DataFrame:
    """Per segment and minute: Poisson clicks following a day curve (3x more at 18:00 than at
    06:00), per-click noise on the averages shrinking as 1/sqrt(clicks)."""
    rng = np.random.default_rng(seed)
    ends = pd.date_range(start + timedelta(minutes=5), periods=days * 1440, freq="min")
    hours = ends.hour + ends.minute / 60
    curve = 1.0 + 0.5 * np.sin((hours - 12) / 24 * 2 * np.pi)
    parts = []
    for geo, platform, level in SEGMENTS:
        n = np.maximum(rng.poisson(level * curve), 1)
        noise = rng.standard_normal((4, n.size)) / np.sqrt(n)
        repeats = rng.binomial(n - 1, 0.02)
        parts.append(
            pd.DataFrame(
                {
                    "geo": geo,
                    "platform": platform,
                    "window_start": ends - timedelta(minutes=5),
                    "window_end": ends,
                    "ctr_avg": 0.02 * np.exp(0.35 * noise[0]),
                    "bounce_rate_avg": 0.5 + 0.1 * noise[1],
                    "event_count": n,
                    "cpc_avg": 0.4 * np.exp(0.3 * noise[2]),
                    "conversion_rate": rng.binomial(n, 0.03) / n,
                    "unique_users": n - repeats,
                    "events_per_user": n / (n - repeats),
                    "suspicious_ua_share": 0.0,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def model() -> DetectorModel:
    return train(synthetic(7), trained_at=MONDAY + timedelta(days=7))


def _window(features: pd.DataFrame, geo: str, hour: int, **changes: float) -> pd.DataFrame:
    pick = features[(features["geo"] == geo) & (features["window_end"].dt.hour == hour)]
    return pick.iloc[[0]].assign(**changes).reset_index(drop=True)


def test_fresh_normal_traffic_is_quiet_and_scores_are_in_unit_interval(
    model: DetectorModel,
) -> None:
    scored = score(model, synthetic(1, seed=9, start=MONDAY + timedelta(days=7)))
    assert scored["score"].between(0, 1).all()
    assert (scored["is_anomaly"] == (scored["score"] >= 0.5)).all()
    assert scored["is_anomaly"].sum() == 0
    assert (scored["model_version"] == model.version).all()


def test_cpc_tripled_is_flagged_with_cpc_as_the_driver(model: DetectorModel) -> None:
    normal = _window(synthetic(1, seed=3), "US", 14)
    cheat = score(model, normal.assign(cpc_avg=normal["cpc_avg"] * 3)).iloc[0]
    assert cheat["is_anomaly"] and cheat["score"] > 0.5
    assert next(iter(cheat["drivers"])) == "cpc_avg"
    assert cheat["drivers"]["cpc_avg"]["z"] >= model.config.threshold
    assert cheat["drivers"]["cpc_avg"]["view"] == "seasonal" and "seasonal view" in cheat["reason"]
    assert cheat["reason"].startswith("cpc_avg ") and "above" in cheat["reason"]
    assert not score(model, normal).iloc[0]["is_anomaly"]


def test_a_cpc_collapse_is_not_ad_fraud(model: DetectorModel) -> None:
    normal = _window(synthetic(1, seed=3), "US", 14)
    assert not score(model, normal.assign(cpc_avg=normal["cpc_avg"] / 3)).iloc[0]["is_anomaly"]


def test_the_daily_shape_is_learned(model: DetectorModel) -> None:
    """Afternoon traffic is normal in the afternoon and a flood at 6 a.m."""
    day = synthetic(1, seed=4)
    busy = int(day[(day["geo"] == "US") & (day["window_end"].dt.hour == 18)]["event_count"].max())
    at_six = _window(day, "US", 6, event_count=busy, unique_users=busy)
    at_six_pm = _window(day, "US", 18, event_count=busy, unique_users=busy)
    assert score(model, at_six).iloc[0]["is_anomaly"]
    assert not score(model, at_six_pm).iloc[0]["is_anomaly"]


def test_an_unknown_segment_is_compared_with_the_median_segment(model: DetectorModel) -> None:
    row = _window(synthetic(1, seed=5), "DE", 12).assign(geo="NO")
    scored = score(model, row).iloc[0]
    assert not scored["is_anomaly"] and 0 <= scored["score"] < 0.5


def test_a_short_history_borrows_the_same_time_of_day() -> None:
    two_days = train(synthetic(2))
    per_day = 96  # 15-minute slots
    tuesday_6pm, thursday_6pm = per_day + 72, 3 * per_day + 72
    assert two_days.shape[thursday_6pm, 0] == pytest.approx(
        (two_days.shape[72, 0] + two_days.shape[tuesday_6pm, 0]) / 2
    )
    assert not score(two_days, synthetic(1, seed=6, start=MONDAY + timedelta(days=3)))[
        "is_anomaly"
    ].any()


def test_serialization_round_trip_and_refusals(model: DetectorModel) -> None:
    again = DetectorModel.from_bytes(model.to_bytes())
    rows = synthetic(1, seed=8).iloc[:500]
    pd.testing.assert_frame_equal(score(model, rows), score(again, rows))
    with pytest.raises(ValueError, match="not an adnomaly-detector"):
        DetectorModel.from_bytes(b'{"format": "other"}')
    tampered = model.to_bytes().replace(b'"event_count"', b'"clicks"')
    with pytest.raises(ValueError, match="channels"):
        DetectorModel.from_bytes(tampered)
    with pytest.raises(ValueError, match="no feature rows"):
        train(rows.iloc[:0])


def _etag(body: bytes) -> str:
    return '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'


class FakeS3:
    """The four S3 calls the store makes, in memory; `fail` simulates an outage."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.fail = False
        self.lists = 0

    def _check(self) -> None:
        if self.fail:
            raise ClientError({"Error": {"Code": "503", "Message": "down"}}, "op")

    def put_object(
        self,
        Bucket: str,
        Key: str,
        Body: bytes,
        IfMatch: str | None = None,
        IfNoneMatch: str | None = None,
        **_: Any,
    ) -> None:
        """S3's conditional write: 412 when the object's ETag is not IfMatch, or it exists
        and IfNoneMatch is `*`."""
        self._check()
        current = self.objects.get((Bucket, Key))
        etag = None if current is None else _etag(current)
        if (IfMatch is not None and IfMatch != etag) or (IfNoneMatch == "*" and current):
            raise ClientError({"Error": {"Code": "PreconditionFailed", "Message": Key}}, "Put")
        self.objects[(Bucket, Key)] = Body

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        self._check()
        if (Bucket, Key) not in self.objects:  # as S3 answers a missing key
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": Key}}, "GetObject")
        body = self.objects[(Bucket, Key)]
        return {"Body": io.BytesIO(body), "ETag": _etag(body)}

    def get_paginator(self, _name: str) -> FakeS3:
        return self

    def paginate(self, Bucket: str, Prefix: str) -> list[dict[str, Any]]:
        self._check()
        self.lists += 1
        keys = [k for b, k in self.objects if b == Bucket and k.startswith(Prefix)]
        return [{"Contents": [{"Key": k} for k in keys]}]


@pytest.fixture
def settings() -> Settings:
    return load_settings()


def test_store_keeps_versions_and_serves_the_newest(
    model: DetectorModel, settings: Settings
) -> None:
    s3 = FakeS3()
    assert load_latest_model(settings, client=s3) is None
    older = train(synthetic(7, seed=1), trained_at=MONDAY)
    save_model(model, settings, client=s3)
    key = save_model(older, settings, client=s3)
    assert key == f"models/detector/{older.version}.json"
    assert list_versions(settings, client=s3) == [older.version, model.version]
    latest = load_latest_model(settings, client=s3)
    assert latest is not None and latest.version == model.version


def test_watcher_picks_up_a_new_version_and_survives_an_outage(
    model: DetectorModel, settings: Settings
) -> None:
    s3 = FakeS3()
    older = train(synthetic(7, seed=1), trained_at=MONDAY)
    save_model(older, settings, client=s3)
    watcher = ModelWatcher(settings, every_s=3600, client=s3)
    assert watcher.refresh() and watcher.model is not None
    assert watcher.model.version == older.version
    save_model(model, settings, client=s3)
    lists = s3.lists
    assert not watcher.refresh() and s3.lists == lists  # checked at most once per every_s
    s3.fail = True
    assert not watcher.refresh(force=True) and watcher.model.version == older.version
    s3.fail = False
    assert watcher.refresh(force=True) and watcher.model.version == model.version
