"""A signal recorded while a block runs: in the main thread only, every arrival or only
the first, and the handler from before restored after the block."""
import os
import signal
import threading

import pytest

from ganjax.train import signals


def test_every_arrival_is_recorded_and_the_handler_from_before_comes_back(outer_handler):
    outer = signal.getsignal(signal.SIGTERM)
    with signals.recorded(signal.SIGTERM) as received:
        assert not received.is_set()
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)
        assert received.is_set()
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    assert signal.getsignal(signal.SIGTERM) is outer and not outer_handler


def test_once_leaves_the_next_arrival_to_the_default_effect(outer_handler):
    outer = signal.getsignal(signal.SIGTERM)
    with signals.recorded(signal.SIGTERM, once=True) as received:
        os.kill(os.getpid(), signal.SIGTERM)
        assert received.is_set()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGTERM) is outer and not outer_handler


def test_a_block_that_raises_still_gets_the_handler_from_before_back(outer_handler):
    outer = signal.getsignal(signal.SIGTERM)
    with pytest.raises(RuntimeError, match='inside'):
        with signals.recorded(signal.SIGTERM):
            raise RuntimeError('inside')
    assert signal.getsignal(signal.SIGTERM) is outer and not outer_handler


def test_outside_the_main_thread_nothing_is_recorded_or_changed():
    outer = signal.getsignal(signal.SIGTERM)
    seen = []

    def run():
        with signals.recorded(signal.SIGTERM) as received:
            seen.append((received, signal.getsignal(signal.SIGTERM)))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [(None, outer)]
