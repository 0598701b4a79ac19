"""The stream-side clients: Kafka (sizes, growth, lag) and Flink's REST API."""

import dagster as dg

from adnomaly_dagster.resources import FlinkResource, KafkaResource


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"kafka": KafkaResource(), "flink": FlinkResource()})
