"""`tinktalker serve`: the HTTP API (Litestar app, routes, schemas, serving rules, metrics) under
uvicorn."""
