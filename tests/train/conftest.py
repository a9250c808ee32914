"""What the tests of signal handling share."""
import signal

import pytest


@pytest.fixture(name='outer_handler')
def fixture_outer_handler():
    """A SIGTERM handler outside the block under test (instead of the default, which
    would end the test process if the block failed to catch the signal); yields what it
    received, and is taken away after the test."""
    received = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    yield received
    signal.signal(signal.SIGTERM, previous)
