"""Connections every domain uses: the app database and MinIO."""

import dagster as dg

from adnomaly_dagster.resources import PostgresResource, S3Resource


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"postgres": PostgresResource(), "s3": S3Resource()})
