# syntax=docker/dockerfile:1
# communitybot: a slim, non-root image. Build: docker build -t communitybot .
# Run:   docker run --rm -p 3000:3000 -e SLACK_BOT_TOKEN=… -e SLACK_SIGNING_SECRET=… \
#          -e COMMUNITYBOT_DATABASE_URL=postgresql://… communitybot
# docs/ explains every variable; deploy/ holds the Kubernetes manifests.

ARG PYTHON_VERSION=3.11

# --- build: a wheel of the project and its dependencies in a virtualenv -------------------
FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY migrations ./migrations
RUN /opt/venv/bin/pip install .

# --- run: only the virtualenv, no compilers, no pip caches, no sources -------------------
FROM python:${PYTHON_VERSION}-slim
LABEL org.opencontainers.image.title="communitybot" \
      org.opencontainers.image.description="One community bot for Slack, Discord and the console" \
      org.opencontainers.image.licenses="Apache-2.0"
# A fixed, unprivileged uid, so Kubernetes' runAsNonRoot can check it without a name lookup.
RUN groupadd --system --gid 10001 communitybot \
 && useradd --system --uid 10001 --gid communitybot --home-dir /data --create-home \
      --shell /usr/sbin/nologin communitybot
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    COMMUNITYBOT_HTTP_HOST=0.0.0.0 \
    COMMUNITYBOT_HTTP_PORT=3000
# SQLite (the default database) lives here; mount a volume, or use PostgreSQL.
WORKDIR /data
USER 10001:10001
EXPOSE 3000
# /healthz: the process serves HTTP and its database answers. Python, since slim has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('COMMUNITYBOT_HTTP_PORT', '3000'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status == 200 else 1)"]
# SIGTERM (docker stop, Kubernetes) stops gracefully: exec form, so the bot is PID 1's process.
STOPSIGNAL SIGTERM
ENTRYPOINT ["communitybot"]
CMD ["run"]
