#!/usr/bin/env bash
# GPU check for a lent one-GPU machine (H100/H200; torch, transformers, accelerate, peft installed; no
# network), at most ~8 minutes:
#   1. installs the carried wheels (.whl/: trl, datasets, lm-eval and what they need that the image lacks)
#   2. bf16 SFT and DPO steps of the paper recipes (fp32 master weights + bf16 compute) on a random-init
#      ~0.5 B model shaped like Qwen2.5-0.5B (vocab 152,064, built locally): tokens/s, peak GPU memory,
#      whether lr 5e-7 moved the weights                                   -> $OUT/gpu_check.json
#   3. python benchmarks/probe.py --device cuda (the probe, batched vs per-item), if that file exists
#   4. the lm-eval hf backend on the tiny model (r1k-train tiny-model) on the GPU -> $OUT/lm_eval/
#   5. budget forcing: benchmarks/budget.py on the GPU (overhead vs plain generation) -> $OUT/budget.json,
#      and lm-eval's r1k-vllm model type on the tiny model where vLLM is installed -> $OUT/lm_eval_budget/
#      (without vLLM: checks that r1k-vllm fails with its one-line error)
# Everything is logged to $OUT/gpu_check.log ($OUT defaults to ./gpu_check_out).
#
# Prepare the wheels (once, on a machine with pip and the package index), in the repository root:
#   echo /.whl/ >> "$(git rev-parse --git-common-dir)/info/exclude"
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
#     trl==1.16.0 datasets==5.2.0 lm-eval==0.4.13 dill==0.4.1 multiprocess==0.70.19 evaluate==0.4.6 \
#     pytablewriter==1.2.1 DataProperty==1.1.1 mbstrdecoder==1.1.5 pathvalidate==3.3.1 tabledata==1.3.5 \
#     tcolorpy==0.1.7 typepy==1.3.5 chardet==6.0.0.post1 more-itertools==11.2.1 math-verify==0.9.0 \
#     latex2sympy2_extended==1.11.0 antlr4-python3-runtime==4.13.2 nltk==3.10.4
#   python3 -m pip wheel --no-deps -w .whl rouge_score==0.1.2 sqlitedict==2.1.0 word2number==1.1   # sdists only
# (about 14 MiB). Run it through the device tool (the lead runs it):
#   run(command="bash benchmarks/gpu_check.sh", carry=[".whl"], timeout_s=600)
# On a CPU, the same logic at toy sizes:  bash benchmarks/gpu_check.sh --cpu-dry-run
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-./gpu_check_out}"
mkdir -p "$OUT"
LOG="$OUT/gpu_check.log"
DRY=""
[ "${1:-}" = "--cpu-dry-run" ] && DRY="--cpu-dry-run"
exec > >(tee -a "$LOG") 2>&1
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
PY="${PYTHON:-python3}"
START=$(date +%s)
echo "== gpu_check $(date -u +%FT%TZ) ${DRY:-gpu}"

if [ -z "$DRY" ] && [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  echo "== installing carried wheels into /tmp/site"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "wheel install failed"; exit 1; }
  export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
else
  echo "== no .whl folder (or a dry run): using the installed packages"
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PY" -c "import torch, transformers, trl, datasets, accelerate, peft; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), '| transformers', transformers.__version__, '| trl', trl.__version__, '| datasets', datasets.__version__, '| accelerate', accelerate.__version__, '| peft', peft.__version__)" || exit 1

W="$OUT/work"
rm -rf "$W" && mkdir -p "$W"
echo "== tiny model + synth data"
"$PY" -m r1k_plugins.training.cli tiny-model --out "$W/tiny" || exit 1
"$PY" -c "from r1k_plugins.cli import main; main()" data synth --n 200 --seed 1 --out "$W/synth" || exit 1

echo "== SFT + DPO steps (paper recipes, bf16 compute over fp32 weights)"
timeout 300 "$PY" benchmarks/gpu_check.py --out "$W/train" --tiny "$W/tiny" --data "$W/synth/train.jsonl" $DRY \
  && cp "$W/train/gpu_check.json" "$OUT/gpu_check.json" || echo "FAILED: training check (rc $?)"

echo "== probe"
if [ -f benchmarks/probe.py ]; then
  if [ -n "$DRY" ]; then timeout 120 "$PY" benchmarks/probe.py --device cpu || echo "FAILED: probe (rc $?)"
  else
    timeout 100 "$PY" benchmarks/probe.py --device cuda --items 64 --hidden 896 --layers 8 --json "$OUT/probe.json" \
      || echo "FAILED: probe (rc $?)"
    timeout 60 "$PY" -c "from r1k_plugins.cli import main; main()" probe direction --model "$W/tiny" \
      --device cuda --out "$OUT/probe_tiny.json" --quiet || echo "FAILED: r1k probe direction (rc $?)"
  fi
else
  echo "skipped: benchmarks/probe.py is not in this checkout"
fi

echo "== lm-eval hf backend on the tiny model"
DEV=cuda; LIMIT=20; [ -n "$DRY" ] && { DEV=cpu; LIMIT=2; }
timeout 110 "$PY" -m lm_eval --model hf --model_args "pretrained=$W/tiny,max_length=2048" --device "$DEV" \
  --include_path "$PWD/tasks" --tasks r1k_reverse --limit "$LIMIT" --apply_chat_template \
  --gen_kwargs max_gen_toks=64 --output_path "$OUT/lm_eval" || echo "FAILED: lm-eval (rc $?)"

echo "== budget forcing (s1): overhead vs plain generation, and the vLLM path"
timeout 90 "$PY" benchmarks/budget.py --model "$W/tiny" --device "$DEV" --items 8 --think 256 --answer 32 \
  --json "$OUT/budget.json" || echo "FAILED: benchmarks/budget.py (rc $?)"
# lm_eval with the package's start-up hook imported (the carried wheels have no .pth): it registers r1k-vllm
LMEVAL=("$PY" -c 'import sys, r1k_plugins.eval.lmeval_hook; from lm_eval.__main__ import cli_evaluate; sys.argv[0] = "lm_eval"; cli_evaluate()')
if "$PY" -c "import vllm" 2>/dev/null; then
  timeout 150 "${LMEVAL[@]}" run --model r1k-vllm \
    --model_args "pretrained=$W/tiny,max_model_len=2048,gpu_memory_utilization=0.3,enforce_eager=True,max_thinking_tokens=128,num_ignore=2" \
    --include_path "$PWD/tasks" --tasks r1k_reverse --limit "$LIMIT" --apply_chat_template \
    --gen_kwargs max_gen_toks=32 --output_path "$OUT/lm_eval_budget" --log_samples || echo "FAILED: lm-eval r1k-vllm (rc $?)"
else
  echo "vLLM is not installed here: checking r1k-vllm's one-line error instead"
  "${LMEVAL[@]}" run --model r1k-vllm --model_args "pretrained=$W/tiny,max_thinking_tokens=8" --tasks r1k_reverse \
    --limit 1 2>&1 | tail -1
fi

echo "== done in $(( $(date +%s) - START )) s; figures in $OUT/gpu_check.json, log in $LOG"
