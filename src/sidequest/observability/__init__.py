"""What a process and a store tell monitoring: Prometheus metrics (needs ``sidequest[metrics]``) and
the health check of ``sidequest run --health-port``. Tracing lives in
:mod:`sidequest.contrib.opentelemetry`."""
