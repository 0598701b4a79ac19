"""Fixtures shared by the unit tests of the compose files."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from streaming.settings import Settings


@pytest.fixture(scope="module")
def isolated_env() -> Iterator[None]:
    """Settings as a fresh checkout has them: no .env and none of the suite's own overrides."""
    with pytest.MonkeyPatch.context() as mp:
        for field in Settings.model_fields.values():
            if field.alias:
                mp.delenv(field.alias, raising=False)
        mp.setenv("ADNOMALY_ENV_FILE", os.devnull)
        yield
