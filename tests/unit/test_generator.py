"""The generator: seed distributions, shape over time, determinism and labelled fraud."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pandas as pd
import pytest

from streaming.contract import GEOS, ClickEvent, check_wire, parse_event, validate_many
from streaming.generator import (
    SEGMENT_KEYS,
    EventBatch,
    FraudIncident,
    FraudType,
    IncidentScheduler,
    TrafficGenerator,
    rate_multiplier,
    user_hash,
)
from streaming.generator.incidents import UNUSUAL_GEOS

SALT = "unit-test-salt"
MONDAY = datetime(2024, 1, 15, tzinfo=UTC)
FRAUD_UA_MARKERS = ("HeadlessChrome", "PhantomJS", "sdk_gphone", "Android SDK built for x86")


@pytest.fixture(scope="module")
def clean() -> EventBatch:
    gen = TrafficGenerator(seed=1, hash_salt=SALT, fraud=False)
    return gen.batch(200_000, MONDAY, MONDAY + timedelta(days=7))


@pytest.fixture(scope="module")
def clean_frame(clean: EventBatch) -> pd.DataFrame:
    return clean.to_frame()


def test_clean_events_satisfy_the_contract(clean: EventBatch) -> None:
    values = clean.values()
    assert check_wire(values) == len(clean) == 200_000
    assert len(validate_many(values[:20_000])) == 20_000
    assert all(parse_event(v).to_json_bytes() == v for v in values[:2000])


def test_events_never_carry_labels(clean: EventBatch) -> None:
    assert set(orjson.loads(clean.values()[0])) == set(ClickEvent.model_fields)


def test_geos_are_equally_likely(clean_frame: pd.DataFrame) -> None:
    shares = clean_frame["geo"].value_counts(normalize=True)
    assert set(shares.index) == set(GEOS)
    assert (shares - 1 / 36).abs().max() < 0.002  # ~5 standard errors at n=200k


def test_platform_split_is_40_30_30(clean_frame: pd.DataFrame) -> None:
    shares = clean_frame["platform"].value_counts(normalize=True)
    for platform, expected in {"web": 0.40, "ios": 0.30, "android": 0.30}.items():
        assert abs(shares[platform] - expected) < 0.015


def test_metrics_stay_in_seed_ranges(clean_frame: pd.DataFrame) -> None:
    assert clean_frame["CTR"].between(0.005, 0.05).all()
    assert clean_frame["CPC"].between(0.10, 1.20).all()
    assert clean_frame["bounce_rate"].between(0.20, 0.90).all()
    assert set(clean_frame["conversion"].unique()) == {0, 1}
    # Organic traffic uses the ranges, it does not sit on their edges.
    assert 0.012 < clean_frame["CTR"].mean() < 0.025
    assert 0.30 < clean_frame["CPC"].mean() < 0.60


def test_conversion_rises_with_ctr(clean_frame: pd.DataFrame) -> None:
    buckets = pd.qcut(clean_frame["CTR"], 4, duplicates="drop")
    rates = clean_frame.groupby(buckets, observed=True)["conversion"].mean().to_numpy()
    assert len(rates) == 4
    assert np.all(np.diff(rates) > 0.003)


def test_user_ids_are_salted_sha256_prefixes() -> None:
    expected = hashlib.sha256(b"saltuser-key").hexdigest()[:16]
    assert user_hash("salt", "user-key") == expected
    start, end = MONDAY, MONDAY + timedelta(hours=1)
    one = TrafficGenerator(seed=3, hash_salt="a", fraud=False).batch(500, start, end)
    other = TrafficGenerator(seed=3, hash_salt="b", fraud=False).batch(500, start, end)
    assert one.event_ids() == other.event_ids()
    assert set(one.user_hash).isdisjoint(set(other.user_hash))


def test_users_come_back_within_their_segment(clean_frame: pd.DataFrame) -> None:
    clicks = clean_frame.groupby("user_id_hash").size()
    assert clicks.max() >= 5 and (clicks > 1).mean() > 0.2
    assert (clean_frame.groupby("user_id_hash")[["geo", "platform"]].nunique() == 1).all().all()
    # No organic user looks like a bot: the busiest holds a small share of their segment.
    per_segment = clean_frame.groupby(["geo", "platform"]).size()
    top = clean_frame.groupby(["geo", "platform", "user_id_hash"]).size().groupby(level=[0, 1])
    assert (top.max() / per_segment).max() < 0.03


def test_user_agents_match_platform(clean_frame: pd.DataFrame) -> None:
    ua = clean_frame["user_agent"]
    platform = clean_frame["platform"]
    assert ua[platform == "ios"].str.contains("iPhone|iPad").all()
    assert ua[platform == "android"].str.contains("Android").all()
    web = ua[platform == "web"]
    assert not web.str.contains("iPhone|iPad|Android|Mobile").any()
    assert web.str.contains("Edg/").any() and web.str.contains("Firefox/").any()
    assert not ua.str.contains("|".join(FRAUD_UA_MARKERS)).any()
    # A returning user keeps one browser.
    assert (clean_frame.groupby("user_id_hash")["user_agent"].nunique() == 1).all()


def test_ads_belong_to_one_campaign(clean_frame: pd.DataFrame) -> None:
    assert (clean_frame.groupby("ad_id")["campaign_id"].nunique() == 1).all()
    campaigns = clean_frame["campaign_id"].unique()
    assert 100 <= len(campaigns) <= 120
    assert all("camp_000" <= c <= "camp_119" for c in campaigns)


def test_campaigns_have_their_own_levels(clean_frame: pd.DataFrame) -> None:
    by_campaign = clean_frame.groupby("campaign_id")[["CTR", "CPC"]].median()
    assert by_campaign["CTR"].max() > 2 * by_campaign["CTR"].min()
    assert by_campaign["CPC"].max() > 2 * by_campaign["CPC"].min()


def test_event_ids_are_unique_uuid7_hex_in_time_order(clean: EventBatch) -> None:
    ids = clean.event_ids()
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and i[12] == "7" and i[16] in "89ab" for i in ids)
    # the first 48 bits are the event's millisecond timestamp, so ids sort like the events
    assert [int(i[:12], 16) for i in ids] == clean.ts_ms.tolist()
    assert [i[:12] for i in ids] == sorted(i[:12] for i in ids)


def test_keys_are_geo_and_platform(clean_frame: pd.DataFrame, clean: EventBatch) -> None:
    keys = clean.keys()
    expected = (clean_frame["geo"] + "|" + clean_frame["platform"]).str.encode("ascii")
    assert keys == expected.tolist()
    assert len(SEGMENT_KEYS) == 108
    assert [k for k, _ in clean.pairs(validate=False)[:10]] == keys[:10]


def test_events_are_in_time_order_within_range(clean: EventBatch) -> None:
    assert np.all(np.diff(clean.ts_ms) >= 0)
    frame = clean.to_frame()
    assert frame["timestamp"].min() >= MONDAY
    assert frame["timestamp"].max() < MONDAY + timedelta(days=7)


def test_same_seed_gives_identical_bytes_and_other_seed_does_not() -> None:
    def run(seed: int) -> list[bytes]:
        gen = TrafficGenerator(seed=seed, hash_salt=SALT, incidents_per_day=24)
        end = MONDAY + timedelta(hours=3)
        return [v for b in gen.events_between(MONDAY, end, base_rate_eps=2.0) for v in b.values()]

    first, again, other = run(42), run(42), run(43)
    assert len(first) > 5_000
    assert first == again
    assert first != other and set(first).isdisjoint(other)


def test_rate_is_lower_at_night_than_in_the_evening() -> None:
    night = rate_multiplier(MONDAY.replace(hour=3))
    evening = rate_multiplier(MONDAY.replace(hour=20))
    assert night < 0.5 < 1.4 < evening
    saturday = MONDAY + timedelta(days=5)
    assert rate_multiplier(saturday.replace(hour=8)) < rate_multiplier(MONDAY.replace(hour=8))
    week = [rate_multiplier(MONDAY + timedelta(hours=h)) for h in range(168)]
    assert abs(np.mean(week) - 1.0) < 0.01


def test_generated_volume_follows_the_daily_shape() -> None:
    gen = TrafficGenerator(seed=5, hash_salt=SALT, fraud=False)
    frame = pd.concat(
        [b.to_frame() for b in gen.events_between(MONDAY, MONDAY + timedelta(days=1), 5.0)]
    )
    hours = frame["timestamp"].dt.hour
    night, evening = (hours.between(2, 4)).sum(), (hours.between(18, 20)).sum()
    assert evening > 3 * night
    minutes = [MONDAY + timedelta(minutes=m) for m in range(1440)]
    expected = 5.0 * 86_400 * np.mean([rate_multiplier(m) for m in minutes])
    assert abs(len(frame) - expected) < 0.02 * expected


def test_live_batch_is_stamped_just_before_now() -> None:
    now = datetime(2024, 3, 1, 12, 0, 0, 500_000, tzinfo=UTC)
    batch = TrafficGenerator(seed=9, hash_salt=SALT).batch_for_now(1000, now)
    frame = batch.to_frame()
    assert len(batch) >= 1000
    assert frame["timestamp"].min() >= now - timedelta(seconds=1)
    assert frame["timestamp"].max() < now


def test_naive_datetimes_are_refused() -> None:
    gen = TrafficGenerator(seed=9, hash_salt=SALT)
    with pytest.raises(ValueError, match="timezone-aware"):
        gen.batch(10, datetime(2024, 1, 1), datetime(2024, 1, 2))


def test_incident_count_follows_the_configured_rate() -> None:
    gen = TrafficGenerator(seed=2, hash_salt=SALT, incidents_per_day=4.0)
    incidents = gen.incidents_between(MONDAY, MONDAY + timedelta(days=200))
    assert 800 - 120 < len(incidents) < 800 + 120  # Poisson(800): 4 standard deviations
    assert {inc.type for inc in incidents} == set(FraudType)
    assert len({inc.id for inc in incidents}) == len(incidents)
    for inc in incidents:
        assert timedelta(minutes=10) <= inc.end - inc.start <= timedelta(minutes=40)
        assert 0.0 <= inc.intensity <= 1.0
        if inc.type is FraudType.EMULATOR_BURST:
            assert inc.geo in UNUSUAL_GEOS and inc.platform in ("web", "android")
        if inc.type in (FraudType.BOT_CLICK_FLOOD, FraudType.CTR_INFLATION):
            assert inc.campaign_id is not None


def test_no_fraud_means_no_incidents_and_no_fraud_traffic() -> None:
    gen = TrafficGenerator(seed=2, hash_salt=SALT, fraud=False, incidents_per_day=50)
    assert gen.incidents_between(MONDAY, MONDAY + timedelta(days=30)) == []
    batches = list(gen.events_between(MONDAY, MONDAY + timedelta(hours=6), 2.0))
    assert all(b.incidents == () and (b.truth == -1).all() for b in batches)


def test_schedule_does_not_depend_on_how_the_range_is_chunked() -> None:
    scheduler = TrafficGenerator(seed=4, hash_salt=SALT, incidents_per_day=12).scheduler
    day_ms = int(MONDAY.timestamp() * 1000)
    whole = scheduler.incidents_between(day_ms, day_ms + 2 * 86_400_000)
    hourly = {
        inc.id: inc
        for h in range(48)
        for inc in scheduler.incidents_between(day_ms + h * 3_600_000, day_ms + (h + 1) * 3_600_000)
    }
    assert sorted(whole, key=lambda i: i.id) == sorted(hourly.values(), key=lambda i: i.id)
    fresh = TrafficGenerator(seed=4, hash_salt="x", incidents_per_day=12).scheduler
    assert fresh.incidents_between(day_ms, day_ms + 2 * 86_400_000) == whole
    assert isinstance(scheduler, IncidentScheduler)


def test_incident_label_serializes_round_trip() -> None:
    gen = TrafficGenerator(seed=2, hash_salt=SALT, incidents_per_day=8)
    incident = gen.incidents_between(MONDAY, MONDAY + timedelta(days=2))[0]
    data = orjson.loads(incident.to_json_bytes())
    assert data["start"].endswith("Z") and len(data["start"]) == len("2024-01-15T10:30:00.000Z")
    assert data["type"] in {t.value for t in FraudType}
    assert FraudIncident.model_validate_json(incident.to_json_bytes()) == incident


@pytest.fixture(scope="module")
def fraud_day() -> tuple[pd.DataFrame, list[FraudIncident]]:
    gen = TrafficGenerator(seed=8, hash_salt=SALT, incidents_per_day=30)
    end = MONDAY + timedelta(days=1)
    frame = pd.concat([b.to_frame() for b in gen.events_between(MONDAY, end, 10.0)])
    return frame, gen.incidents_between(MONDAY, end)


def test_every_scenario_occurs_and_every_label_is_known(
    fraud_day: tuple[pd.DataFrame, list[FraudIncident]],
) -> None:
    frame, incidents = fraud_day
    assert {inc.type for inc in incidents} == set(FraudType)
    labelled = set(frame["incident_id"].dropna())
    assert labelled == {inc.id for inc in incidents if inc.start < MONDAY + timedelta(days=1)}


def test_incident_events_stay_inside_window_and_segment(
    fraud_day: tuple[pd.DataFrame, list[FraudIncident]],
) -> None:
    frame, incidents = fraud_day
    for inc in incidents:
        events = frame[frame["incident_id"] == inc.id]
        assert len(events) > 0, inc
        assert (events["timestamp"] >= inc.start).all() and (events["timestamp"] < inc.end).all()
        assert (events["geo"] == inc.geo).all() and (events["platform"] == inc.platform).all()
        if inc.campaign_id is not None and inc.type is not FraudType.CPC_MANIPULATION:
            assert (events["campaign_id"] == inc.campaign_id).all()


def _views(
    frame: pd.DataFrame, inc: FraudIncident
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(the incident's events, organic events of its segment, organic ones inside its window)."""
    segment = frame[(frame["geo"] == inc.geo) & (frame["platform"] == inc.platform)]
    organic = segment[segment["incident_id"].isna()]
    inside = organic[(organic["timestamp"] >= inc.start) & (organic["timestamp"] < inc.end)]
    return frame[frame["incident_id"] == inc.id], organic, inside


@pytest.mark.parametrize("kind", list(FraudType))
def test_incident_shows_its_signature_against_the_segment_baseline(
    fraud_day: tuple[pd.DataFrame, list[FraudIncident]], kind: FraudType
) -> None:
    frame, incidents = fraud_day
    checked = 0
    for inc in (i for i in incidents if i.type is kind):
        events, organic, inside = _views(frame, inc)
        if kind is FraudType.BOT_CLICK_FLOOD:
            assert len(events) > 5 * max(len(inside), 1)
            assert events["user_id_hash"].nunique() <= 6
            assert events["conversion"].sum() == 0 and events["bounce_rate"].min() >= 0.85
        elif kind is FraudType.EMULATOR_BURST:
            assert len(events) > 3 * max(len(inside), 1)
            assert events["user_agent"].str.contains("|".join(FRAUD_UA_MARKERS)).all()
            assert inc.geo in UNUSUAL_GEOS and events["conversion"].sum() == 0
        elif kind is FraudType.CTR_INFLATION:
            assert events["CTR"].min() >= 0.04
            assert events["CTR"].mean() > 2 * organic["CTR"].mean()
        elif kind is FraudType.CPC_MANIPULATION:
            assert events["CPC"].mean() > 1.6 * organic["CPC"].mean()
            assert events["CPC"].max() <= 1.20
        else:
            assert events["conversion"].sum() == 0 and len(inside) == 0
            assert events["bounce_rate"].mean() >= 0.8 > 0.65 > organic["bounce_rate"].mean()
        checked += 1
    assert checked > 0


def test_event_ids_repeat_only_for_the_same_event() -> None:
    """A restarted generator (same seed, new time) must not reuse ids: the sinks would take
    new events for redeliveries. The same window replayed gives the same events and ids."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    one = TrafficGenerator(7, "s").batch(2_000, start, start + timedelta(hours=1)).event_ids()
    same = TrafficGenerator(7, "s").batch(2_000, start, start + timedelta(hours=1)).event_ids()
    later = start + timedelta(days=1)
    other = TrafficGenerator(7, "s").batch(2_000, later, later + timedelta(hours=1)).event_ids()
    assert one == same
    assert len(set(one)) == len(one)
    assert not set(one) & set(other)


def test_contract_ok_on_columns_accepts_generated_batches() -> None:
    gen = TrafficGenerator(seed=4, hash_salt=SALT, incidents_per_day=48)
    for batch in gen.events_between(MONDAY, MONDAY + timedelta(hours=12), base_rate_eps=2):
        assert batch.contract_ok()
        check_wire(batch.lines())  # the bytes agree: what the columns pass, the model takes


@pytest.mark.parametrize(
    ("column", "value", "field"),
    [
        ("cpc", 9.5, "CPC"),
        ("cpc", float("nan"), "CPC"),
        ("ctr", 0.0, "CTR"),
        ("bounce", 1.5, "bounce_rate"),
        ("conversion", 2, "conversion"),
        ("user_hash", "NOT-HEX-16chars!", "user_id_hash"),
    ],
)
def test_a_bad_column_value_is_caught_and_named_from_the_bytes(
    column: str, value: object, field: str
) -> None:
    from dataclasses import replace

    from streaming.contract import ContractError

    batch = TrafficGenerator(seed=5, hash_salt=SALT, fraud=False).batch_for_now(1_000)
    bad = getattr(batch, column).copy()
    bad[321] = value
    broken = replace(batch, **{column: bad})
    assert not broken.contract_ok()
    with pytest.raises(ContractError, match=f"record 321: {field}"):
        broken.pairs(validate=True)


def test_contract_ok_refuses_what_it_cannot_vouch_for() -> None:
    from dataclasses import replace

    batch = TrafficGenerator(seed=6, hash_salt=SALT, fraud=False).batch_for_now(100)
    ts = batch.ts_ms.copy()
    ts[0] = -1  # before 1970: not what the canonical text covers here
    assert not replace(batch, ts_ms=ts).contract_ok()
    ad = batch.ad.copy()
    ad[0] = -1  # numpy would wrap to the last entry
    assert not replace(batch, ad=ad).contract_ok()
    assert not replace(batch, id_bytes=batch.id_bytes[:, :8]).contract_ok()
