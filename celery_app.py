"""The Celery instance: `celery -A celery_app.celery_app worker` runs the tasks."""

from app import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
