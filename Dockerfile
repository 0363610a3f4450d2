FROM python:3.11-slim

# gunicorn listens on every interface of the container so that nginx, another container, can
# reach it; docker-compose.yml publishes only nginx's port, never this one.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MEDIQUEUE_BIND=0.0.0.0:8000

WORKDIR /app
COPY pyproject.toml README.md ./
RUN pip install --no-cache-dir -e .
COPY . .
# collectstatic only reads settings; a throwaway key and URL keep it from touching a database.
RUN DJANGO_DEBUG=0 DJANGO_SECRET_KEY=collectstatic-only DATABASE_URL=postgres://unused/unused \
    python manage.py collectstatic --noinput

RUN useradd --create-home mediqueue
USER mediqueue
EXPOSE 8000
CMD ["sh", "-c", "python manage.py migrate --noinput && gunicorn -c mediqueue/gunicorn.conf.py mediqueue.wsgi:application"]
