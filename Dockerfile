# syntax=docker/dockerfile:1
# One image for every service (worker, bots, web server); compose picks the command.
# The worker image keeps PyPI's default torch build, which brings CUDA; the bots and the web server
# never run the model, so compose builds them with TORCH_INDEX_URL pointing at a CPU-only wheel
# index of your choice (smaller image), or leaves it empty (same image as the worker).
FROM python:3.11-slim-bookworm AS app

RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# torch first, in its own layer: it is by far the largest and changes least.
ARG TORCH_INDEX_URL=
RUN pip install "torch==2.13.0" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}

COPY pyproject.toml README.md ./
COPY service ./service
COPY metrics ./metrics
COPY texts ./texts
COPY engine ./engine
COPY jobs ./jobs
COPY bots ./bots
COPY db ./db
COPY people ./people
COPY payments ./payments
COPY web ./web
COPY babel.cfg ./
COPY scripts/translations.sh ./scripts/
# The catalogues are compiled before the install, so the .mo files ship as the texts' package data.
RUN pip install "Babel>=2.14,<3" && PYTHON=python scripts/translations.sh compile && pip install .

COPY worker.py ./
COPY models ./models
COPY assets ./assets

RUN useradd --create-home --uid 1000 app && mkdir -p /data/storage && chown -R app /data /app
USER app
ENV STORAGE_DIR=/data/storage \
    MODEL_PATH=/app/models/vocals-unet.pt
CMD ["python", "worker.py"]


# The operators' dashboard: the rq-dashboard package, with the RQ version the service uses.
FROM python:3.11-slim-bookworm AS dashboard
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install "rq==3.0.0" "rq-dashboard==0.9.0"
RUN useradd --create-home --uid 1000 dash
USER dash
EXPOSE 9181
CMD ["sh", "-c", "exec rq-dashboard --bind 0.0.0.0 --port 9181 --redis-url \"$REDIS_URL\" --username \"$RQ_DASHBOARD_USERNAME\" --password \"$RQ_DASHBOARD_PASSWORD\""]
