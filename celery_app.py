"""The Celery instance: `celery -A celery_app.celery_app worker` runs the tasks."""

from app import create_app
from runtime.process import harden_process

harden_process()  # a worker started on its own also keeps its files private
flask_app = create_app()
celery_app = flask_app.extensions["celery"]
