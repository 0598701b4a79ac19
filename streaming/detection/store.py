"""Models in MinIO: `<bucket>/models/detector/<version>.json`, newest version = largest name,
and which of them is champion and challenger (`roles.json` beside them, see roles.py).

No "latest" pointer object: the version's timestamp prefix already orders them, so a reader
never sees a pointer to a model that is not fully written (an S3 PUT is atomic per object).
Training writes, the detector reads; `ModelWatcher` lets the running service pick up a new
version, a promotion or a rollback without a restart while asking MinIO at most once per
`every_s`.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from streaming.detection.model import DetectorModel
from streaming.detection.roles import (
    ROLES_OBJECT,
    Roles,
    UnknownVersionError,
    current_roles,
    read_roles,
    update_roles,
)
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
            if name.endswith(".json") and "/" not in name and name != ROLES_OBJECT:
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


def load_champion_model(
    settings: Settings, *, client: Any = None, prefix: str = MODEL_PREFIX
) -> DetectorModel | None:
    """The model the detector alerts with (the roles' champion; without roles, the newest),
    or None when training has not run yet."""
    s3 = _client(settings, client)
    versions = list_versions(settings, client=s3, prefix=prefix)
    if not versions:
        return None
    champion = current_roles(settings, s3, prefix, versions).champion or versions[-1]
    return load_model(champion, settings, client=s3, prefix=prefix)


def register_version(
    version: str, settings: Settings, *, client: Any = None, prefix: str = MODEL_PREFIX
) -> str:
    """Give a newly stored version its role (champion if there is none, else challenger).

    A store without roles yet ran its newest version: the newest one before `version` is the
    champion that `version` challenges."""
    s3 = _client(settings, client)
    earlier = [v for v in list_versions(settings, client=s3, prefix=prefix) if v < version]
    return update_roles(settings, s3, prefix, earlier, lambda roles: roles.register(version))[1]


def promote_version(
    version: str, settings: Settings, by: str, *, client: Any = None, prefix: str = MODEL_PREFIX
) -> Roles:
    """Make a stored `version` the champion (a rollback promotes the previous one)."""
    s3 = _client(settings, client)
    versions = list_versions(settings, client=s3, prefix=prefix)
    if version not in versions:
        raise UnknownVersionError(
            f"model version {version!r} is not stored under s3://{settings.minio_bucket}/"
            f"{prefix} (stored: {', '.join(versions) or 'none'})"
        )
    return update_roles(settings, s3, prefix, versions, lambda roles: roles.promote(version, by))[0]


class ModelWatcher:
    """Holds the champion (`model`) and challenger; `refresh()` follows the stored roles (or,
    without roles, the newest stored version) and loads a model only when its version changed.

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
        self.challenger: DetectorModel | None = None
        self._checked_at = float("-inf")

    def refresh(self, force: bool = False) -> bool:
        """True when the model changed. Asks MinIO only if `every_s` passed (or `force`)."""
        now = time.monotonic()
        if not force and now - self._checked_at < self.every_s:
            return False
        self._checked_at = now
        try:
            versions = list_versions(self.settings, client=self.client, prefix=self.prefix)
            roles = read_roles(self.settings, self.client, self.prefix)
            if roles is None:  # a store without roles: the newest version, as before roles
                if not versions or (self.model and versions[-1] <= self.model.version):
                    return False
                roles = Roles(champion=versions[-1])
            champion = self._load(roles.champion, self.model)
            challenger = self._load(roles.challenger, self.challenger)
        except (BotoCoreError, ClientError, ValueError) as exc:
            log.warning("model check failed, keeping %s: %s", self._current(), exc)
            return False
        if champion is None:
            return False  # roles name no champion: keep what runs
        changed = (champion, challenger) != (self.model, self.challenger)
        if changed:
            log.info(
                "models %s -> champion %s, challenger %s",
                self._current(),
                champion.version,
                challenger.version if challenger else "none",
            )
        self.model, self.challenger = champion, challenger
        return changed

    def _load(self, version: str | None, held: DetectorModel | None) -> DetectorModel | None:
        if version is None:
            return None
        if held is not None and held.version == version:
            return held
        return load_model(version, self.settings, client=self.client, prefix=self.prefix)

    def _current(self) -> str:
        champion = self.model.version if self.model else "no model"
        return f"{champion} (challenger {self.challenger.version})" if self.challenger else champion
