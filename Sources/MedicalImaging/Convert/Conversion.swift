import Foundation

/// What `medsam convert` writes: the formats and voxel types it offers, and the checks that an
/// integer type holds the values exactly.
public enum Conversion {
    /// Output formats, chosen by the output file's extension.
    public enum OutputFormat: String, Sendable {
        case nifti, npy, nrrd, metaimage

        /// `.nii` / `.nii.gz` is NIfTI, `.npy` NPY, `.nrrd` NRRD (`.seg.nrrd` too), `.mha` / `.mhd`
        /// MetaImage; anything else is an error naming the file.
        public static func of(_ url: URL) throws -> OutputFormat {
            let name = url.lastPathComponent.lowercased()
            if name.hasSuffix(".nii") || name.hasSuffix(".nii.gz") { return .nifti }
            if name.hasSuffix(".npy") { return .npy }
            if name.hasSuffix(".nrrd") { return .nrrd }
            if name.hasSuffix(".mha") || name.hasSuffix(".mhd") { return .metaimage }
            throw ImagingError(.invalidArgument, path: url.path, field: "output format",
                               "unknown output extension; expected .nii, .nii.gz, .nrrd, .mha, .mhd or .npy")
        }

        /// Writes `volume` in this format (NPY: values only).
        public func write(_ volume: Volume, to url: URL, as type: VoxelType) throws {
            switch self {
            case .nifti: try NIfTIWriter.write(volume, to: url, as: type)
            case .npy: try VolumeNPY.write(volume, to: url, as: type)
            case .nrrd: try NRRDWriter.write(volume, to: url, as: type)
            case .metaimage: try MetaImage.write(volume, to: url, as: type)
            }
        }
    }

    /// The voxel type to write: `float32` (or another named type), or the source file's own type.
    public enum OutputType: Equatable, Sendable {
        case source
        case type(VoxelType)

        /// "source", or a voxel type name (uint8 ... float64).
        public init?(_ text: String) {
            if text == "source" { self = .source; return }
            guard let t = VoxelType(rawValue: text) else { return nil }
            self = .type(t)
        }
    }

    /// The voxel type `requested` resolves to for data from `sourceType`, after checking that an
    /// integer type represents every value exactly (rescaled values such as RT Dose or CT with a
    /// fractional slope are not integers; they need a float type).
    public static func resolve(_ requested: OutputType, sourceType: VoxelType, values: [Float], path: String) throws -> VoxelType {
        let type: VoxelType
        switch requested {
        case .source: type = sourceType
        case .type(let t): type = t
        }
        guard type.isInteger else { return type }
        let range = type.range
        for (n, v) in values.enumerated() {
            let d = Double(v)
            if d.isNaN || d != d.rounded() || !range.contains(d) {
                throw ImagingError(.invalidArgument, path: path, field: "output type",
                                   "\(type.rawValue) cannot hold value \(v) of voxel \(n) exactly (values are after the modality rescale); write float32 instead")
            }
        }
        return type
    }

    /// A label mask's voxels as 0...255 label values, after checking it lies on `reference`'s grid
    /// (same size, affine within 1e-3 mm): what a DICOM SEG of the mask needs.
    public static func labels(of mask: Volume, like reference: Volume, path: String) throws -> [UInt8] {
        guard mask.dims == reference.dims else {
            throw ImagingError(.inconsistent, path: path, field: "shape",
                               "mask \(mask.dims) differs from the reference image \(reference.dims) (\(reference.source))")
        }
        guard mask.lpsAffine.isClose(to: reference.lpsAffine, tolerance: 1e-3) else {
            throw ImagingError(.inconsistent, path: path, field: "affine",
                               "mask geometry \(mask.lpsAffine.m) (LPS) differs from the reference image's \(reference.lpsAffine.m)")
        }
        return try mask.voxels.enumerated().map { n, v in
            guard v >= 0, v <= 255, v == v.rounded() else {
                throw ImagingError(.corrupt, path: path, field: "labels", "voxel \(n) is \(v); a label mask holds whole numbers 0...255")
            }
            return UInt8(v)
        }
    }

    /// The label values present (ascending, background 0 left out), named by `names` (label
    /// value i takes names[i - 1]) or "Segment i".
    public static func segmentNames(_ labels: [UInt8], names: [String]) -> [(label: Int, name: String)] {
        var present = [Bool](repeating: false, count: 256)
        for l in labels { present[Int(l)] = true }
        return (1...255).filter { present[$0] }.map { ($0, $0 <= names.count ? names[$0 - 1] : "Segment \($0)") }
    }

    /// A 2-D image as a one-slice volume (for NIfTI): x along columns, y along rows, pixel
    /// spacing kept, LPS frame with identity directions.
    public static func volume(of image: Image, source: String) throws -> Volume {
        guard image.channels == 1 else {
            throw ImagingError(.unsupported, path: source, field: "channels",
                               "the image has \(image.channels) channels; NIfTI output takes one (write .npy to keep them)")
        }
        let sx = image.spacing[1], sy = image.spacing[0]
        let affine = Affine(columns: [[sx, 0, 0], [0, sy, 0], [0, 0, 1]], origin: [0, 0, 0])
        let type: VoxelType = image.bitDepth == 8 ? .uint8 : (image.bitDepth == 16 ? .uint16 : .float32)
        return Volume(voxels: image.pixels, dims: [image.width, image.height, 1], spacing: [sx, sy, 1], affine: affine,
                      frame: .lps, sourceType: type, source: source)
    }
}
