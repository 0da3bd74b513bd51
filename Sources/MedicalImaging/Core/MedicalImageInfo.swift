import Foundation

/// The summary `medsam info --input PATH --json` prints.
///
/// For a volume, `shape` and `spacing` are in file order (i, j, k) and `affine` maps voxel
/// indices to world millimetres in `frame` (RAS for NIfTI, LPS for DICOM). For a 2-D image,
/// `shape` is H x W (x C), `spacing` is (row, column) and `affine` is the pixel-to-mm scale.
/// `min`/`max` are after the modality rescale (Hounsfield units for CT).
public struct MedicalImageInfo: Codable, Equatable, Sendable {
    public var kind: String
    public var format: String
    public var shape: [Int]
    public var spacing: [Double]
    public var affine: [[Double]]
    public var frame: String?
    public var dtype: String
    public var min: Double
    public var max: Double
    public var modality: String?

    public init(volume v: Volume, format: MedicalImageFormat) {
        kind = "volume"
        self.format = format.rawValue
        shape = v.dims
        spacing = v.spacing
        affine = v.affine.m
        frame = v.frame.rawValue
        dtype = v.sourceType.rawValue
        let r = v.valueRange ?? 0...0
        min = Double(r.lowerBound)
        max = Double(r.upperBound)
        modality = v.modality
    }

    public init(image im: Image, format: MedicalImageFormat) {
        kind = "image"
        self.format = format.rawValue
        shape = im.channels == 1 ? [im.height, im.width] : [im.height, im.width, im.channels]
        spacing = im.spacing
        affine = [[im.spacing[1], 0, 0, 0], [0, im.spacing[0], 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
        frame = nil
        dtype = im.bitDepth == 16 ? "uint16" : (im.bitDepth == 8 ? "uint8" : "float32")
        let r = im.valueRange ?? 0...0
        min = Double(r.lowerBound)
        max = Double(r.upperBound)
        modality = nil
    }

    /// Reads `url` and summarises it.
    public static func read(_ url: URL, options: MedicalImageReadOptions = MedicalImageReadOptions()) throws -> MedicalImageInfo {
        let format = try MedicalImageFile.format(of: url)
        switch try MedicalImageFile.read(url, options: options) {
        case .volume(let v): return MedicalImageInfo(volume: v, format: format)
        case .image(let im): return MedicalImageInfo(image: im, format: format)
        }
    }

    /// One-line-per-field JSON with sorted keys (stable for scripts and tests).
    public func jsonString() throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return String(decoding: try enc.encode(self), as: UTF8.self)
    }
}
