import Foundation

/// How raw intensities become the 0...255 grey levels SAM-type models are fed and overlays show.
public enum IntensityMapping: Equatable, Sendable {
    /// A CT window (HU in, 0...255 out), fixed bounds.
    case window(IntensityWindow)
    /// A CT window as MedSAM's training preprocessing applies it: clip, then min-max of the clipped data.
    case windowMinMax(IntensityWindow)
    /// MedSAM's MR normalisation (percentiles of non-zero voxels).
    case mr
    /// Min-max over the data.
    case minMax
    /// Values already are 0...255 grey levels (8-bit PNG/JPEG, MedSAM npz): kept as they are.
    case identity

    /// MedSAM's choice for a volume: the soft-tissue window for CT (DICOM Modality CT, or, without
    /// a modality, at least `ctAirFraction` of the voxels below -500 as the air around a CT body is
    /// in Hounsfield units), MR normalisation otherwise; 8-bit data that already spans 0...255 is kept.
    ///
    /// A fraction rather than the minimum: an MR volume can hold a few negative outliers
    /// (nibabel's `anatomical.nii`, a brain MR, has 2 of its 33,825 voxels below -500), and the CT
    /// window would saturate 99.8 % of such a brain at 255.
    public static func automatic(for volume: Volume) -> IntensityMapping {
        if volume.modality == "CT" { return .window(.softTissue) }
        if volume.modality == nil || volume.modality == "MR" {
            if volume.modality == nil && looksLikeHounsfieldUnits(volume.voxels) { return .window(.softTissue) }
            let range = volume.valueRange ?? 0...0
            if volume.sourceType == .uint8 && range.lowerBound >= 0 && range.upperBound <= 255 { return .identity }
        }
        return .mr
    }

    /// The share of voxels below -500 from which a volume without a modality is taken for CT.
    public static let ctAirFraction = 0.01

    static func looksLikeHounsfieldUnits(_ values: [Float]) -> Bool {
        guard !values.isEmpty else { return false }
        let air = values.reduce(0) { $0 + ($1 < -500 ? 1 : 0) }
        return Double(air) >= ctAirFraction * Double(values.count)
    }

    /// The choice for a 2-D image: kept when it is 8-bit, min-max otherwise (16-bit PNG, float NPY).
    public static func automatic(for image: Image) -> IntensityMapping {
        let range = image.valueRange ?? 0...0
        if image.bitDepth == 8 && range.lowerBound >= 0 && range.upperBound <= 255 { return .identity }
        return .minMax
    }

    public func apply(_ values: [Float]) -> [Float] {
        switch self {
        case .window(let w): return w.apply(values)
        case .windowMinMax(let w): return w.applyMinMaxOfClipped(values)
        case .mr: return IntensityNormalization.mr(values)
        case .minMax: return IntensityNormalization.minMax(values)
        case .identity: return values
        }
    }

    /// A copy of `volume` with mapped intensities as 8-bit grey levels (`grey8`). MR statistics
    /// are taken over the whole volume, as MedSAM does, so every slice gets the same mapping.
    public func apply(_ volume: Volume) -> Volume {
        var v = volume
        v.voxels = Self.grey8(apply(volume.voxels))
        return v
    }

    /// A copy of `image` with mapped intensities as 8-bit grey levels (`grey8`; 8-bit depth afterwards).
    public func apply(_ image: Image) -> Image {
        var out = image
        out.pixels = Self.grey8(apply(image.pixels))
        out.bitDepth = 8
        return out
    }

    /// Mapped values (0...255) as the whole grey levels MedSAM's `pre_CT_MR.py` stores them:
    /// `np.uint8(x)`, which truncates toward zero. Every family's inference code starts from
    /// such 8-bit images (SAM's PIL resize, MedSAM's cubic resize, LiteMedSAM's cv2 resize), so a
    /// fractional level would reach a model as a different input than the published pipeline
    /// gives it (MedSAM's cubic resize reads it as is: logits NMSE 5e-6 against PyTorch on a
    /// windowed CT, scripts/tests/check_families.py).
    public static func grey8(_ values: [Float]) -> [Float] {
        values.map { v in v.isNaN ? 0 : min(max(v, 0), 255).rounded(.towardZero) }
    }
}
