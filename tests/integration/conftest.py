"""Integration fixtures: one real Kafka broker per test session.

Set NOVALOG_TEST_BOOTSTRAP to run against a broker you started yourself;
otherwise a LocalBroker is started on 127.0.0.1:19092/19093 (away from a
developer's broker on 9092) with its data in a pytest temporary directory.
NOVALOG_TEST_BROKER_PORT moves it (the controller takes the next port), so
two suites can run side by side.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from novalog.broker import LocalBroker

TEST_BROKER_PORT = int(os.environ.get("NOVALOG_TEST_BROKER_PORT", "19092"))
TEST_CONTROLLER_PORT = TEST_BROKER_PORT + 1
READY_TIMEOUT = 90.0

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests under tests/integration as `integration`; this hook sees every item of the session."""
    for item in items:
        if _HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def local_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker | None]:
    """The session's LocalBroker, or None when NOVALOG_TEST_BOOTSTRAP names an external broker.

    Stopped and its data deleted at the end of the session, also when tests fail or setup breaks.
    """
    if os.environ.get("NOVALOG_TEST_BOOTSTRAP"):
        yield None
        return
    state_dir = tmp_path_factory.mktemp("kafka")
    broker = LocalBroker(
        state_dir=state_dir,
        broker_port=TEST_BROKER_PORT,
        controller_port=TEST_CONTROLLER_PORT,
    )
    broker.fetch()
    try:
        broker.start()
        broker.wait_ready(READY_TIMEOUT)
        yield broker
    finally:
        broker.stop()
        shutil.rmtree(broker.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def kafka_bootstrap(local_broker: LocalBroker | None) -> str:
    """Bootstrap servers of the session's broker: NOVALOG_TEST_BOOTSTRAP, or the LocalBroker on port 19092."""
    if local_broker is None:
        return os.environ["NOVALOG_TEST_BOOTSTRAP"]
    return local_broker.bootstrap
