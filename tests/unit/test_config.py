import stat

import pytest

from config import SETTINGS, ConfigError, env_example, load_settings


def test_defaults_derive_every_path_from_data_dir(tmp_path):
    settings = load_settings({"DATA_DIR": str(tmp_path), "FLASK_SECRET_KEY": "k"}, instance_dir=tmp_path / "inst")
    assert settings.port == 5001
    assert settings.host == "127.0.0.1"
    assert settings.database_path == tmp_path / "clipper.db"
    assert settings.download_dir == tmp_path / "downloads"
    assert settings.processed_clips_dir == tmp_path / "clips"
    assert settings.faster_whisper_model == ""  # chosen by language
    assert (settings.whisper_english_model, settings.whisper_multilingual_model) == ("tiny.en", "base")
    assert settings.device == "auto"
    assert settings.embedded_redis is True
    assert settings.pyannote_metrics_enabled is False


def test_explicit_paths_override_data_dir(tmp_path):
    settings = load_settings(
        {"DATA_DIR": str(tmp_path), "DOWNLOAD_DIR": str(tmp_path / "elsewhere"), "FLASK_SECRET_KEY": "k"},
        instance_dir=tmp_path,
    )
    assert settings.download_dir == tmp_path / "elsewhere"
    assert settings.database_path == tmp_path / "clipper.db"


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("PORT", "web", "PORT: expected a whole number"),
        ("PORT", "70000", "PORT: expected a number from 1 to 65535"),
        ("DEVICE", "tpu", "DEVICE: expected one of auto, cpu, cuda"),
        ("PYANNOTE_METRICS_ENABLED", "maybe", "PYANNOTE_METRICS_ENABLED: expected true or false"),
        ("CLIP_MIN_DURATION_SECONDS", "-1", "CLIP_MIN_DURATION_SECONDS: expected a number of at least"),
        ("CELERY_BROKER_URL", "http://x", "CELERY_BROKER_URL: expected a redis:// URL"),
        ("STEP_TIME_LIMITS", "transcribe=soon", "STEP_TIME_LIMITS: expected step=seconds"),
        ("WORKER_CONCURRENCY", "0", "WORKER_CONCURRENCY"),
    ],
)
def test_bad_value_names_the_variable(tmp_path, name, value, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_settings({name: value, "FLASK_SECRET_KEY": "k"}, instance_dir=tmp_path)


def test_clip_minimum_must_be_below_maximum(tmp_path):
    env = {"CLIP_MIN_DURATION_SECONDS": "30", "CLIP_MAX_DURATION_SECONDS": "20", "FLASK_SECRET_KEY": "k"}
    with pytest.raises(ConfigError, match="CLIP_MIN_DURATION_SECONDS must be below CLIP_MAX_DURATION_SECONDS"):
        load_settings(env, instance_dir=tmp_path)


def test_step_time_limits_per_step(tmp_path):
    settings = load_settings(
        {"STEP_TIME_LIMITS": "transcribe=100, diarize=200", "STEP_TIME_LIMIT_SECONDS": "50", "FLASK_SECRET_KEY": "k"},
        instance_dir=tmp_path,
    )
    assert settings.time_limit("transcribe") == 100
    assert settings.time_limit("diarize") == 200
    assert settings.time_limit("download") == 50


def test_secret_key_is_generated_once_private_and_reused(tmp_path):
    first = load_settings({}, instance_dir=tmp_path).flask_secret_key
    second = load_settings({}, instance_dir=tmp_path).flask_secret_key
    key_file = tmp_path / "secret_key"
    assert first == second
    assert len(first) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    other = load_settings({}, instance_dir=tmp_path / "other").flask_secret_key
    assert other != first


def test_env_example_lists_every_setting():
    text = env_example()
    for setting in SETTINGS:
        assert f"\n{setting.name}={setting.default}\n" in text


def test_committed_env_example_is_current():
    from config import ROOT

    assert (ROOT / ".env.example").read_text() == env_example(), "run: python config.py > .env.example"
