FROM python:3.11-slim

# Production settings: DEBUG is off unless asked for, and the service refuses to start without
# DJANGO_SECRET_KEY and DATABASE_URL (mediqueue/wsgi.py). It listens on all interfaces of its
# container only because nginx, in front of it, reaches it there (docker-compose.yml publishes
# nginx, never this port).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_DEBUG=0 \
    MEDIQUEUE_BIND=0.0.0.0:8000

WORKDIR /app
# The service's own dependencies at the exact versions the suite runs with, hashes checked
# (requirements-prod.lock, made by `make lock` from requirements.lock); then the project.
COPY pyproject.toml requirements-prod.lock README.md ./
RUN pip install --no-cache-dir --require-hashes -r requirements-prod.lock \
    && pip install --no-cache-dir --no-deps -e .
COPY . .
# Settings start nothing on import, so collecting static files needs no database and no key.
RUN DJANGO_SETTINGS_MODULE=mediqueue.settings python -m django collectstatic --noinput

# The notices' files when no EMAIL_URL is set: a volume mounted here starts with this owner.
RUN useradd --create-home mediqueue \
    && mkdir -p /var/lib/mediqueue/mail && chown mediqueue /var/lib/mediqueue/mail
USER mediqueue
EXPOSE 8000
# The app node's command, as docker-compose.yml runs it (a test holds the two equal); the
# compose files run `python manage.py migrate` once, as a service of its own, before any node.
CMD ["gunicorn", "-c", "mediqueue/gunicorn.conf.py", "mediqueue.wsgi:application"]
