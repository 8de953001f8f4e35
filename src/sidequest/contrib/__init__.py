"""Integrations with other libraries and frameworks; each module needs its own extra installed."""
