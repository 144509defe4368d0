# gatekeeper container image.
#
#   docker build -t gatekeeper:0.1.0 .
#   docker run --rm -p 4455:4455 -v "$PWD/gatekeeper.yaml:/etc/gatekeeper/gatekeeper.yaml:ro" gatekeeper:0.1.0
#
# Two stages: the builder installs gatekeeper and its dependencies into a virtualenv; the final
# image copies only that virtualenv onto a fresh slim base (no pip cache, no build tools, no sources).

# Base pinned by tag (Python minor + Debian release); both stages must use the same one, since the
# virtualenv links to the base image's interpreter.
FROM python:3.11-slim-bookworm AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/gatekeeper

WORKDIR /src
# Every runtime dependency ships manylinux wheels for CPython 3.11, so no compiler is needed here.
# Bytecode is compiled here once, because the root filesystem is read-only at run time.
COPY pyproject.toml README.md requirements.lock ./
COPY gatekeeper ./gatekeeper
RUN /opt/gatekeeper/bin/pip install --no-cache-dir --no-compile --require-hashes -r requirements.lock \
    && /opt/gatekeeper/bin/pip install --no-cache-dir --no-compile --no-deps . \
    && /opt/gatekeeper/bin/python -m compileall -q /opt/gatekeeper/lib \
    && /opt/gatekeeper/bin/gatekeeper version


FROM python:3.11-slim-bookworm

LABEL org.opencontainers.image.title="gatekeeper" \
      org.opencontainers.image.description="Authenticating reverse proxy: Kratos-compatible identity API and Oathkeeper-compatible access rules" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PATH=/opt/gatekeeper/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

RUN groupadd --system --gid 10001 gatekeeper \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /var/lib/gatekeeper \
       --shell /usr/sbin/nologin gatekeeper \
    && mkdir -p /etc/gatekeeper /var/lib/gatekeeper \
    && chown 10001:10001 /var/lib/gatekeeper

COPY --from=builder /opt/gatekeeper /opt/gatekeeper

# Numeric uid so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# SQLite's default home (dsn sqlite:///var/lib/gatekeeper/...); mount a volume here.
WORKDIR /var/lib/gatekeeper

# proxy (internet-facing), public identity API, admin API (cluster-internal), access/decisions API, metrics
EXPOSE 4455 4433 4434 4456 9000

# slim images have no curl: ask python. Every listener answers /health/alive.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4433/health/alive', timeout=3)"]

# Exec form: gatekeeper is PID 1 and receives SIGTERM directly, then drains within serve.shutdown_timeout.
ENTRYPOINT ["gatekeeper"]
CMD ["serve", "--config", "/etc/gatekeeper/gatekeeper.yaml"]
