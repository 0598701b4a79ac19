"""Champion and challenger: which stored model versions the detector runs, and in which role.

Kept in MinIO next to the models (`<prefix>roles.json`, one object: an S3 PUT replaces it
atomically, so a reader sees the old or the new roles, never half of them). Every change is a
conditional write (`update_roles`: If-Match the ETag read, or If-None-Match for the first), so
two writers at once (a promotion from the CLI while `model_comparison` records its scores)
cannot lose each other's change: the one that lost the race reads again and re-applies.

The champion's score decides alerts; the challenger is scored on the same windows and only
recorded, so the two can be compared (Dagster `model_comparison`) before the challenger takes
over.

Without a roles object (a store that predates roles) the newest version is the champion and
there is no challenger: the detector behaves as it did before roles existed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import orjson
from botocore.exceptions import ClientError

from streaming.settings import Settings

ROLES_OBJECT: Final = "roles.json"
CHAMPION: Final = "champion"
CHALLENGER: Final = "challenger"
# what S3 and MinIO answer a conditional PUT whose condition no longer holds
_RACE_CODES: Final = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})
UPDATE_ATTEMPTS: Final = 8
T = TypeVar("T")


class UnknownVersionError(LookupError):
    """A version that is not stored under the model prefix."""


@dataclass
class Roles:
    champion: str | None = None
    challenger: str | None = None
    # every change of champion, oldest first: {"at", "champion", "previous", "by"}
    history: list[dict[str, Any]] = field(default_factory=list)
    # the latest comparison per version: {"f1", "precision", "recall", ...}
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)

    def role_of(self, version: str) -> str | None:
        return {self.champion: CHAMPION, self.challenger: CHALLENGER}.get(version)

    def register(self, version: str) -> str:
        """A newly trained version: champion when there is none yet, otherwise challenger
        (replacing an earlier challenger that was never promoted). Returns its role."""
        if self.champion is None:
            self._set_champion(version, by="first model")
            return CHAMPION
        if version != self.champion:
            self.challenger = version
        return self.role_of(version) or CHALLENGER

    def promote(self, version: str, by: str) -> None:
        """`version` becomes champion; the challenger slot empties if it held that version.
        Rollback is promoting the previous champion again."""
        if version == self.challenger:
            self.challenger = None
        if version != self.champion:
            self._set_champion(version, by)

    def previous_champion(self) -> str | None:
        """The champion before the current one (the rollback target)."""
        for change in reversed(self.history):
            if change["champion"] == self.champion and change.get("previous"):
                return str(change["previous"])
        return None

    def _set_champion(self, version: str, by: str) -> None:
        at = datetime.now(UTC).isoformat()
        self.history.append({"at": at, "champion": version, "previous": self.champion, "by": by})
        self.champion = version

    def to_bytes(self) -> bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2)

    @classmethod
    def from_bytes(cls, raw: bytes) -> Roles:
        data = orjson.loads(raw)
        if not isinstance(data, dict):
            raise ValueError(f"{ROLES_OBJECT} is not a JSON object")
        unknown = set(data) - {"champion", "challenger", "history", "scores"}
        if unknown:
            raise ValueError(f"{ROLES_OBJECT} has unknown fields {sorted(unknown)}")
        return cls(**data)


def roles_key(prefix: str) -> str:
    return f"{prefix}{ROLES_OBJECT}"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _read(settings: Settings, client: Any, prefix: str) -> tuple[Roles | None, str | None]:
    """The stored roles and their ETag, or (None, None) when the store has none yet."""
    try:
        got = client.get_object(Bucket=settings.minio_bucket, Key=roles_key(prefix))
    except ClientError as exc:
        if _code(exc) in {"NoSuchKey", "404"}:
            return None, None
        raise
    return Roles.from_bytes(got["Body"].read()), got.get("ETag")


def read_roles(settings: Settings, client: Any, prefix: str) -> Roles | None:
    """The stored roles, or None when the store has none yet."""
    return _read(settings, client, prefix)[0]


def update_roles(
    settings: Settings,
    client: Any,
    prefix: str,
    versions: list[str],
    change: Callable[[Roles], T],
) -> tuple[Roles, T]:
    """Apply `change` to the current roles (`current_roles`) and store them, only if nobody
    stored others meanwhile; else read again and re-apply, up to UPDATE_ATTEMPTS times."""
    for _ in range(UPDATE_ATTEMPTS):
        roles, etag = _read(settings, client, prefix)
        if roles is None:
            roles = Roles(champion=versions[-1] if versions else None)
        result = change(roles)
        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        try:
            client.put_object(
                Bucket=settings.minio_bucket,
                Key=roles_key(prefix),
                Body=roles.to_bytes(),
                ContentType="application/json",
                **condition,
            )
        except ClientError as exc:
            if _code(exc) in _RACE_CODES:
                continue  # another writer got in first: start again from theirs
            raise
        return roles, result
    raise RuntimeError(
        f"{roles_key(prefix)} changed under every one of {UPDATE_ATTEMPTS} attempts to update it"
    )


def current_roles(settings: Settings, client: Any, prefix: str, versions: list[str]) -> Roles:
    """The stored roles, or (none stored) the newest version as champion."""
    stored = read_roles(settings, client, prefix)
    if stored is not None:
        return stored
    return Roles(champion=versions[-1] if versions else None)
