import ArchiveIO
import Foundation
import TensorRuntime

/// Something read from a medical image file: a 3-D volume or a 2-D image.
public enum MedicalImage {
    case volume(Volume)
    case image(Image)
}

/// The input formats the CLI accepts.
public enum MedicalImageFormat: String, Codable, Sendable {
    case nifti, dicom, dicomSeries = "dicom-series", png, jpeg, npy, npz, nrrd, metaimage
}

/// Choices a reader cannot make alone.
public struct MedicalImageReadOptions: Sendable {
    /// Which volume of a 4-D (or higher) NIfTI, or which frame of a multi-frame DICOM file, to
    /// read (0-based); required for NIfTI with more than one volume.
    public var volumeIndex: Int?
    /// What to do with a DICOM series whose slices are unevenly spaced.
    public var unevenSlices: UnevenSlicePolicy

    public init(volumeIndex: Int? = nil, unevenSlices: UnevenSlicePolicy = .refuse) {
        self.volumeIndex = volumeIndex
        self.unevenSlices = unevenSlices
    }
}

/// Opens any supported input by its name and, where the name does not say, its first bytes.
public enum MedicalImageFile {
    /// The format of `url`: a folder is a DICOM series; otherwise the extension decides
    /// (`.nii`, `.nii.gz`, `.dcm`, `.nrrd`/`.nhdr`, `.mha`/`.mhd`, `.png`, `.jpg`/`.jpeg`, `.npy`,
    /// `.npz`), and files with another
    /// name are recognised by their magic bytes.
    public static func format(of url: URL) throws -> MedicalImageFormat {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw ImagingError(.unreadable, path: url.path, "no such file or folder")
        }
        if isDir.boolValue { return .dicomSeries }
        let name = url.lastPathComponent.lowercased()
        if name.hasSuffix(".nii") || name.hasSuffix(".nii.gz") { return .nifti }
        if name.hasSuffix(".dcm") || name.hasSuffix(".dicom") { return .dicom }
        if name.hasSuffix(".png") { return .png }
        if name.hasSuffix(".jpg") || name.hasSuffix(".jpeg") { return .jpeg }
        if name.hasSuffix(".npy") { return .npy }
        if name.hasSuffix(".npz") { return .npz }
        if name.hasSuffix(".nrrd") || name.hasSuffix(".nhdr") { return .nrrd }
        if name.hasSuffix(".mha") || name.hasSuffix(".mhd") { return .metaimage }
        let head = try prefix(url, 348)
        if head.count >= 132, head[128..<132].elementsEqual("DICM".utf8) { return .dicom }
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return .png }
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if head.starts(with: [0x93]) && head.dropFirst().starts(with: "NUMPY".utf8) { return .npy }
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return .npz }
        if head.starts(with: [0x1F, 0x8B]) { return .nifti }
        if head.starts(with: Array("NRRD000".utf8)) { return .nrrd }
        if head.starts(with: Array("ObjectType".utf8)) || head.starts(with: Array("NDims".utf8)) { return .metaimage }
        if head.count >= 4 {
            let le = ByteReader(head).i32(0), be = ByteReader(head, bigEndian: true).i32(0)
            if [348, 540].contains(le) || [348, 540].contains(be) { return .nifti }
        }
        throw ImagingError(.unsupported, path: url.path,
                           "unknown image format; expected .nii, .nii.gz, DICOM, .nrrd, .nhdr, .mha, .mhd, .png, .jpg, .npy or .npz")
    }

    /// Reads `url` in its format. A single greyscale DICOM file and a NIfTI image are volumes (a
    /// 2-D DICOM has one slice); colour DICOM, PNG, JPEG, NPY and 2-D MedSAM npz are images.
    public static func read(_ url: URL, options: MedicalImageReadOptions = .init()) throws -> MedicalImage {
        let format = try format(of: url)
        if let index = options.volumeIndex, ![.nifti, .dicom, .nrrd, .metaimage].contains(format) {
            throw ImagingError(.invalidArgument, path: url.path, field: "volume index",
                               "is \(index), but a volume index applies only to 4-D NIfTI, NRRD and MetaImage and multi-frame DICOM files, not \(format.rawValue)")
        }
        if format == .dicomSeries { return .volume(try DICOMSeries.read(folder: url, unevenSlices: options.unevenSlices)) }
        return try decode(AtomicFile.read(url), format: format, url: url, options: options)
    }

    /// Reads the bytes of one file (any format but a series folder) as ``read(_:options:)`` does;
    /// `url` names the file in errors and is where a detached NRRD or MetaImage data file is
    /// looked for. The fuzz targets (Fuzz/) call this, so they test exactly what the CLI runs.
    public static func decode(_ bytes: [UInt8], format: MedicalImageFormat, url: URL,
                              options: MedicalImageReadOptions = .init()) throws -> MedicalImage {
        switch format {
        case .nifti: return .volume(try NIfTIReader.decode(bytes, path: url.path, volumeIndex: options.volumeIndex))
        case .dicom:
            let ds = try DICOMDataSet.parse(bytes, path: url.path)
            // Colour images (ultrasound, endoscopy, photographs) are 2-D RGB images like PNGs.
            if try DICOMColourImage.isColour(ds) { return .image(try DICOMColourImage.decode(ds, frameIndex: options.volumeIndex)) }
            return .volume(try DICOMImage.decode(ds).stackedVolume(volumeIndex: options.volumeIndex))
        case .dicomSeries:
            throw ImagingError(.invalidArgument, path: url.path, "a DICOM series is a folder; read it with read(_:options:)")
        case .nrrd: return .volume(try NRRDReader.decode(bytes, url: url, volumeIndex: options.volumeIndex))
        case .metaimage: return .volume(try MetaImage.decode(bytes, url: url, volumeIndex: options.volumeIndex))
        case .png: return .image(try PNGCodec.decode(bytes, path: url.path))
        case .jpeg: return .image(try JPEGCodec.decode(bytes, path: url.path))
        case .npy: return .image(try decodeNPYImage(Data(bytes), path: url.path))
        case .npz:
            let c = try MedSAMCase.decode(bytes, path: url.path)
            if let v = c.volume(source: url.path) { return .volume(v) }
            return .image(c.image()!)
        }
    }

    /// A `.npy` of shape H x W or H x W x 3 (any numeric dtype) as an image.
    public static func readNPYImage(_ url: URL) throws -> Image {
        try decodeNPYImage(Data(AtomicFile.read(url)), path: url.path)
    }

    /// ``readNPYImage(_:)`` on the bytes of a file named `path`.
    public static func decodeNPYImage(_ data: Data, path: String) throws -> Image {
        let array: NPYArray
        do { array = try NPY.decode(data, path: path) } catch let e as NPYError {
            throw ImagingError(.corrupt, path: path, field: "npy", e.message)
        }
        let d = array.shape.dims
        guard d.count == 2 || (d.count == 3 && (d[2] == 3 || d[2] == 1)), d.allSatisfy({ $0 > 0 }) else {
            throw ImagingError(.unsupported, path: path, field: "shape",
                               "is \(array.shape); expected H x W or H x W x 3")
        }
        let eightBit = ["|u1", "u1", "<u1", "|b1", "|i1"].contains(array.dtype)
        return Image(pixels: array.values, height: d[0], width: d[1], channels: d.count == 3 ? d[2] : 1,
                     bitDepth: eightBit ? 8 : 32)
    }

    private static func prefix(_ url: URL, _ n: Int) throws -> [UInt8] {
        guard let h = FileHandle(forReadingAtPath: url.path) else {
            throw ImagingError(.unreadable, path: url.path, "cannot open for reading")
        }
        defer { try? h.close() }
        return [UInt8](h.readData(ofLength: n))
    }
}
