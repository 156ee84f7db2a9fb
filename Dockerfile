# Atrium: one image for the web workers (Daphne, or Uvicorn: config/serve.py) and the one-off
# management commands.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    ATRIUM_VAR_DIR=/var/lib/atrium

# An unprivileged user owns only the var directory; the code under /app stays root-owned and
# read-only for the process. The var directory exists in the image so that a named volume
# mounted over it starts out owned by this user.
RUN groupadd --system --gid 10001 atrium \
    && useradd --system --uid 10001 --gid atrium --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin atrium \
    && install -d -o atrium -g atrium -m 0750 /var/lib/atrium

# DejaVu Sans is the font embedded in invoices and proposals (billing/pdf/): it covers Latin
# Extended, Greek and Cyrillic names, where ReportLab's own Vera stops at Latin-1.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# The locked dependencies (exact versions, checked by hash) in a layer of their own, so that a
# change to the code alone does not reinstall them; then Atrium itself, with nothing more.
COPY requirements/app.txt requirements/app.txt
RUN pip install --require-hashes --no-deps -r requirements/app.txt
COPY . .
RUN pip install --no-deps . && rm -rf build ./*.egg-info

USER atrium

# Static files are collected into /app/staticfiles at build time. Production settings
# refuse to load without SECRET_KEY, ALLOWED_HOSTS, master keys, the evidence key and a
# document-signing certificate, so this one command gets throwaway build-only values inline
# (the keys are all zeros and encrypt and sign nothing; signing is switched off); they are
# not stored in the image's environment.
RUN ATRIUM_ENV=production \
    SECRET_KEY=build-only-placeholder-for-collectstatic-not-a-real-secret-key \
    ALLOWED_HOSTS=build.invalid \
    ATRIUM_MASTER_KEYS=build-only:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    ATRIUM_EVIDENCE_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    ATRIUM_SIGNING_ENABLED=false \
    python manage.py collectstatic --noinput

EXPOSE 8000

# Daphne unless ATRIUM_SERVER=uvicorn (config/serve.py).
CMD ["python", "-m", "config.serve", "--bind", "0.0.0.0", "--port", "8000", "--proxy-headers"]
