#!/usr/bin/env bash
# Everything README "GPU host" claims, measured in one go on a machine with an NVIDIA GPU. Prints figures;
# claims nothing by itself. Sections (all by default, in this order; name some to run only those):
#   host      nvidia-smi, driver, the versions that matter, whether the cuBLAS 12 wheel is there
#   checks    ../shared/gpu: asr_check.py (as is, then with the wheel's cuBLAS 12 on LD_LIBRARY_PATH, which is
#             what the app's preload does), diar_check.py on CUDA, nvenc_check.py; on 600 s of the dev set
#   app       the app's own code on CUDA: transcribe (batched: WHISPER_BATCHED=auto, and sequential) and
#             diarize (Silero voice detection, as on the CPU, and senko's pyannote one), each step's note
#             ("on CUDA" or "ran on CPU: ..."), seconds, speakers; the clip encoder `auto` picks
#   quality   bench/quality.py --device cuda, then --device cuda --vad pyannote, then --device cpu: the same
#             dev set on both devices (speaker counts, DER, WER)
#   pipeline  bench/bench_pipeline.py --minutes 10 --device cuda --compute-concurrency 1 (the GPU default):
#             per-step seconds of a 10-minute conversation through the whole app. It builds the conversation
#             with espeak-ng unless bench/output/ already holds it (carry it from a machine that made it).
# Usage: bench/gpu_check.sh [host] [checks] [app] [quality] [pipeline]   (PY=python to use, default .venv's)
# About 2 + 4 + 3 + 4 + 5 minutes on an H200 by the README's figures; split it across runs if a run is capped.
set -u
cd "$(dirname "$0")/.."
PY=${PY:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
SHARED=${SHARED:-../shared}
WORK=${WORK:-bench/output/gpu_check}
AUDIO=${AUDIO:-$WORK/devset_600s.wav}  # made from ../shared/devset when absent
SECTIONS=${*:-host checks app quality pipeline}
mkdir -p "$WORK"

section() { echo; echo "=== $1 ($(date +%T))"; }
wanted() { case " $SECTIONS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
cublas_dir() { "$PY" -c 'from pipeline import gpu; print(gpu.cublas_folder() or "")'; }

make_audio() {  # 600 s of real speech: the dev set's recordings one after another, repeated, as 16 kHz mono
  [ -s "$AUDIO" ] && return
  "$PY" - "$SHARED/devset" "$AUDIO" <<'EOF'
import subprocess, sys
from pathlib import Path
from pipeline.media import ffmpeg_binary
devset, out = Path(sys.argv[1]), sys.argv[2]
files = sorted(p for p in devset.iterdir() if p.suffix in (".wav", ".mp3"))
inputs = [arg for p in files * 3 for arg in ("-i", str(p))]
graph = "".join(f"[{i}:a]aresample=16000,aformat=channel_layouts=mono[a{i}];" for i in range(len(files) * 3))
graph += "".join(f"[a{i}]" for i in range(len(files) * 3)) + f"concat=n={len(files) * 3}:v=0:a=1[out]"
subprocess.run([ffmpeg_binary(""), "-y", "-loglevel", "error", *inputs, "-filter_complex", graph, "-map", "[out]",
                "-t", "600", "-ar", "16000", "-ac", "1", "-c:a", "pcm_s16le", out], check=True)
print("made", out)
EOF
}

if wanted host; then
  section "host"
  nvidia-smi -L
  nvidia-smi --query-gpu=name,driver_version,memory.total,encoder.stats.sessionCount --format=csv 2>/dev/null \
    || nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  "$PY" -V
  "$PY" -m pip list 2>/dev/null | grep -iE '^(ctranslate2|faster-whisper|senko|torch|pyannote.audio|nvidia-cublas\S*) '
  "$PY" -c 'import ctranslate2, torch; print("CUDA devices: ctranslate2", ctranslate2.get_cuda_device_count(),
                                             "torch", torch.cuda.device_count())'
  echo "cuBLAS 12 wheel: $(cublas_dir || true)  (empty: pip install -r requirements-gpu.txt)"
  "$PY" -c 'from config import load_settings; s = load_settings({"FLASK_SECRET_KEY": "x"});
print("defaults here: WORKER_CONCURRENCY", s.worker_concurrency, "WHISPER_BATCHED", s.whisper_batched)'
fi

if wanted checks; then
  section "checks: ../shared/gpu"
  make_audio
  MODEL=$("$PY" -c 'from pipeline.transcription import resolve_model; print(resolve_model("tiny.en"))')
  echo "--- asr_check.py as is (CTranslate2 finds libcublas.so.12 on the system, or fails)"
  "$PY" "$SHARED/gpu/asr_check.py" "$MODEL" "$AUDIO" 2>&1
  LIBS=$(cublas_dir || true)
  if [ -n "$LIBS" ]; then
    echo "--- asr_check.py with the wheel's cuBLAS 12 ($LIBS): what the app's preload gives CTranslate2"
    LD_LIBRARY_PATH="$LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$PY" "$SHARED/gpu/asr_check.py" "$MODEL" "$AUDIO" 2>&1
  fi
  echo "--- diar_check.py on CUDA (senko's own choices: pyannote voice detection)"
  "$PY" "$SHARED/gpu/diar_check.py" "$AUDIO" cuda 2>&1
  echo "--- nvenc_check.py"
  "$PY" "$SHARED/gpu/nvenc_check.py" 2>&1
fi

if wanted app; then
  section "app: the pipeline's own transcription and diarization on CUDA"
  make_audio
  "$PY" - "$AUDIO" <<'EOF'
import logging, sys, time
from dataclasses import replace
from pipeline import diarization, media, transcription
from pipeline.options import DiarizationOptions, TranscriptionOptions
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
audio, quiet = sys.argv[1], (lambda fraction: None)
for label, options in [("auto (batched on CUDA)", TranscriptionOptions(device="cuda")),
                       ("sequential", TranscriptionOptions(device="cuda", batched=False)),
                       ("batched 16", TranscriptionOptions(device="cuda", batched=True, batch_size=16))]:
    uses, started = [], time.perf_counter()
    transcript = transcription.transcribe(audio, quiet, options, on_device=uses.append)
    first = time.perf_counter() - started
    started = time.perf_counter()
    transcription.transcribe(audio, quiet, options)
    print(f"transcribe {label}: {uses[-1].note}; {first:.1f} s with load, {time.perf_counter() - started:.1f} s"
          f" again, {len(transcript.segments)} segments, {sum(len(s.words) for s in transcript.segments)} words")
for vad in ("silero", "pyannote"):
    uses, started = [], time.perf_counter()
    turns = diarization.diarize(audio, quiet, DiarizationOptions(device="cuda", vad=vad), on_device=uses.append)
    first = time.perf_counter() - started
    started = time.perf_counter()
    diarization.diarize(audio, quiet, DiarizationOptions(device="cuda", vad=vad))
    print(f"diarize {vad} voice detection: {uses[-1].note}; {first:.1f} s with load, "
          f"{time.perf_counter() - started:.1f} s again, {len({t.speaker for t in turns})} speakers")
print("clip encoder for CLIP_VIDEO_ENCODER=auto:", media.video_encoder(media.ffmpeg_binary(""), "auto"))
EOF
fi

if wanted quality; then
  for args in "--device cuda" "--device cuda --vad pyannote" "--device cpu"; do
    section "quality: bench/quality.py $args"
    "$PY" bench/quality.py $args 2>&1 | grep -v '^RESULT '
  done
fi

if wanted pipeline; then
  section "pipeline: 10 minutes with DEVICE=cuda, one compute slot"
  "$PY" bench/bench_pipeline.py --minutes 10 --device cuda --compute-concurrency 1 --no-serial --no-floors 2>&1 \
    | grep -v '^RESULT'
fi
section "done"
