"""The shop's workers, one class per module, each name ending in ``Worker`` (the recipe's conventions).

``sidequest run -r app.workers`` imports this package; importing the modules here loads every worker.
"""

from app.workers.order_confirmation_worker import OrderConfirmationWorker
from app.workers.report_progress_worker import ReportProgressWorker

__all__ = ["OrderConfirmationWorker", "ReportProgressWorker"]
