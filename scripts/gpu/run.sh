#!/usr/bin/env bash
# The GPU run of issue 17, in one call on a machine with an NVIDIA GPU and PyTorch (the `device`
# tool's H200 machine): parity, medsam benchmarks and PyTorch's, and one table with the ratios.
# Everything it writes goes to $OUT (default /tmp/gpu-out): raw logs, JSON, the table.
#
# Needs .gpu/ from scripts/gpu/pack.sh (run here first, then carry .gpu).
# usage: bash scripts/gpu/run.sh [PHASES]     PHASES: comma list of
#   info     nvidia-smi, medsam devices
#   parity   medsam parity --suite full on Vulkan fp32, Vulkan fp16 (+ cooperative matrix) and
#            OpenCL fp32/fp16; LiteMedSAM real weights fp16 vs fp32 masks
#   bench    medsam bench: ViT-B, ViT-H (random weights), LiteMedSAM encoders at batch 1 and 8
#            (LiteMedSAM also 64), decoder at 64 boxes, per path; one ViT-H per-op profile
#   torch    scripts/gpu/pytorch_gpu.py (fp32 eager, bf16 + SDPA, GEMM rates)
#   (default: info,parity,bench,torch)
# Environment: MEDSAM_GPU_PATHS (default "vulkan-fp16 vulkan-fp32 opencl-fp32 opencl-fp16"),
# MEDSAM_GPU_RUNS (timed runs per bench, default 5), MEDSAM_GPU_SPECS (encoder workloads as
# model:batch, default all of the list below), MEDSAM_GPU_PROFILE (paths to profile ViT-H on,
# default the first path).
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
phases=",${1:-info,parity,bench,torch},"
# Results gather in $work/out; at the end they are packed as $OUT/gpu-run.tar.gz (the device
# tool returns at most 8 files), beside table.md and log.txt.
final=${OUT:-/tmp/gpu-out}
work=/tmp/medsam-gpu
rm -rf "$work" && mkdir -p "$work/out" "$final"
out="$work/out"
log="$final/log.txt"   # written as it goes, so a run cut off at its limit still returns it
: > "$log"
tar -xJf .gpu/medsam.tar.xz -C "$work" || { echo "run.sh: .gpu/medsam.tar.xz missing: run scripts/gpu/pack.sh and carry .gpu"; exit 2; }
export LD_LIBRARY_PATH="$work/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
medsam="$work/medsam"
weights="$work/lite_medsam_fp16.pth"
xz -dc .gpu/lite_medsam_fp16.pth.xz > "$weights"
runs=${MEDSAM_GPU_RUNS:-5}
paths=${MEDSAM_GPU_PATHS:-"vulkan-fp16 vulkan-fp32 opencl-fp32 opencl-fp16"}

say() { echo "== $*" | tee -a "$log"; }
# Runs a command with a time limit, its output into the log (and a file when given).
step() {
    local limit=$1 file=$2; shift 2
    say "$* (limit ${limit}s)"
    local t0=$SECONDS
    if [[ -n "$file" ]]; then
        timeout "$limit" "$@" > "$out/$file" 2>> "$log"; local rc=$?
        cat "$out/$file" >> "$log"
    else
        timeout "$limit" "$@" >> "$log" 2>&1; local rc=$?
    fi
    echo "   rc=$rc in $((SECONDS - t0)) s" | tee -a "$log"
    return $rc
}
# A path is BACKEND-PRECISION[:VARIANT]; variants select kernels for comparison runs:
#   tiled        the tiled cooperative-matrix GEMM and conv kernels (MEDSAM_VULKAN_GEMM=tiled)
#   tBMxBN       those with another tile for large products (MEDSAM_VULKAN_GEMM=tiled, _TILE=BMxBN)
path_args() {   # vulkan-fp16:tiled -> --backend vulkan --fp16
    local base=${1%%:*}
    local backend=${base%-*} precision=${base#*-}
    echo "--backend $backend $([[ $precision == fp16 ]] && echo --fp16)"
}
path_env() {    # vulkan-fp16:t128x256 -> MEDSAM_VULKAN_GEMM_TILE=128x256
    local variant=${1#*:}
    [[ $variant == "$1" ]] && { echo "MEDSAM_GPU_PATH=$1"; return; }
    case $variant in
        tiled) echo "MEDSAM_VULKAN_GEMM=tiled" ;;
        t*) echo "MEDSAM_VULKAN_GEMM=tiled MEDSAM_VULKAN_GEMM_TILE=${variant#t}" ;;
        *) echo "MEDSAM_GPU_PATH=$1" ;;
    esac
}

# Drivers: the NVIDIA container layout keeps the Vulkan ICD and the OpenCL library under
# /usr/local/nvidia; point the loaders at them when the standard places are empty.
if [[ ! -e /usr/share/vulkan/icd.d/nvidia_icd.json && ! -e /etc/vulkan/icd.d/nvidia_icd.json ]]; then
    for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/etc/vulkan/icd.d/nvidia_icd.json; do
        [[ -e $f ]] && export VK_DRIVER_FILES=$f && break
    done
fi
if ! ls /etc/OpenCL/vendors/*.icd > /dev/null 2>&1; then
    ocl=$(ldconfig -p | awk '/libnvidia-opencl.so.1/{print $NF; exit}')
    [[ -z "$ocl" ]] && ocl=$(ls /usr/local/nvidia/lib64/libnvidia-opencl.so.1 /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1 2>/dev/null | head -1)
    if [[ -n "$ocl" ]]; then
        mkdir -p "$work/icd" && echo "$ocl" > "$work/icd/nvidia.icd"
        export OCL_ICD_VENDORS="$work/icd"
    fi
fi
say "date $(date -u +%FT%TZ); VK_DRIVER_FILES=${VK_DRIVER_FILES:-} OCL_ICD_VENDORS=${OCL_ICD_VENDORS:-}"

if [[ $phases == *,info,* ]]; then
    step 30 nvidia-smi.txt nvidia-smi
    step 60 devices.json "$medsam" devices --json
fi

if [[ $phases == *,parity,* ]]; then
    for p in ${MEDSAM_GPU_PARITY_PATHS:-$paths}; do
        # shellcheck disable=SC2046
        step 300 "parity_${p//:/-}.json" env $(path_env "$p") "$medsam" parity $(path_args "$p") --suite "${MEDSAM_GPU_PARITY_SUITE:-full}" \
            ${MEDSAM_GPU_PARITY_OP:+--op $MEDSAM_GPU_PARITY_OP} --perf --json
    done
    # LiteMedSAM real weights: every path's masks against fp32's on the committed real CT/MR slices.
    step 300 masks.json python3 scripts/gpu/mask_agreement.py "$medsam" "$weights" "$work/masks" vulkan-fp32 ${MEDSAM_GPU_MASK_PATHS:-vulkan-fp16 opencl-fp32 opencl-fp16 cpu-fp32}
fi

if [[ $phases == *,bench,* ]]; then
    for p in $paths; do
        for spec in ${MEDSAM_GPU_SPECS:-sam-vit-b:1 sam-vit-b:8 sam-vit-h:1 sam-vit-h:8 litemedsam:1 litemedsam:8 litemedsam:64}; do
            model=${spec%:*} batch=${spec#*:}
            extra=(--random-weights); [[ $model == litemedsam ]] && extra=(--checkpoint "$weights")
            r=$runs; [[ $model == sam-vit-h ]] && r=3
            # shellcheck disable=SC2046
            step 180 "bench_${p//:/-}_${model}_b${batch}.json" env $(path_env "$p") "$medsam" bench encoder --model "$model" "${extra[@]}" \
                $(path_args "$p") --batch "$batch" --runs "$r" --json
        done
        # shellcheck disable=SC2046
        step 120 "bench_${p//:/-}_litemedsam_decoder_64.json" env $(path_env "$p") "$medsam" bench decoder --checkpoint "$weights" \
            $(path_args "$p") --batch 64 --runs "$runs" --json
    done
    for p in ${MEDSAM_GPU_PROFILE-${paths%% *}}; do
        # shellcheck disable=SC2046
        step 240 "profile_${p//:/-}_sam-vit-h_b1.txt" env $(path_env "$p") "$medsam" bench encoder --model sam-vit-h --random-weights \
            $(path_args "$p") --batch 1 --runs 1 --profile
    done
fi

if [[ $phases == *,torch,* ]]; then
    site=/tmp/site
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" .gpu/wheels/*.whl >> "$log" 2>&1
    PYTHONPATH="$site" PYTHONUNBUFFERED=1 step 420 torch.json python3 scripts/gpu/pytorch_gpu.py --weights "$weights" \
        --only "${MEDSAM_GPU_TORCH:-vit-b,vit-h,litemedsam,decode,gemm}"
fi

python3 scripts/gpu/table.py "$out" > "$out/table.md" 2>> "$log"
cp "$log" "$out/log.txt"
tar -C "$work" -czf "$final/gpu-run.tar.gz" out
cp "$out/table.md" "$final/"
cat "$out/table.md"
