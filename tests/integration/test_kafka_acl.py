"""Kafka lets in only who belongs, and each only as far as its ACLs say.

An anonymous client and a wrong password are refused at authentication; each service principal
can do its own job and is refused one thing outside it; only admin creates or deletes topics.
Every refusal must also be in the broker's log, where an operator would look for it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from adnomaly_ops.stack import kafka_auth
from streaming.contract import ClickEvent
from streaming.kafka.config import base_config, consumer_config, producer_config
from streaming.kafka.principals import SERVICES, grants
from streaming.settings import Settings
from tests.integration.helpers import wait_for

pytestmark = pytest.mark.integration
QUIET = {"log_level": 0}


def _quiet(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "log_level": 0}


def _log_has(settings: Settings, text: str, deadline_s: float = 20.0) -> bool:
    log = Path(settings.state_dir) / "logs" / "kafka.log"
    return wait_for(
        lambda: text in log.read_text(errors="replace"), deadline_s, f"{text!r} in {log}"
    )


def _as(settings: Settings, principal: str) -> Settings:
    """Settings whose clients act as `principal` (not the suite's admin)."""
    return settings.model_copy(update={"kafka_principal": principal})


def _event() -> bytes:
    """A valid click: what lands in the stack's real topics here is stored like any other."""
    return ClickEvent(
        event_id=uuid.uuid4().hex,
        timestamp=datetime.now(UTC),
        user_id_hash="0123456789abcdef",
        ad_id="ad_0001",
        campaign_id="camp_001",
        geo="US",
        platform="web",
        user_agent="acl-test",
        CPC=0.5,
        CTR=0.02,
        conversion=0,
        bounce_rate=0.5,
    ).to_json_bytes()


def _produce_error(settings: Settings, principal: str, topic: str) -> KafkaError | None:
    errors: list[KafkaError | None] = []
    config = producer_config(_as(settings, principal), f"acl-{principal}")
    # not idempotent: a principal that may write nowhere would be refused its producer id
    # before the topic is even asked about; this probe is about the topic's ACL
    config["enable.idempotence"] = False
    producer = Producer(_quiet(config))
    producer.produce(topic, _event(), on_delivery=lambda err, _msg: errors.append(err))
    producer.flush(20)
    assert errors, f"{principal}: no delivery report for {topic} within 20 s"
    return errors[0]


def _consume_error(settings: Settings, principal: str, topic: str, group: str) -> KafkaError | None:
    consumer = Consumer(_quiet(consumer_config(_as(settings, principal), "acl", group)))
    consumer.subscribe([topic])
    try:
        end = time.monotonic() + 20
        while time.monotonic() < end:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error():
                return msg.error()
            if msg is not None or consumer.assignment():
                return None
        raise AssertionError(f"{principal}: neither assigned {topic} nor refused within 20 s")
    finally:
        consumer.close()


def test_anonymous_client_is_refused(stack: Settings) -> None:
    anonymous = AdminClient(
        {"bootstrap.servers": stack.kafka_bootstrap, "broker.address.family": "v4", **QUIET}
    )
    with pytest.raises(KafkaException):
        anonymous.list_topics(timeout=5)
    assert _log_has(stack, "Unexpected Kafka request of type METADATA during SASL handshake")


def test_wrong_password_is_refused(stack: Settings) -> None:
    config = {**base_config(stack, "impostor", "generator"), **QUIET}
    config["sasl.username"] = "generator"
    config["sasl.password"] = "not-" + stack.kafka_password("generator")
    with pytest.raises(KafkaException):
        AdminClient(config).list_topics(timeout=5)
    assert _log_has(stack, "invalid credentials with SASL mechanism SCRAM-SHA-512")


# (principal, what it tries outside its grants)
OUTSIDE: dict[str, Callable[[Settings], KafkaError | None]] = {
    "generator": lambda s: _consume_error(s, "generator", s.topic, s.db_sink_group),
    "db-sink": lambda s: _produce_error(s, "db-sink", s.topic),
    "lake-sink": lambda s: _consume_error(s, "lake-sink", s.features_topic, s.lake_sink_group),
    "flink": lambda s: _produce_error(s, "flink", s.anomalies_topic),
    "feast-ingestor": lambda s: _consume_error(
        s, "feast-ingestor", s.topic, s.feast_ingestor_group
    ),
    "detector": lambda s: _produce_error(s, "detector", s.features_topic),
    "monitor": lambda s: _produce_error(s, "monitor", s.topic),
}


@pytest.mark.parametrize("principal", SERVICES)
def test_each_principal_is_refused_outside_its_acls(stack: Settings, principal: str) -> None:
    error = OUTSIDE[principal](stack)
    assert error is not None, f"{principal} was allowed outside its ACLs"
    assert error.code() in (
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.GROUP_AUTHORIZATION_FAILED,
    ), error
    assert _log_has(stack, f"Principal = User:{principal} is Denied operation")


@pytest.mark.parametrize("principal", SERVICES)
def test_only_admin_creates_or_deletes_topics(stack: Settings, principal: str) -> None:
    name = f"acl-{principal}-{uuid.uuid4().hex[:6]}"
    admin = AdminClient(_quiet(base_config(_as(stack, principal), "acl-admin", principal)))
    (future,) = admin.create_topics([NewTopic(name, 1, 1)]).values()
    with pytest.raises(KafkaException) as refused:
        future.result(timeout=20)
    assert refused.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    (future,) = admin.delete_topics([stack.topic], operation_timeout=10).values()
    with pytest.raises(KafkaException):
        future.result(timeout=20)
    assert _log_has(stack, f"Principal = User:{principal} is Denied operation = CREATE")
    assert name not in AdminClient(base_config(stack, "acl-check")).list_topics(timeout=10).topics


def test_principals_do_their_own_job(stack: Settings) -> None:
    """The grants suffice: the generator writes clickstream and the labels, the db sink reads
    clickstream in its group, the detector writes anomalies, the monitor reads features."""
    assert _produce_error(stack, "generator", stack.topic) is None
    assert _produce_error(stack, "generator", stack.labels_topic) is None
    assert _produce_error(stack, "db-sink", stack.dlq_topic) is None
    assert _produce_error(stack, "detector", stack.anomalies_topic) is None
    assert _produce_error(stack, "flink", stack.features_topic) is None
    group = f"{stack.db_sink_group}"
    assert _consume_error(stack, "db-sink", stack.topic, group) is None
    reader = f"adnomaly-tail-{uuid.uuid4().hex[:6]}"
    assert _consume_error(stack, "monitor", stack.features_topic, reader) is None


def test_broker_acls_equal_the_code(stack: Settings) -> None:
    """`stack up` made the broker's ACLs exactly principals.py's: a second sync changes
    nothing, and a stray grant is removed by the next one."""
    admin = AdminClient(base_config(stack, "acl-sync"))
    assert kafka_auth.sync_acls(admin, stack) == (0, 0)
    stray = kafka_auth.binding("monitor", grants(stack)["generator"][0])  # write clickstream
    for future in admin.create_acls([stray]).values():
        future.result(timeout=20)
    assert kafka_auth.sync_acls(admin, stack) == (0, 1)
