"""The ticketing API's parts outside the blueprint: schemas, errors, auth, OpenAPI and webhook delivery.

The routes live in views/api.py; ``views.api.init_app`` wires these into the app.
"""
