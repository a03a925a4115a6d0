# The API image: installs the package (CPU torch) and provisions the offline model at build time,
# so a container needs no network and no Hugging Face Hub.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    POLICYQA_DATA_DIR=/data \
    POLICYQA_MODELS_DIR=/opt/models

WORKDIR /app
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY pyproject.toml README.md ./
COPY core core
COPY ingest ingest
COPY index index
COPY qa qa
COPY api api
COPY evaluation evaluation
COPY cli cli
COPY corpus corpus
RUN pip install . && policy-qa provision

EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=5 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/ready').status != 200)"
CMD ["policy-qa", "serve", "--host", "0.0.0.0", "--port", "8000"]
