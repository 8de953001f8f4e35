"""Integrations with the frameworks an application already has: ``sidequest.contrib.django``,
``sidequest.contrib.flask`` and ``sidequest.contrib.starlette`` (FastAPI and Starlette).

Each is imported only by the application that uses it, and needs that framework installed
(``pip install 'sidequest[django]'``, ``[flask]`` or ``[fastapi]``); see docs/frameworks.md.
"""
