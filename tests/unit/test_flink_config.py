"""The features job's configuration and SQL text, checked without a cluster."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from streaming.contract import GEOS
from streaming.flink import ddl, job, queries
from streaming.flink.config import JobConfig
from streaming.flink.ddl import interval
from streaming.flink.submit import _error_summary
from streaming.settings import Settings, load_settings

NAMES = {"name": "t", "source_topic": "clicks", "features_topic": "out", "group_id": "g"}


@pytest.fixture
def settings() -> Settings:
    return load_settings(
        HASH_SALT="s",
        DB_PASSWORD="it's",
        MINIO_ACCESS_KEY="a",
        MINIO_SECRET_KEY="b",
        REDIS_PASSWORD="c",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500ms", timedelta(milliseconds=500)),
        ("5s", timedelta(seconds=5)),
        ("5m", timedelta(minutes=5)),
        ("1h", timedelta(hours=1)),
        (30, timedelta(seconds=30)),
    ],
)
def test_durations_parse_and_survive_the_json_hop(text: object, expected: timedelta) -> None:
    config = JobConfig(**NAMES, out_of_orderness=text)  # type: ignore[arg-type]
    assert config.out_of_orderness == expected
    assert JobConfig.model_validate_json(config.model_dump_json()) == config


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"window_size": "5 parsecs"}, "window_size"),
        ({"window_size": "5m", "window_slide": "2m"}, "whole multiple"),
        ({"out_of_orderness": "1.5ms"}, "whole milliseconds"),
        ({"features_table": "x; DROP TABLE y"}, "features_table"),
        ({"source_topic": "it's"}, "source_topic"),
    ],
)
def test_bad_options_fail_naming_what_is_wrong(options: dict[str, str], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        JobConfig(**{**NAMES, **options})  # type: ignore[arg-type]


def test_the_stack_job_takes_its_names_from_the_settings(settings: Settings) -> None:
    config = JobConfig.for_stack(settings)
    assert (config.name, config.group_id) == (settings.flink_job_name, settings.flink_group)
    assert (config.source_topic, config.features_topic) == (settings.topic, settings.features_topic)
    # an option given overrides its setting; None (a CLI option left out) keeps it
    other = JobConfig.for_stack(settings, name="other", source_topic=None, window_size="10m")
    assert (other.name, other.source_topic) == ("other", settings.topic)
    assert other.window_size == timedelta(minutes=10)


def test_a_job_without_names_is_refused() -> None:
    with pytest.raises(ValidationError, match="group_id"):
        JobConfig(name="t", source_topic="c", features_topic="o")  # type: ignore[call-arg]


def test_intervals_take_more_than_two_digits_of_seconds() -> None:
    assert interval(timedelta(minutes=5)) == "INTERVAL '0 00:05:00.000' DAY TO SECOND(3)"
    assert interval(timedelta(days=1, milliseconds=1)) == (
        "INTERVAL '1 00:00:00.001' DAY TO SECOND(3)"
    )


def test_the_job_text_carries_its_configuration(settings: Settings) -> None:
    config = JobConfig.for_stack(
        settings, source_topic="clicks.x", window_size="10m", window_slide="2m", bounded=True
    )
    setup, inserts = job.statements(settings, config)
    text = "\n".join(setup)
    assert "'topic' = 'clicks.x'" in text and "'scan.bounded.mode' = 'latest-offset'" in text
    assert "INTERVAL '0 00:02:00.000' DAY TO SECOND(3), INTERVAL '0 00:10:00.000'" in text
    assert "'password' = 'it''s'" in text  # quoted, not breaking the statement
    assert [i.split()[2] for i in inserts] == ["features_out", "features_pg", "dropped_pg"]
    void_setup, void_inserts = job.statements(
        settings, config.model_copy(update={"blackhole": True})
    )
    assert void_setup == [*ddl.functions(), ddl.source(settings, config), ddl.blackhole()]
    assert void_inserts == [queries.blackhole_insert()]
    assert setup[: len(ddl.FUNCTIONS)] == ddl.functions()  # registered before the source uses one


def test_every_geo_of_the_contract_is_valid_and_nothing_else() -> None:
    condition = queries.invalid_condition()
    assert all(f"'{geo}'" in condition for geo in GEOS)
    assert condition.count("IS NULL") == 10  # every field checked NULL-safely


def test_the_job_rejects_arguments_it_was_not_built_for() -> None:
    with pytest.raises(SystemExit, match="usage"):
        job.parse_argv(["--window", "5m"])


def test_a_failed_submission_names_the_cause_not_the_wrappers() -> None:
    output = (
        "py4j.protocol.Py4JJavaError: An error occurred while calling o149.execute.\n"
        ": org.apache.flink.table.api.ValidationException: table 'x' not found\n  at org.y\n"
        "ProgramAbortException: java.lang.RuntimeException: Python process exits with code: 1\n"
    )
    assert _error_summary(output) == (
        "org.apache.flink.table.api.ValidationException: table 'x' not found"
    )


def test_the_suspicious_markers_are_the_contract_s_and_reach_the_java_function() -> None:
    """CONTAINS_ANY_MARKER splits its second argument on '|' (infra/jvm/flink-udf); its results
    against the Python reference are checked on a real JVM in test_flink_functions."""
    from streaming.feature_contract import SUSPICIOUS_UA_MARKERS

    assert tuple(queries.suspicious_markers().split("|")) == SUSPICIOUS_UA_MARKERS
    assert queries.suspicious_condition() == (
        f"CONTAINS_ANY_MARKER(user_agent, '{queries.suspicious_markers()}')"
    )
