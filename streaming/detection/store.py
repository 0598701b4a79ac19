"""Models in MinIO: `<bucket>/models/detector/<version>.json`, newest version = largest name.

No "latest" pointer object: the version's timestamp prefix already orders them, so a reader
never sees a pointer to a model that is not fully written (an S3 PUT is atomic per object).
Training writes, the detector reads; `ModelWatcher` lets the running service pick up a new
version without a restart while asking MinIO at most once per `every_s`.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from streaming.detection.model import DetectorModel
from streaming.s3 import s3_client
from streaming.settings import Settings

MODEL_PREFIX: Final = "models/detector/"
log = logging.getLogger("adnomaly.detector.store")


def _client(settings: Settings, client: Any) -> Any:
    return client if client is not None else s3_client(settings)


def save_model(
    model: DetectorModel, settings: Settings, *, client: Any = None, prefix: str = MODEL_PREFIX
) -> str:
    """Store the model under its version; returns the object key."""
    key = f"{prefix}{model.version}.json"
    _client(settings, client).put_object(
        Bucket=settings.minio_bucket,
        Key=key,
        Body=model.to_bytes(),
        ContentType="application/json",
        Metadata={"model-version": model.version, "trained-rows": str(model.trained_rows)},
    )
    return key


def list_versions(
    settings: Settings, *, client: Any = None, prefix: str = MODEL_PREFIX
) -> list[str]:
    """Stored versions, oldest first."""
    s3 = _client(settings, client)
    versions = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=settings.minio_bucket, Prefix=prefix
    ):
        for obj in page.get("Contents", []):
            name = obj["Key"][len(prefix) :]
            if name.endswith(".json") and "/" not in name:
                versions.append(name.removesuffix(".json"))
    return sorted(versions)


def load_model(
    version: str, settings: Settings, *, client: Any = None, prefix: str = MODEL_PREFIX
) -> DetectorModel:
    body = _client(settings, client).get_object(
        Bucket=settings.minio_bucket, Key=f"{prefix}{version}.json"
    )["Body"]
    return DetectorModel.from_bytes(body.read())


def load_latest_model(
    settings: Settings, *, client: Any = None, prefix: str = MODEL_PREFIX
) -> DetectorModel | None:
    """The newest stored model, or None when training has not run yet."""
    s3 = _client(settings, client)
    versions = list_versions(settings, client=s3, prefix=prefix)
    return load_model(versions[-1], settings, client=s3, prefix=prefix) if versions else None


class ModelWatcher:
    """Holds the current model; `refresh()` swaps in a newer stored version when one exists.

    A MinIO outage or an unreadable new object keeps the current model (logged) rather than
    stopping detection.
    """

    def __init__(
        self,
        settings: Settings,
        every_s: float = 30.0,
        *,
        client: Any = None,
        prefix: str = MODEL_PREFIX,
    ) -> None:
        self.settings = settings
        self.every_s = every_s
        self.prefix = prefix
        self.client = _client(settings, client)
        self.model: DetectorModel | None = None
        self._checked_at = float("-inf")

    def refresh(self, force: bool = False) -> bool:
        """True when the model changed. Asks MinIO only if `every_s` passed (or `force`)."""
        now = time.monotonic()
        if not force and now - self._checked_at < self.every_s:
            return False
        self._checked_at = now
        try:
            versions = list_versions(self.settings, client=self.client, prefix=self.prefix)
            if not versions or (self.model and versions[-1] <= self.model.version):
                return False
            model = load_model(versions[-1], self.settings, client=self.client, prefix=self.prefix)
        except (BotoCoreError, ClientError, ValueError) as exc:
            log.warning("model check failed, keeping %s: %s", self._current(), exc)
            return False
        log.info("model %s -> %s", self._current(), model.version)
        self.model = model
        return True

    def _current(self) -> str:
        return self.model.version if self.model else "no model"
