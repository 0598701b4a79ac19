"""The Feast feature store."""

import dagster as dg

from adnomaly_dagster.resources import FeastResource


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"feast": FeastResource()})
