"""Make the broker's credentials and ACLs equal to streaming/kafka/principals.py, as admin.

Runs at every `stack up`: a changed password in `.env` or a changed grant takes effect, and an
ACL no longer in the list is removed, so the broker never grants more than the code says.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)

from streaming.kafka.principals import SERVICES, Grant, grants
from streaming.kafka.topics import admin_client
from streaming.settings import Settings

TIMEOUT_S = 30
_MATCH_ANY: Any = None  # a filter field that matches every value (the stubs say str only)
_RESOURCE = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP}
_OPERATION = {
    "read": AclOperation.READ,
    "write": AclOperation.WRITE,
    "describe": AclOperation.DESCRIBE,
}


def binding(principal: str, grant: Grant) -> AclBinding:
    pattern = ResourcePatternType.PREFIXED if grant.prefixed else ResourcePatternType.LITERAL
    return AclBinding(
        _RESOURCE[grant.resource],
        grant.name,
        pattern,
        f"User:{principal}",
        "*",
        _OPERATION[grant.operation],
        AclPermissionType.ALLOW,
    )


def upsert_credentials(admin: AdminClient, settings: Settings) -> None:
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096)
    changes: list[UserScramCredentialAlteration] = [
        UserScramCredentialUpsertion(p, info, settings.kafka_password(p).encode()) for p in SERVICES
    ]
    for future in admin.alter_user_scram_credentials(changes).values():
        future.result(timeout=TIMEOUT_S)


def _key(b: AclBinding) -> tuple[object, ...]:
    return (b.restype, b.name, b.resource_pattern_type, b.principal, b.operation)


def sync_acls(admin: AdminClient, settings: Settings) -> tuple[int, int]:
    """Create the missing ACLs and delete the stale ones; returns (created, deleted)."""
    wanted = {_key(b): b for p, gs in grants(settings).items() for b in (binding(p, g) for g in gs)}
    every = AclBindingFilter(
        ResourceType.ANY,
        _MATCH_ANY,
        ResourcePatternType.ANY,
        _MATCH_ANY,
        _MATCH_ANY,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    existing = admin.describe_acls(every).result(timeout=TIMEOUT_S)
    ours = {f"User:{p}" for p in SERVICES}
    stale = [b for b in existing if b.principal in ours and _key(b) not in wanted]
    have = {_key(b) for b in existing}
    missing = [b for k, b in wanted.items() if k not in have]
    if missing:
        for future in admin.create_acls(missing).values():
            future.result(timeout=TIMEOUT_S)
    if stale:
        filters = [
            AclBindingFilter(
                b.restype,
                b.name,
                b.resource_pattern_type,
                b.principal,
                b.host,
                b.operation,
                b.permission_type,
            )
            for b in stale
        ]
        for future in admin.delete_acls(filters).values():
            future.result(timeout=TIMEOUT_S)
    return len(missing), len(stale)


def provision(settings: Settings) -> None:
    admin = admin_client(settings)
    upsert_credentials(admin, settings)
    sync_acls(admin, settings)
