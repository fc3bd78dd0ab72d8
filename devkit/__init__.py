"""Development kit: tiny models, loopback servers, the Bot API stand-in and the schema's defaults
for tests and bench/ alike. It lives in the repository only: the wheel does not install it."""
