"""Integrations with other libraries and frameworks; each module needs its own extra installed.

``sidequest.contrib.django``, ``sidequest.contrib.flask`` and ``sidequest.contrib.starlette`` (FastAPI
and Starlette) fit sidequest into an application's web framework (``pip install 'sidequest[django]'``,
``[flask]`` or ``[fastapi]``; see docs/frameworks.md); ``sidequest.contrib.opentelemetry`` traces jobs.
"""
