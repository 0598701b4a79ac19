"""The stream-side clients: Kafka (sizes, growth, lag), Flink's REST API and Prometheus (the
stream-health figures)."""

import dagster as dg

from adnomaly_dagster.resources import FlinkResource, KafkaResource, PrometheusResource


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "kafka": KafkaResource(),
            "flink": FlinkResource(),
            "prometheus": PrometheusResource(),
        }
    )
