import Foundation

/// The storage type a voxel had in its source file, before conversion to float32.
public enum VoxelType: String, Codable, Sendable, CaseIterable {
    case uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32, float64

    /// Bytes per voxel in the file.
    public var size: Int {
        switch self {
        case .uint8, .int8: return 1
        case .int16, .uint16: return 2
        case .int32, .uint32, .float32: return 4
        case .int64, .uint64, .float64: return 8
        }
    }

    var isInteger: Bool { self != .float32 && self != .float64 }

    /// The representable range, used to clamp values when writing integer voxels.
    var range: ClosedRange<Double> {
        switch self {
        case .uint8: return 0...255
        case .int8: return -128...127
        case .int16: return -32768...32767
        case .uint16: return 0...65535
        case .int32: return Double(Int32.min)...Double(Int32.max)
        case .uint32: return 0...Double(UInt32.max)
        case .int64: return -9.2e18...9.2e18
        case .uint64: return 0...1.8e19
        case .float32: return -Double(Float.greatestFiniteMagnitude)...Double(Float.greatestFiniteMagnitude)
        case .float64: return -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude
        }
    }
}

/// A 3-D scalar image in world space.
///
/// Voxel (i, j, k) is at `voxels[i + nx * (j + ny * k)]`: file order, i fastest, as NIfTI, ITK,
/// SimpleITK and DICOM pixel data store it. Values are float32 after the modality rescale
/// (NIfTI `scl_slope/scl_inter`, DICOM RescaleSlope/Intercept), so CT voxels are Hounsfield units.
public struct Volume: Equatable, Sendable {
    /// Voxel values, i fastest.
    public var voxels: [Float]
    /// Sizes along i, j, k.
    public var dims: [Int]
    /// Voxel size in millimetres along i, j, k.
    public var spacing: [Double]
    /// Voxel index to world (mm) in `frame`.
    public var affine: Affine
    /// The world frame of `affine`: RAS for NIfTI (as nibabel reports), LPS for DICOM (as ITK does).
    public var frame: WorldFrame
    /// The voxel type stored in the source file.
    public var sourceType: VoxelType
    /// A human description of where the volume came from (path and format).
    public var source: String
    /// DICOM Modality (CT, MR, ...) when the source says so.
    public var modality: String?
    /// The NIfTI geometry fields of the source, kept so a mask written for this volume has exactly
    /// the same qform, sform and pixdim. `nil` for volumes not read from NIfTI.
    public var niftiGeometry: NIfTIGeometry?
    /// The DICOM images the slices came from (one instance per k), so a DICOM SEG of a mask can
    /// reference them. `nil` for volumes not read from single-frame DICOM, or resampled.
    public var dicomSource: DICOMSource?

    public init(voxels: [Float], dims: [Int], spacing: [Double], affine: Affine, frame: WorldFrame,
                sourceType: VoxelType, source: String, modality: String? = nil,
                niftiGeometry: NIfTIGeometry? = nil) {
        precondition(dims.count == 3 && spacing.count == 3, "Volume: dims and spacing need 3 values")
        precondition(dims.reduce(1, *) == voxels.count,
                     "Volume: dims \(dims) hold \(dims.reduce(1, *)) voxels but \(voxels.count) were given")
        self.voxels = voxels
        self.dims = dims
        self.spacing = spacing
        self.affine = affine
        self.frame = frame
        self.sourceType = sourceType
        self.source = source
        self.modality = modality
        self.niftiGeometry = niftiGeometry
    }

    public var nx: Int { dims[0] }
    public var ny: Int { dims[1] }
    public var nz: Int { dims[2] }

    public subscript(i: Int, j: Int, k: Int) -> Float {
        get { voxels[i + nx * (j + ny * k)] }
        set { voxels[i + nx * (j + ny * k)] = newValue }
    }

    /// The affine in NIfTI's RAS+ frame (what nibabel reports and NIfTI files store).
    public var rasAffine: Affine { frame == .ras ? affine : affine.flippingXY }

    /// The affine in DICOM/ITK's LPS+ frame.
    public var lpsAffine: Affine { frame == .lps ? affine : affine.flippingXY }

    /// A volume of the same geometry holding `values` (e.g. a segmentation mask).
    public func withVoxels(_ values: [Float], sourceType: VoxelType) -> Volume {
        var v = self
        precondition(values.count == voxels.count, "withVoxels: \(values.count) values for \(voxels.count) voxels")
        v.voxels = values
        v.sourceType = sourceType
        return v
    }

    /// Slice `k` (along the third axis) as a one-slice volume at that slice's place in the world:
    /// one frame of a multi-frame DICOM file.
    public func slice(_ k: Int, path: String) throws -> Volume {
        guard (0..<nz).contains(k) else {
            throw ImagingError(.invalidArgument, path: path, field: "volume index",
                               "is \(k), expected 0...\(nz - 1) for \(nz) frame(s)")
        }
        var v = self
        let n = nx * ny
        v.voxels = Array(voxels[(k * n)..<((k + 1) * n)])
        v.dims = [nx, ny, 1]
        let step = affine.column(2)
        let origin = (0..<3).map { affine.m[$0][3] + Double(k) * step[$0] }
        v.affine = Affine(columns: [affine.column(0), affine.column(1), step], origin: origin)
        v.niftiGeometry = nil
        if var d = dicomSource, d.instances.count == nz {
            d.instances = [d.instances[k]]
            v.dicomSource = d
        } else {
            v.dicomSource = nil
        }
        v.source = "\(source) frame \(k)"
        return v
    }

    /// Smallest and largest voxel value (NaN voxels are ignored); `nil` for an all-NaN volume.
    public var valueRange: ClosedRange<Float>? { finiteRange(voxels) }
}

func finiteRange(_ values: [Float]) -> ClosedRange<Float>? {
    var lo = Float.infinity, hi = -Float.infinity
    for v in values where !v.isNaN {
        if v < lo { lo = v }
        if v > hi { hi = v }
    }
    return lo <= hi ? lo...hi : nil
}
