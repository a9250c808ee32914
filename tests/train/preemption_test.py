"""SIGTERM while a training loop watches: recorded, once, then the usual effect again."""
import os
import signal

from ganjax.train import preemption


def test_a_sigterm_is_recorded_and_a_second_one_has_the_usual_effect(outer_handler):
    outer = signal.getsignal(signal.SIGTERM)
    with preemption.watch() as reached:
        assert not reached(1)
        os.kill(os.getpid(), signal.SIGTERM)
        assert reached(2) and reached(3)
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert not outer_handler
    assert signal.getsignal(signal.SIGTERM) is outer


def test_a_watch_that_is_not_enabled_leaves_sigterm_alone(outer_handler):
    with preemption.watch(enabled=False) as reached:
        os.kill(os.getpid(), signal.SIGTERM)
        assert not reached(1)
    assert outer_handler == [signal.SIGTERM]


def test_preempted_names_the_step_and_how_to_resume():
    message = str(preemption.Preempted(1234))
    assert 'SIGTERM at step 1234' in message and 'same command resumes' in message
    assert preemption.EXIT_STATUS == 143
