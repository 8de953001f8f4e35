"""sidequest in a Django project: add ``"sidequest.contrib.django"`` to ``INSTALLED_APPS``.

::

    # settings.py
    INSTALLED_APPS = [..., "sidequest.contrib.django"]
    SIDEQUEST = {"URL": "postgresql://localhost/shop", "QUEUES": ["critical", "default"]}

    # urls.py
    urlpatterns = [..., path("sidequest/", include("sidequest.contrib.django.urls"))]

At startup the app configures sidequest's default client from ``SIDEQUEST`` (:mod:`.conf`), imports
the ``workers`` module or package of every installed app (:mod:`.discovery`), and makes
``perform_async`` inside ``transaction.atomic()`` commit with the transaction (:mod:`.binder`).
``manage.py sidequest run`` and the admin commands (``stats``, ``jobs``, ``queues``, ...) are
``sidequest``'s own commands with these settings; the dashboard is served to staff users. See
docs/frameworks.md.
"""
