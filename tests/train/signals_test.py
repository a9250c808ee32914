"""A signal recorded while a block runs: in the main thread only, every arrival or only
the first, and the handler from before restored after the block."""
import os
import signal
import threading

import pytest

from ganjax.train import signals


def _recording_handler():
    received = []
    return received, signal.signal(signal.SIGUSR1, lambda signum, frame: received.append(signum))


def test_every_arrival_is_recorded_and_the_handler_from_before_comes_back():
    outer_received, previous = _recording_handler()
    outer = signal.getsignal(signal.SIGUSR1)
    try:
        with signals.recorded(signal.SIGUSR1) as received:
            assert not received.is_set()
            os.kill(os.getpid(), signal.SIGUSR1)
            os.kill(os.getpid(), signal.SIGUSR1)
            assert received.is_set()
            assert signal.getsignal(signal.SIGUSR1) is not signal.SIG_DFL
        assert signal.getsignal(signal.SIGUSR1) is outer and not outer_received
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_once_leaves_the_next_arrival_to_the_default_effect():
    outer_received, previous = _recording_handler()
    outer = signal.getsignal(signal.SIGUSR1)
    try:
        with signals.recorded(signal.SIGUSR1, once=True) as received:
            os.kill(os.getpid(), signal.SIGUSR1)
            assert received.is_set()
            assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL
        assert signal.getsignal(signal.SIGUSR1) is outer and not outer_received
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_a_block_that_raises_still_gets_the_handler_from_before_back():
    _, previous = _recording_handler()
    outer = signal.getsignal(signal.SIGUSR1)
    try:
        with pytest.raises(RuntimeError, match='inside'):
            with signals.recorded(signal.SIGUSR1):
                raise RuntimeError('inside')
        assert signal.getsignal(signal.SIGUSR1) is outer
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_outside_the_main_thread_nothing_is_recorded_or_changed():
    outer = signal.getsignal(signal.SIGUSR1)
    seen = []

    def run():
        with signals.recorded(signal.SIGUSR1) as received:
            seen.append((received, signal.getsignal(signal.SIGUSR1)))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [(None, outer)]
