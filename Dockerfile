# The Telegram bot (`tinktalker bot`). The token is given at run time, never baked in:
#   docker build -t tinktalker-bot .
#   docker run -d --name tinktalker --restart unless-stopped --stop-timeout 130 \
#       -e TELEGRAM_TOKEN=123456:ABC... -v tinktalker-data:/data tinktalker-bot
FROM python:3.11-slim

# bot,model = the model runs inside the bot (generator.backend: local, the default); the model extra brings
# both engines: torch and ctranslate2 (model.engine auto = ctranslate2 int8 on this CPU image);
# bot = a slim image without torch: it can only ask a model server, so run it with
#       -e TINKTALKER__GENERATOR__BACKEND=http -e TINKTALKER__GENERATOR__HTTP__BASE_URL=http://model-server:8000
ARG EXTRAS=bot,model
# torch pinned as in the Makefile and Dockerfile.inference; its CPU build, or for a GPU host e.g.
# --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu124
ARG TORCH=torch==2.13.0
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md config.yml ./
COPY domain ./domain
COPY ports ./ports
COPY adapters ./adapters
COPY entrypoints ./entrypoints
COPY training ./training
RUN case ",$EXTRAS," in *,model,*) pip install "$TORCH" --index-url "$TORCH_INDEX" ;; esac \
    && pip install ".[$EXTRAS]"

RUN useradd --create-home --uid 10001 tinktalker && mkdir /data && chown tinktalker /data
USER tinktalker

# The history (SQLite), the downloaded model and its CTranslate2 conversion live on the volume, so a new
# container keeps all three (the conversion runs once, on the first start).
# Mount a config of your own and point TINKTALKER_CONFIG at it to change settings.
ENV TINKTALKER_CONFIG=/app/config.yml \
    TINKTALKER__STORE__SQLITE_PATH=/data/tinktalker.sqlite3 \
    HF_HOME=/data/huggingface \
    TINKTALKER__MODEL__CACHE_DIR=/data/tinktalker-cache
VOLUME ["/data"]
# Only webhook mode (bot.mode: webhook) listens; polling needs no port.
EXPOSE 8443
CMD ["tinktalker", "bot"]
