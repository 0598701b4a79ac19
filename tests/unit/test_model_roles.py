"""Champion/challenger bookkeeping (roles.json), the detector's watcher following it, and the
promotion rule of model_comparison."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streaming.detection.comparison import Decision, Rule, Scores, decide
from streaming.detection.model import DetectorModel
from streaming.detection.roles import CHALLENGER, CHAMPION, Roles, read_roles, update_roles
from streaming.detection.store import (
    ModelWatcher,
    list_versions,
    promote_version,
    register_version,
    save_model,
)
from streaming.detection.train import train
from streaming.incidents.grouping import Window
from streaming.incidents.quality import Label, assess
from streaming.settings import Settings, load_settings
from tests.unit.test_detection_model import MONDAY, FakeS3, synthetic


@pytest.fixture(scope="module")
def two_models() -> tuple[DetectorModel, DetectorModel]:
    return (
        train(synthetic(7, seed=1), trained_at=MONDAY),
        train(synthetic(7, seed=2), trained_at=MONDAY + timedelta(days=1)),
    )


@pytest.fixture
def settings() -> Settings:
    return load_settings()


def test_first_version_is_champion_later_ones_challengers_and_rollback() -> None:
    roles = Roles()
    assert roles.register("v1") == CHAMPION
    assert roles.register("v2") == CHALLENGER
    assert roles.register("v3") == CHALLENGER  # replaces a challenger never promoted
    assert (roles.champion, roles.challenger) == ("v1", "v3")
    roles.promote("v3", by="test")
    assert (roles.champion, roles.challenger) == ("v3", None)
    assert roles.previous_champion() == "v1"
    roles.promote("v1", by="rollback")
    assert (roles.champion, roles.previous_champion()) == ("v1", "v3")
    assert [h["champion"] for h in roles.history] == ["v1", "v3", "v1"]
    again = Roles.from_bytes(roles.to_bytes())
    assert again == roles
    with pytest.raises(ValueError, match="unknown fields"):
        Roles.from_bytes(b'{"champion": "v1", "latest": "v2"}')
    with pytest.raises(ValueError, match="not a JSON object"):
        Roles.from_bytes(b"[]")


def test_watcher_follows_roles_and_promotion(
    two_models: tuple[DetectorModel, DetectorModel], settings: Settings
) -> None:
    older, newer = two_models
    s3 = FakeS3()
    for model in (older, newer):  # both stored before either is registered
        save_model(model, settings, client=s3)
    assert register_version(older.version, settings, client=s3) == CHAMPION
    assert register_version(newer.version, settings, client=s3) == CHALLENGER
    assert list_versions(settings, client=s3) == [older.version, newer.version]  # not roles.json
    watcher = ModelWatcher(settings, every_s=3600, client=s3)
    assert watcher.refresh(force=True)
    assert watcher.model is not None and watcher.challenger is not None
    assert (watcher.model.version, watcher.challenger.version) == (older.version, newer.version)
    assert not watcher.refresh(force=True)  # nothing changed
    promote_version(newer.version, settings, "test", client=s3)
    assert watcher.refresh(force=True)
    assert watcher.model.version == newer.version and watcher.challenger is None
    promote_version(older.version, settings, "rollback", client=s3)
    assert watcher.refresh(force=True) and watcher.model.version == older.version
    stored = read_roles(settings, s3, "models/detector/")
    assert stored is not None and stored.previous_champion() == newer.version
    with pytest.raises(LookupError, match="not stored"):
        promote_version("20990101T000000Z-missing", settings, "test", client=s3)


def test_without_roles_the_newest_version_is_champion(
    two_models: tuple[DetectorModel, DetectorModel], settings: Settings
) -> None:
    s3 = FakeS3()
    for model in two_models:
        save_model(model, settings, client=s3)
    watcher = ModelWatcher(settings, every_s=3600, client=s3)
    assert watcher.refresh(force=True) and watcher.model is not None
    assert watcher.model.version == two_models[1].version and watcher.challenger is None


def _scores(version: str, labels: int, precision: float, recall: float) -> Scores:
    f1 = 2 * precision * recall / (precision + recall)
    return Scores(version, labels, labels, round(recall * labels), precision, recall, f1, 60.0)


@pytest.mark.parametrize(
    ("challenger", "promote", "why"),
    [
        (_scores("b", 10, 0.9, 0.8), True, "F1"),
        (_scores("b", 10, 0.8, 0.8), False, "F1 gain"),  # equal F1: keep the champion
        (_scores("b", 10, 0.83, 0.8), False, "F1 gain"),  # +0.014 < 0.02
        (_scores("b", 10, 1.0, 0.7), False, "recall"),  # F1 higher, recall lower
        (_scores("b", 4, 1.0, 1.0), False, "label"),  # too few labels to decide
    ],
)
def test_promotion_rule(challenger: Scores, promote: bool, why: str) -> None:
    champion = _scores("a", 10, 0.8, 0.8)
    decision = decide(champion, challenger, Rule(min_f1_gain=0.02, min_labels=5))
    assert isinstance(decision, Decision) and decision.promote is promote
    assert why in decision.why


def test_rule_refuses_bad_bounds() -> None:
    with pytest.raises(ValueError, match="min_f1_gain"):
        Rule(min_f1_gain=1.5)
    with pytest.raises(ValueError, match="min_labels"):
        Rule(min_labels=0)


def test_scores_from_live_quality() -> None:
    t0 = datetime(2026, 3, 2, 12, tzinfo=UTC)
    labels = [
        Label("l1", "click_farm", "US", "web", t0, t0 + timedelta(minutes=10)),
        Label("l2", "click_farm", "DE", "web", t0, t0 + timedelta(minutes=10)),
    ]
    minute = timedelta(minutes=1)
    windows = [  # catches l1 two minutes in; one false alert on FR
        Window("US", "web", t0 - 3 * minute, t0 + 2 * minute, 0.9),
        Window("FR", "web", t0 - 3 * minute, t0 + 2 * minute, 0.9),
    ]
    period = (t0 - timedelta(hours=1), t0 + timedelta(hours=1))
    scores = Scores.of("v", assess(labels, windows, {}, period))
    assert (scores.labels, scores.caught, scores.alerts) == (2, 1, 2)
    assert scores.precision == 0.5 and scores.recall == 0.5 and scores.f1 == pytest.approx(0.5)
    assert scores.median_delay_s == 120.0


def test_a_roles_update_that_loses_a_race_reads_again_and_keeps_both_changes(
    settings: Settings,
) -> None:
    s3, prefix = FakeS3(), "models/detector/"
    update_roles(settings, s3, prefix, ["v1", "v2"], lambda r: r.register("v2"))
    calls = 0

    def promote_while_another_writer_records_scores(roles: Roles) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:  # between this writer's read and its write, another one writes
            update_roles(settings, s3, prefix, [], lambda r: r.scores.update(v1={"f1": 0.9}))
        roles.promote("v2", by="test")

    roles, _ = update_roles(
        settings, s3, prefix, ["v1", "v2"], promote_while_another_writer_records_scores
    )
    assert calls == 2  # the first write was refused, the change applied again on theirs
    stored = read_roles(settings, s3, prefix)
    assert stored == roles and stored.champion == "v2" and stored.scores == {"v1": {"f1": 0.9}}
