"""The processes behind the one-command stack: the embedded Redis and the Celery workers (`stack`), and the
waitress server with its per-client caps (`web_server`)."""
