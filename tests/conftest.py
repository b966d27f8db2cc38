import os
import time

import pytest

from docconvert_nb import journaling
from docconvert_nb.engine import Engine
from docconvert_nb.providers.embedded import EmbeddedProvider


@pytest.fixture(autouse=True, scope="session")
def _private_store(tmp_path_factory):
    """Keep the default engine's store out of the user's home during tests."""
    if "DOCCONVERT_NB_HOME" not in os.environ:
        os.environ["DOCCONVERT_NB_HOME"] = str(tmp_path_factory.mktemp("docconvert_home"))


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A private docconvert_nb home for one test (its journal and embedded store), journal on."""
    path = tmp_path / "home"
    monkeypatch.setenv("DOCCONVERT_NB_HOME", str(path))
    monkeypatch.delenv("DOCCONVERT_NB_JOURNAL", raising=False)
    journaling.set_journal(None)
    yield path
    journaling.flush(5.0)
    journaling.set_journal(None)


class FakeClock:
    """A clock the tests move by hand (retention windows without sleeping)."""

    def __init__(self):
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def engine(tmp_path, clock):
    engine = Engine(tmp_path / "store", clock=clock, workers=2)
    yield engine
    engine.shutdown()


@pytest.fixture
def provider(engine):
    return EmbeddedProvider(engine)
