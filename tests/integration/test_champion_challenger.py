"""Champion/challenger on the real servers: two stored versions, the detector (a subprocess)
scores every window with both and keeps their rows apart, alerts only on the champion; the
comparison (model_comparison's code) promotes the better challenger, and `adnomaly model
rollback` / `promote` switch the alerting version back and forth, all without a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from itertools import count

import orjson
import pandas as pd
import pytest

from streaming.db.connect import connect
from streaming.detection.comparison import Rule, compare_and_promote
from streaming.detection.store import register_version, save_model
from streaming.detection.train import train
from streaming.s3 import s3_client
from streaming.settings import Settings
from tests.integration.helpers import read_all, unique_topic, wait_for
from tests.integration.test_detector_service import (
    _detector,
    _forget_segment,
    _history,
    _produce,
    _row,
)

pytestmark = pytest.mark.integration
SEGMENT = ("CY", "web")


def _rows(settings: Settings, version: str) -> pd.DataFrame:
    with connect(settings) as conn:
        rows = conn.execute(
            "SELECT window_end, is_anomaly, role, incident_key FROM anomaly_results"
            " WHERE model_version = %s AND geo = %s AND platform = %s ORDER BY window_end",
            (version, *SEGMENT),
        ).fetchall()
    return pd.DataFrame(rows, columns=["window_end", "is_anomaly", "role", "incident_key"])


def _cli(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "adnomaly_cli", "model", *args],
        check=False,
        capture_output=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    return proc.stdout.decode()


def test_challenger_is_scored_apart_and_promotion_switches_alerts(stack: Settings) -> None:
    _forget_segment(stack, SEGMENT)
    topic = unique_topic(stack, "features", partitions=1)
    alerts = unique_topic(stack, "anomalies", partitions=1)
    prefix, group = f"test-models/{uuid.uuid4().hex}/", f"det-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    history = _history(*SEGMENT)
    champion = train(history, trained_at=now)
    # the challenger learned a third of the CPC: the test's 0.4 rows are normal to the champion
    # and anomalous to the challenger, so which version alerts is visible
    cheaper = history.assign(cpc_avg=history["cpc_avg"] / 3)
    challenger = train(cheaper, trained_at=now + timedelta(minutes=1))
    for model in (champion, challenger):
        save_model(model, stack, prefix=prefix)
    assert register_version(champion.version, stack, prefix=prefix) == "champion"
    assert register_version(challenger.version, stack, prefix=prefix) == "challenger"

    noon = datetime(2031, 2, 3, 12, tzinfo=UTC)
    label_id = f"test-roles-{uuid.uuid4().hex[:8]}"
    minute = count()
    argv = _detector(topic, alerts, prefix, group, "--reload-seconds", "1")
    proc = subprocess.Popen(
        [*argv, "--max-seconds", "240"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        _produce(stack, topic, [_row(SEGMENT, noon, next(minute)) for _ in range(5)])
        wait_for(
            lambda: (
                len(_rows(stack, champion.version)) == 5
                and len(_rows(stack, challenger.version)) == 5
            ),
            90,
            "5 windows scored by both versions",
        )
        before = _rows(stack, champion.version)
        apart = _rows(stack, challenger.version)
        assert set(before["role"]) == {"champion"} and not before["is_anomaly"].any()
        assert set(apart["role"]) == {"challenger"} and apart["is_anomaly"].all()
        assert apart["incident_key"].isna().all()  # the challenger's anomalies open no incident

        listing = _cli("list", "--model-prefix", prefix)
        assert f"{champion.version} │ champion" in listing
        assert f"{challenger.version} │ challenger" in listing

        # one labelled fraud over these windows: the challenger caught it, the champion did not
        with connect(stack) as conn:
            conn.execute(
                "INSERT INTO fraud_labels (incident_id, scenario, geo, platform, start_ts,"
                " end_ts, intensity) VALUES (%s, 'cpc_manipulation', %s, %s, %s, %s, 1.0)",
                (label_id, *SEGMENT, noon, noon + timedelta(minutes=5)),
            )
            conn.commit()
            outcome = compare_and_promote(
                conn, stack, s3_client(stack), prefix, Rule(min_f1_gain=0.02, min_labels=1)
            )
        assert outcome.promoted, outcome.decision.why
        assert outcome.scores is not None
        assert (outcome.scores[0].recall, outcome.scores[1].recall) == (0.0, 1.0)
        assert outcome.scores[1].f1 == 1.0 and outcome.scores[1].precision == 1.0

        def alert_by(version: str) -> list[dict]:
            _produce(stack, topic, [_row(SEGMENT, noon, next(minute))])
            found = [orjson.loads(m.value()) for m in read_all(stack, alerts, 10**6, 2)]
            return [a for a in found if a["model_version"] == version]

        opened = wait_for(lambda: alert_by(challenger.version), 90, "an alert by the new champion")
        every = [orjson.loads(m.value()) for m in read_all(stack, alerts, 10**6, 2)]
        # nothing alerted before the promotion: the challenger's anomalous windows stayed apart
        assert {a["model_version"] for a in every} == {challenger.version}
        # the incident begins after the windows scored before the promotion
        assert pd.Timestamp(opened[0]["first_window_end"]) > noon + timedelta(minutes=4)
        promoted = _rows(stack, challenger.version)
        assert promoted["is_anomaly"].all()
        # challenger until the detector re-read the roles (within --reload-seconds), then champion
        roles = list(promoted["role"])
        switched = roles.index("champion")
        assert switched >= 5 and set(roles[switched:]) == {"champion"}
        assert set(_rows(stack, champion.version)["role"]) == {"champion"}
        listing = _cli("list", "--model-prefix", prefix)
        assert f"{challenger.version} │ champion" in listing and "1.000" in listing

        def scoring_as_champion(version: str) -> None:
            done = len(_rows(stack, version))

            def more() -> bool:
                _produce(stack, topic, [_row(SEGMENT, noon, next(minute))])
                rows = _rows(stack, version)
                return len(rows) > done and rows["role"].iloc[-1] == "champion"

            wait_for(more, 90, f"{version} scoring as champion", interval_s=0.5)

        _cli("rollback", "--model-prefix", prefix)
        scoring_as_champion(champion.version)
        listing = _cli("list", "--model-prefix", prefix)
        assert f"{champion.version} │ champion" in listing
        assert f"{challenger.version} │ challenger" not in listing

        _cli("promote", challenger.version, "--model-prefix", prefix)
        scoring_as_champion(challenger.version)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        with connect(stack) as conn:
            conn.execute("DELETE FROM fraud_labels WHERE incident_id = %s", (label_id,))
            conn.commit()
    assert proc.returncode == 0, err.decode()[-3000:]


def test_minio_refuses_a_stale_roles_write_and_the_loser_reapplies(stack: Settings) -> None:
    """The conditional write roles.json relies on, on the real MinIO: a PUT If-Match a stale
    ETag is refused, and update_roles then reads the other writer's roles and re-applies."""
    from botocore.exceptions import ClientError

    from streaming.detection.roles import Roles, read_roles, roles_key, update_roles

    s3, prefix = s3_client(stack), f"test/roles-{uuid.uuid4().hex[:8]}/"
    update_roles(stack, s3, prefix, ["v1"], lambda r: r.register("v2"))
    stale = s3.get_object(Bucket=stack.minio_bucket, Key=roles_key(prefix))["ETag"]
    update_roles(stack, s3, prefix, [], lambda r: r.scores.update(v1={"f1": 0.5}))
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=stack.minio_bucket, Key=roles_key(prefix), Body=b"{}", IfMatch=stale)
    assert refused.value.response["Error"]["Code"] in {"PreconditionFailed", "412"}
    with pytest.raises(ClientError):  # the first write of roles may not replace existing ones
        s3.put_object(Bucket=stack.minio_bucket, Key=roles_key(prefix), Body=b"{}", IfNoneMatch="*")
    calls = count()

    def promote_racing_a_score(roles: Roles) -> None:
        if next(calls) == 0:
            update_roles(stack, s3, prefix, [], lambda r: r.scores.update(v2={"f1": 0.7}))
        roles.promote("v2", by="test")

    update_roles(stack, s3, prefix, [], promote_racing_a_score)
    stored = read_roles(stack, s3, prefix)
    assert stored is not None and stored.champion == "v2" and next(calls) == 2
    assert set(stored.scores) == {"v1", "v2"}
