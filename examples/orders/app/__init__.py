"""A small shop: orders in their own SQLite database, a flaky email service, and the workers of the
recipe's enqueue-then-process pattern (see ``app/workers/``)."""
