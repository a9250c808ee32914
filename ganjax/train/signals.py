"""A signal recorded instead of acted on while a block runs: what holding Ctrl-C over a
checkpoint's save (``checkpoint.interrupts_held``) and watching for a preemption's
SIGTERM (``preemption.watch``) share."""
from collections.abc import Iterator
import contextlib
import signal
import threading


@contextlib.contextmanager
def recorded(signum: int, *, once: bool = False) -> Iterator[threading.Event | None]:
    """While the block runs, ``signum`` sets the yielded Event instead of having its
    usual effect; with ``once``, only the first does, and a second has the default
    effect (``SIG_DFL``). The handler from before is back after the block.

    Only the main thread can set signal handlers: elsewhere this yields None and the
    signal keeps its usual effect.
    """
    if threading.current_thread() is not threading.main_thread():
        yield None
        return
    received = threading.Event()

    def record(signum, frame):
        del frame
        received.set()
        if once:
            signal.signal(signum, signal.SIG_DFL)

    previous = signal.signal(signum, record)
    try:
        yield received
    finally:
        signal.signal(signum, previous)
