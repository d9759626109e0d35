#!/usr/bin/env bash
# One training run on a lent GPU machine, bringing the model and its figures back through $OUT.
#
#   scripts/gpu_train.sh                       # on the device: OUT is set there; see README.md
#   OUT=/tmp/gpuout DEVICE=cpu PYTHON=.venv/bin/python PACK=/tmp/smoke-pack \
#       GPU_TRAIN_MINUTES=1 WIDTH=2 BATCH=2 LOADERS=2 SPEED_MINUTES="0.5" scripts/gpu_train.sh
#
# Steps: install the carried wheels (.whl/: soundfile, cffi, pycparser, pedalboard) if the
# python lacks them; check the device; unpack the carried pack (gpu-pack/, Ogg/Opus, see
# scripts/build_gpu_pack.py) to WAV on all cores; train with several remix worker processes
# (engine/loader.py) for as long as the deadline allows, at the voice levels of real songs
# (LEVELS=songs), choosing best.pt on the pack's validation songs (gpu-pack/valid/, the judge:
# engine/songs.py); export and calibrate the vocal-mask power on those songs; time separation.
# The engine runs through scripts/gpu_engine.py (museval and ffmpeg are not on that machine).
#
# Invariants, because the device run is one shot inside a 15-minute lease:
# - The whole script ends before DEADLINE_S seconds (default 520, 8 min 40 s): training gets
#   min(GPU_TRAIN_MINUTES, what is left after unpacking minus RESERVE_S for data loading, export,
#   calibration and the speed runs), and a hard timeout stops a training that overruns.
# - $OUT always holds the newest complete results: every WATCH_S seconds the best checkpoint so
#   far is exported into $OUT (model.pt.part*, figures.json; scripts/gpu_report.py), so a run
#   killed at the tool's limit still returns a model. $OUT gets at most 5 files (limit 8).
# - The validation songs judge and are never trained on: <pack>/valid/ is passed as --songs, and
#   every other top folder of the pack as data.
# - WIDTH's default (11: a 9.3 MB float16 model) is one the CPU service could ship in place of the
#   shipped width 8 (4.9 MB): at most 10 MB. WIDTH=16 (19.7 MB) is the GPU-host model.
# - Exit codes: 0 done; 3 packages missing; 4 no GPU; 5 pack missing, unreadable or without its
#   validation songs; else the training's own code (partial results are still written).
set -uo pipefail
T0=$(date +%s)
: "${OUT:?set OUT to the folder whose files come back}"
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
PACK=${PACK:-gpu-pack}
WORK=${WORK:-/tmp/gpu-train}
GPU_TRAIN_MINUTES=${GPU_TRAIN_MINUTES:-8}
DEADLINE_S=${DEADLINE_S:-520}
RESERVE_S=${RESERVE_S:-120}
WIDTH=${WIDTH:-11}
STEREO=${STEREO:-1}
BATCH=${BATCH:-32}
LR=${LR:-1.5e-3}
PRODUCTION=${PRODUCTION:-0}
LEVELS=${LEVELS:-songs}  # the voice's level in the remixes: songs (as real songs have it) or remix
LOSS=${LOSS:-magnitude}  # the shipped model's loss: no waveform-loss run has shipped yet
# (docs/BENCHMARKS.md, "Model quality IV" and "V"), so the default recipe stays the shipped one
INIT=${INIT:-}
CPUS=$(nproc)
LOADERS=${LOADERS:-$(( CPUS > 3 ? CPUS - 2 : 0 ))}
VALIDATE_EVERY=${VALIDATE_EVERY:-400}
VALIDATION_EXAMPLES=${VALIDATION_EXAMPLES:-128}  # remixes per validation (engine.constants)
STEPS=${STEPS:-1000000}
SEED=${SEED:-0}
WATCH_S=${WATCH_S:-60}
SPEED_MINUTES=${SPEED_MINUTES:-4 20}
SHIPPED=${SHIPPED:-models/vocals-unet.pt}
RUN=$WORK/run

mkdir -p "$OUT" "$WORK"
exec > >(tee -a "$OUT/train.log") 2>&1
elapsed() { echo $(( $(date +%s) - T0 )); }
say() { echo "[gpu_train $(elapsed)s] $*"; }

say "packages"
if ! $PY -c "import soundfile, pedalboard" 2>/dev/null; then
  ls .whl/*.whl >/dev/null 2>&1 || { say "soundfile/pedalboard missing and no .whl/ carried"; exit 3; }
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 3
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
  $PY -c "import soundfile, pedalboard; print('soundfile', soundfile.__version__, \
soundfile.__libsndfile_version__, 'pedalboard', pedalboard.__version__)" || exit 3
fi

say "device $DEVICE"
$PY - "$DEVICE" <<'EOF' || exit 4
import sys
import torch
want = sys.argv[1]
print("torch", torch.__version__, "cuda available:", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
sys.exit(1 if want.startswith("cuda") and not torch.cuda.is_available() else 0)
EOF
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv

say "unpacking $PACK"
[ -f "$PACK/PACK.json" ] || { say "no pack at $PACK: run scripts/build_gpu_pack.py build"; exit 5; }
rm -rf "$WORK/pack" "$RUN" "$WORK/model.pt"
$PY scripts/build_gpu_pack.py unpack "$PACK" "$WORK/pack" --jobs "$CPUS" || exit 5
# The validation songs are the judge (--songs), never data: every other top folder is a root.
SONGS=$WORK/pack/valid
ROOTS=()
for root in "$WORK"/pack/*/; do
  [ "${root%/}" = "$SONGS" ] || ROOTS+=( "${root%/}" )
done
if ! ls "$SONGS"/*/vocals.wav >/dev/null 2>&1; then
  say "the pack has no validation songs (valid/): rebuild it with build_gpu_pack.py build --songs"
  exit 5
fi
[ "${#ROOTS[@]}" -gt 0 ] || { say "the pack has no training data"; exit 5; }
say "data: ${ROOTS[*]}; songs: $(ls "$SONGS" | tr '\n' ' ')"

# Remix workers hand batches over in shared memory: each holds up to 2 batches of
# (3 × 2 channels × 130048 samples × 4 bytes) per example. Fewer workers if /dev/shm is small.
if [ "$LOADERS" -gt 0 ]; then
  SHM_MB=$(df -Pm /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
  NEED_MB=$(( 2 * BATCH * 3 * 2 * 130048 * 4 / 1000000 + 1 ))
  FIT=$(( ${SHM_MB:-0} * 2 / 3 / NEED_MB ))
  if [ "$FIT" -lt "$LOADERS" ]; then
    say "/dev/shm has ${SHM_MB:-no} MB free: $FIT remix workers instead of $LOADERS"
    LOADERS=$FIT
  fi
fi

MINUTES=$(awk -v cap="$GPU_TRAIN_MINUTES" -v left=$(( DEADLINE_S - $(elapsed) - RESERVE_S )) \
  'BEGIN { m = left / 60; if (m > cap) m = cap; if (m < 0.2) m = 0.2; printf "%.2f", m }')
SETTINGS=$(printf '{"width": %s, "stereo": %s, "batch": %s, "lr": %s, "production": %s, "loss": "%s", "levels": "%s", "init": "%s", "loaders": %s, "max_minutes": %s, "pack": "%s", "songs": "%s"}' \
  "$WIDTH" "$STEREO" "$BATCH" "$LR" "$PRODUCTION" "$LOSS" "$LEVELS" "$INIT" "$LOADERS" "$MINUTES" "$PACK" "$SONGS")
say "training for $MINUTES min: $SETTINGS"

# Watcher: GPU load into the log every 15 s, the best model so far into $OUT every WATCH_S s.
# It stops at the stop file (killing it could orphan a partial export that then overwrote the
# final one).
rm -f "$WORK/stop"
( n=0
  while [ ! -f "$WORK/stop" ]; do
    sleep 5; n=$(( n + 5 ))
    if [ $(( n % 15 )) -eq 0 ] && command -v nvidia-smi >/dev/null; then
      nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader \
        | sed "s/^/[gpu util, memory] /"
    fi
    if [ "$n" -ge "$WATCH_S" ] && [ ! -f "$WORK/stop" ]; then
      n=0
      $PY scripts/gpu_report.py partial --run "$RUN" --out "$OUT" --device "$DEVICE" \
        --settings "$SETTINGS" || true
    fi
  done ) &
WATCHER=$!

train_once() {  # $1: remix worker processes, $2: minutes of training
  local args=( train "${ROOTS[@]}" --run-dir "$RUN" --device "$DEVICE" --max-minutes "$2"
               --steps "$STEPS" --batch "$BATCH" --lr "$LR" --width "$WIDTH" --seed "$SEED"
               --validate-every "$VALIDATE_EVERY" --validation-examples "$VALIDATION_EXAMPLES"
               --loaders "$1" --export "$WORK/model.pt"
               --loss "$LOSS" --levels "$LEVELS" --songs "$SONGS" )
  [ "$STEREO" = 1 ] && args+=( --stereo )
  [ "$PRODUCTION" = 1 ] && args+=( --production )
  [ -n "$INIT" ] && args+=( --init "$INIT" )
  # Hard stop: the training's own --max-minutes ends it first; this only guards against a hang.
  TQDM_MININTERVAL=20 timeout --signal=INT --kill-after=20 $(( DEADLINE_S - $(elapsed) - 25 )) \
    $PY scripts/gpu_engine.py "${args[@]}"
}
train_once "$LOADERS" "$MINUTES"
rc=$?
LEFT=$(( DEADLINE_S - $(elapsed) - RESERVE_S ))
if [ "$rc" -ne 0 ] && [ "$rc" -ne 130 ] && [ "$LOADERS" -gt 0 ] && [ ! -f "$RUN/last.pt" ] \
   && [ "$LEFT" -gt 60 ]; then
  # The one shot must not be lost to the worker processes (shared memory, fork): one thread.
  say "training failed ($rc) before its first checkpoint: again with one remix thread"
  train_once 0 "$(awk -v s="$LEFT" 'BEGIN { printf "%.2f", s / 60 }')"
  rc=$?
fi
touch "$WORK/stop"; wait "$WATCHER" 2>/dev/null
say "training exited with $rc"
if [ "$rc" -ne 0 ]; then
  rm -f "$WORK/model.pt"  # a failed run's own export may be half done (exported, not calibrated)
  if [ -f "$RUN/best.pt" ] && [ $(( DEADLINE_S - $(elapsed) )) -gt 60 ]; then
    # Stopped before its export: export the best checkpoint and calibrate it on the songs here,
    # so the run still returns a calibrated model.
    say "exporting and calibrating $RUN/best.pt on the songs"
    timeout --kill-after=10 $(( DEADLINE_S - $(elapsed) - 20 )) \
      $PY scripts/gpu_engine.py calibrate "$RUN/best.pt" "${ROOTS[@]}" \
      --export "$WORK/model.pt" --songs "$SONGS" || rm -f "$WORK/model.pt"
  fi
fi

SHIPPED_ARGS=()
[ $(( DEADLINE_S - $(elapsed) )) -gt 60 ] && [ -f "$SHIPPED" ] && SHIPPED_ARGS=( --shipped "$SHIPPED" )
if [ -f "$WORK/model.pt" ]; then  # exported and calibrated, by the training or just above
  # shellcheck disable=SC2086  # SPEED_MINUTES is a list of numbers
  $PY scripts/gpu_report.py final --run "$RUN" --model "$WORK/model.pt" --pack "$WORK/pack" \
    --out "$OUT" --device "$DEVICE" --settings "$SETTINGS" "${SHIPPED_ARGS[@]}" \
    --speed-minutes $SPEED_MINUTES || rc=$?
else
  $PY scripts/gpu_report.py partial --run "$RUN" --out "$OUT" --device "$DEVICE" \
    --settings "$SETTINGS" || true
fi
say "done (rc $rc); in $OUT:"
ls -l "$OUT"
exit "$rc"
