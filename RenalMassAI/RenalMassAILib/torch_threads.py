"""torch's intra-op thread count, set for one block of work and then given back.

torch.set_num_threads changes the whole process; a library call that set it and left it would
change the caller's other work (the Slicer process, a test run, a batch worker's next task)."""

import contextlib


@contextlib.contextmanager
def torch_threads(count: int | None):
    """Runs the block with `count` torch threads (None or 0: as they are), then restores the caller's."""
    import torch

    previous = torch.get_num_threads()
    if count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
