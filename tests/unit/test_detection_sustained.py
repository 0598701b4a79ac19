"""The stream's sustained view (two disjoint windows pooled): it catches a quality fraud too
weak for one window of a quiet segment, it does not echo a blatant window into the next, it
scores the same batch by batch (the service, with its memory) as all at once (the
evaluation), and every alert names the feature and view that drove it."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import orjson
import pandas as pd
import pytest

from streaming.detection import sustained
from streaming.detection.alerts import AlertGrouper
from streaming.detection.model import DetectorModel
from streaming.detection.scoring import score
from streaming.detection.train import train
from tests.unit.test_detection_model import MONDAY, synthetic


@pytest.fixture(scope="module")
def model() -> DetectorModel:
    return train(synthetic(7), trained_at=MONDAY + timedelta(days=7))


def _fr_day() -> pd.DataFrame:
    day = synthetic(1, seed=11, start=MONDAY + timedelta(days=7))
    return day[day["geo"] == "FR"].reset_index(drop=True)


def test_a_persistent_shift_too_weak_for_one_window_is_caught_by_pooling(
    model: DetectorModel,
) -> None:
    """CTR raised by the same factor in two disjoint windows of the quietest segment (6
    clicks): each window alone stays under the threshold, the pair is an alarm in the
    sustained view."""
    day = _fr_day()
    i = int(np.flatnonzero(day["window_end"].dt.hour == 14)[0])
    pair = day.iloc[[i, i + 5]].copy()
    assert pair["window_end"].iloc[0] == pair["window_start"].iloc[1]  # disjoint neighbours
    single = model.config.threshold
    factor = 1.0
    for factor in np.linspace(1.2, 4.0, 57):  # the largest rise one window alone does not flag
        one = pair.iloc[[1]].assign(ctr_avg=pair["ctr_avg"].iloc[1] * factor)
        if score(model, one).iloc[0]["statistic"] >= 0.8 * single:
            break
    raised = pair.assign(ctr_avg=pair["ctr_avg"] * factor)
    alone = score(model, raised.iloc[[1]]).iloc[0]
    together = score(model, raised).iloc[1]
    assert not alone["is_anomaly"]
    assert together["is_anomaly"], together["reason"]
    assert (together["driver_feature"], together["driver_view"]) == ("ctr_avg", "sustained")
    assert together["drivers"]["ctr_avg"]["view"] == "sustained"
    assert "sustained view" in together["reason"]
    assert together["drivers"]["ctr_avg"]["surprise"] > 6  # -log10 p of the calibrated z


def test_a_blatant_window_does_not_echo_into_the_next(model: DetectorModel) -> None:
    day = _fr_day()
    i = int(np.flatnonzero(day["window_end"].dt.hour == 14)[0])
    pair = day.iloc[[i, i + 5]].reset_index(drop=True)
    pair["cpc_avg"] = pair["cpc_avg"] * np.array([20.0, 1.0])
    scored = score(model, pair)
    assert scored["is_anomaly"].tolist() == [True, False]
    assert scored.loc[0, "driver_view"] == "seasonal"


def _chunks(frame: pd.DataFrame, size: int = 117) -> list[pd.DataFrame]:
    return [frame.iloc[i : i + size] for i in range(0, len(frame), size)]


def test_batch_by_batch_with_memory_equals_all_at_once(model: DetectorModel) -> None:
    day = synthetic(1, seed=12, start=MONDAY + timedelta(days=7))
    day = day.sort_values("window_end", kind="stable").reset_index(drop=True)
    day.loc[day.index % 97 == 0, "ctr_avg"] *= 2.5  # some evidence to pool
    whole = score(model, day)
    memory = sustained.WindowMemory()
    parts = [score(model, chunk, memory=memory) for chunk in _chunks(day)]
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)
    assert 0 < len(memory) <= 3 * 16  # three segments, the last 15 minutes kept
    without = pd.concat([score(model, chunk) for chunk in _chunks(day)], ignore_index=True)
    assert not without["statistic"].equals(whole["statistic"])  # the memory is what joins them


def test_the_memory_forgets_another_models_windows(model: DetectorModel) -> None:
    memory = sustained.WindowMemory()
    score(model, _fr_day().iloc[:20], memory=memory)
    assert len(memory) and memory.version == model.version
    assert len(memory.for_version("other")) == 0


def test_an_alert_names_its_view_and_feature(model: DetectorModel) -> None:
    day = _fr_day()
    rows = day.iloc[600:606].copy()
    rows["cpc_avg"] *= 4
    grouper = AlertGrouper(timedelta(minutes=5))
    for row in score(model, rows).to_dict("records"):
        grouper.observe({str(k): v for k, v in row.items()})
    (incident,) = grouper.open.values()
    message = incident.message("open", model.version)
    assert message["feature"] == "cpc_avg"
    assert message["view"] in ("seasonal", "sustained")
    assert message["drivers"]["cpc_avg"]["view"] == message["view"]
    assert message["peak_score"] >= 0.5


def test_a_model_saved_before_the_view_scores_without_it(model: DetectorModel) -> None:
    data = orjson.loads(model.to_bytes())
    del data["sustained_calibration"]
    older = DetectorModel.from_bytes(orjson.dumps(data))
    assert older.sustained_calibration is None
    scored = score(older, _fr_day().iloc[:50])
    assert set(scored["driver_view"]) <= {"seasonal", "joint"}
