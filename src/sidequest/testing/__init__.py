"""Testing helpers for code that enqueues sidequest jobs, as explicit objects (nothing is patched).

* :func:`fake` / :class:`FakeClient`: jobs are collected; assert on them, then ``drain()`` them.
* :func:`inline` / :class:`InlineClient`: ``perform_async`` runs ``perform`` at once, in your thread.
* :func:`drain`: a real sidequest process on a real store, until every queue is empty.

::

    import sidequest.testing

    def test_enqueue_mode_queues_one_job_per_confirmed_order(orders):
        with sidequest.testing.fake() as jobs:
            OrderConfirmationWorker.perform_async()
            jobs.drain()
        ...

Both clients build every payload the way production does (argument checks, options, client
middleware, JSON round trip) and run jobs through the same Executor a sidequest process uses. The
pytest plugin shipped with sidequest offers them as the ``sidequest_fake`` and ``sidequest_inline``
fixtures.
"""

from sidequest.testing.fake import EmptyQueueError, FakeClient, FakeJob, fake
from sidequest.testing.inline import InlineClient, StorelessClient, inline
from sidequest.testing.process import drain

__all__ = [
    "EmptyQueueError",
    "FakeClient",
    "FakeJob",
    "InlineClient",
    "StorelessClient",
    "drain",
    "fake",
    "inline",
]
