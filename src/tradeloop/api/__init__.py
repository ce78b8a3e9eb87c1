"""The REST API (FastAPI): `create_app(settings)` in `tradeloop.api.app`; `tradeloop api`."""
