# The decision server: `policyeng serve` on the policy files mounted at /policies.
#
#   docker build -t policyeng .
#   docker run --rm -p 127.0.0.1:8787:8787 -v "$PWD/policies:/policies:ro" policyeng
#
# Builds from this repository alone. The catalog is the default chain (the
# provider's live URL, its cache, then the bundled snapshot); set
# POLICYENG_CATALOG, or FLEXAI_API_KEY with --live, at `docker run`.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY LICENSES ./LICENSES
COPY schemas ./schemas
COPY policyeng ./policyeng
RUN pip install ".[serve]" && rm -rf /src

RUN useradd --system --uid 10001 --home-dir /home/policyeng --create-home policyeng \
    && mkdir /policies && chown policyeng /policies
USER policyeng
WORKDIR /home/policyeng
ENV POLICYENG_CACHE_DIR=/home/policyeng/.cache/policyeng

EXPOSE 8787
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8787/readyz', timeout=2).status != 200)"]
ENTRYPOINT ["policyeng"]
CMD ["serve", "/policies", "--host", "0.0.0.0"]
