"""`medsam`'s intensity mappings (Sources/MedicalImaging/Processing/IntensityMapping.swift and
Windowing.swift) reproduced in float32 NumPy, for the reference scripts that start from a raw
DICOM or NIfTI file and must feed PyTorch the 8-bit grey levels the CLI feeds its model.
"""
import numpy as np


def window(values, level, width):
    """IntensityWindow.apply, float32 as in Swift."""
    v = values.astype(np.float32)
    lo, span = np.float32(level - width / 2), np.float32(width)
    return (np.minimum(np.maximum(v, lo), lo + span) - lo) / span * np.float32(255)


def swift_percentile(positive_sorted, q):
    """IntensityNormalization.percentile(selecting:): NumPy's linear rule, in float32."""
    n = positive_sorted.size
    position = q / 100 * (n - 1)
    below = int(np.floor(position))
    low = positive_sorted[below]
    high = positive_sorted[below + 1] if below + 1 < n else low
    return np.float32(low + (high - low) * np.float32(position - below))


def mr_normalise(values):
    """IntensityNormalization.mr (MedSAM's pre_CT_MR.py MR rule), float32 as in Swift. Statistics
    over all of `values`: a whole volume, as the CLI maps one."""
    v = values.astype(np.float32)
    positive = np.sort(v[v > 0])
    lo, hi = swift_percentile(positive, 0.5), swift_percentile(positive, 99.5)
    clipped = np.minimum(np.maximum(v, lo), hi)
    mn, mx = clipped.min(), clipped.max()
    span = np.float32(mx - mn)
    out = (clipped - mn) / span * np.float32(255) if span > 0 else np.zeros_like(clipped)
    return np.where(v == 0, np.float32(0), out).astype(np.float32)


def to_uint8(mapped):
    """8-bit grey levels as MedSAM's pre_CT_MR.py stores them: np.uint8 (truncation)."""
    return np.uint8(mapped)
