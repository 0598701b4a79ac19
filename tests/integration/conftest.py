"""The suite's own native stack: started once per session, stopped (and checked gone) at the end.

Set ADNOMALY_TEST_KEEP_STACK=1 to reuse a running test stack between runs while developing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import psutil
import pytest

from adnomaly_ops.stack import native
from adnomaly_ops.stack.supervisor import Supervisor
from streaming.settings import Settings, load_settings


def _stack_pids(settings: Settings) -> set[int]:
    sup_pid = Supervisor(settings).pid()
    if sup_pid is None:
        return set()
    parent = psutil.Process(sup_pid)
    return {sup_pid, *(p.pid for p in parent.children(recursive=True))}


@pytest.fixture(scope="session")
def stack() -> Iterator[Settings]:
    settings = load_settings()
    keep = os.environ.get("ADNOMALY_TEST_KEEP_STACK") == "1"
    if not keep:
        native.down(settings)  # a leftover from an aborted run of this suite
        shutil.rmtree(settings.state_dir, ignore_errors=True)
    try:
        native.up(settings, deadline_s=480)  # generous: the machine may be busy at start
    except Exception:
        native.down(settings)  # never leave a half-started stack behind
        raise
    yield settings
    if keep:
        return
    pids = _stack_pids(settings)
    native.down(settings)
    _, alive = psutil.wait_procs([psutil.Process(p) for p in pids if psutil.pid_exists(p)], 30)
    assert not alive, f"processes left after stack down: {[p.pid for p in alive]}"
