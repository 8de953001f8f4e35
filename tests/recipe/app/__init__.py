"""A small shop, the recipe's examples translated to Python: models on the stdlib sqlite3, an email
service, and the workers under ``app/workers/`` as the recipe's naming convention asks."""
