# The project's own image: Dagster webserver and daemon, and the long-running app services
# (`adnomaly gen`, `adnomaly sink db|lake`). Same interpreter line and the same locked
# dependencies as the native stack (uv.lock), without the dev group.
FROM python:3.11-slim

ARG UV_VERSION=0.13.9
ENV PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    DAGSTER_HOME=/opt/dagster/home \
    PATH=/opt/adnomaly/.venv/bin:$PATH

RUN set -eux; \
    pip install --no-cache-dir "uv==${UV_VERSION}"; \
    groupadd --system --gid 1000 adnomaly; \
    useradd --system --uid 1000 --gid adnomaly --home-dir /opt/adnomaly --shell /usr/sbin/nologin adnomaly; \
    # the named volume mounted on storage/ takes this owner on first use
    mkdir -p /opt/adnomaly /opt/dagster/home/storage; \
    chown -R adnomaly:adnomaly /opt/adnomaly /opt/dagster

WORKDIR /opt/adnomaly
USER adnomaly

# Dependencies first, so a code change does not reinstall them.
COPY --chown=adnomaly:adnomaly pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

COPY --chown=adnomaly:adnomaly . .
RUN uv sync --frozen --no-dev
COPY --chown=adnomaly:adnomaly infra/docker/dagster.yaml /opt/dagster/home/dagster.yaml

CMD ["adnomaly", "--help"]
