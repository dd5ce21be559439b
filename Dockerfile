# genius-wh in a container: `genius-wh serve` (the receiver plus the scheduler, each batch in
# a child process) as an unprivileged user, data on a volume, /healthz as the health check.
# Builds from the Python base image and the package index alone: `pip install` of this
# project and its pinned dependencies (the DuckDB extensions are wheels too, so nothing is
# downloaded at run time). Build: docker build -t genius-wh .   (compose.yaml does it for you)
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY genius_wh genius_wh
COPY ingest ingest
COPY transform transform
COPY warehouse warehouse
COPY wallboard wallboard
COPY orchestration orchestration
# the product alone (no test tools), not editable: the source folder stays behind
RUN python -m venv /opt/genius-wh/.venv \
 && /opt/genius-wh/.venv/bin/pip install --upgrade pip \
 && /opt/genius-wh/.venv/bin/pip install /src \
 && /opt/genius-wh/.venv/bin/genius-wh --help > /dev/null

FROM python:${PYTHON_VERSION}-slim
# the service user of deploy/genius-wh.service, with a fixed id for volume ownership
RUN groupadd --system --gid 10001 genius \
 && useradd --system --uid 10001 --gid genius --home-dir /var/lib/genius-wh \
      --shell /usr/sbin/nologin genius \
 && install -d -o genius -g genius -m 0700 /var/lib/genius-wh
COPY --from=build /opt/genius-wh/.venv /opt/genius-wh/.venv
ENV PATH=/opt/genius-wh/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GENIUS_WH_DATA_DIR=/var/lib/genius-wh \
    GENIUS_WH_LOG_FORMAT=json
USER genius
WORKDIR /var/lib/genius-wh
VOLUME ["/var/lib/genius-wh"]
EXPOSE 8080
# 200 while the spool is writable, 503 if not (the receiver's own check, cheap every second)
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"]
# UMask=0077 of the systemd unit: every file of every process (jobs included) is private
ENTRYPOINT ["/bin/sh", "-c", "umask 0077 && exec genius-wh \"$@\"", "genius-wh"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
# SIGTERM (docker stop) drains the receiver and seals its spool segment
STOPSIGNAL SIGTERM
