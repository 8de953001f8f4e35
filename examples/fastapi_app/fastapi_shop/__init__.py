"""The example FastAPI shop: ``uvicorn --factory fastapi_shop.main:create_app``.

Its jobs run in ``sidequest run -r fastapi_shop.workers``.
"""
