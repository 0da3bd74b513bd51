import ArgumentParser
import Foundation
import MedicalImaging

extension UnevenSlicePolicy: ExpressibleByArgument {}

/// `medsam convert`: any input the tool reads to NIfTI, NRRD, MetaImage or NPY, geometry kept
/// (all but NPY), values
/// after the modality rescale (Hounsfield units for CT, dose for RT Dose).
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a medical image (DICOM file or series, NIfTI, NRRD, MetaImage, PNG, JPEG, NPY, NPZ) to NIfTI, NRRD, MetaImage or NPY.")

    @Option(help: "Input: .nii, .nii.gz, a DICOM file or series folder, .nrrd, .nhdr, .mha, .mhd, .png, .jpg, .npy or MedSAM .npz.")
    var input: String

    @Option(help: "Output: .nii, .nii.gz, .nrrd, .mha, .mhd (with the input's geometry) or .npy (volumes as [k, j, i]).")
    var output: String

    @Option(help: "Voxel type written: float32 (default), source (the input's stored type), or uint8 ... float64.")
    var dtype: String = "float32"

    @Option(help: "Which volume of a 4-D NIfTI, NRRD or MetaImage, or frame of a multi-frame DICOM file (0-based).")
    var volumeIndex: Int?

    @Option(help: "A DICOM series with unevenly spaced slices: refuse (default) or resample.")
    var unevenSlices: UnevenSlicePolicy = .refuse

    @Option(help: "With --output X.dcm: the DICOM file or series the --input label mask was drawn on; writes a DICOM SEG referencing it.")
    var like: String?

    @Option(help: "Segment names for label values 1, 2, ... (comma-separated) in a DICOM SEG or .seg.nrrd.")
    var segmentNames: String?

    @Flag(help: "Overwrite an existing output file.")
    var force = false

    @Flag(help: "Print the written image's summary (as `info --json`) on standard output.")
    var json = false

    func run() throws {
        let lower = output.lowercased()
        if lower.hasSuffix(".dcm") || lower.hasSuffix(".seg.nrrd") || like != nil {
            return try writeSegmentation()
        }
        guard let requested = Conversion.OutputType(dtype) else {
            throw CLIError("--dtype '\(dtype)' is not source or one of \(VoxelType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let outURL = URL(fileURLWithPath: output)
        let format = try Conversion.OutputFormat.of(outURL)
        try checkOutputPath(output, force: force, option: "--output")
        let inURL = URL(fileURLWithPath: input)
        let inputFormat = try MedicalImageFile.format(of: inURL)
        let image = try MedicalImageFile.read(inURL, options: .init(volumeIndex: volumeIndex, unevenSlices: unevenSlices))
        let info: MedicalImageInfo
        switch image {
        case .volume(let v):
            let type = try Conversion.resolve(requested, sourceType: v.sourceType, values: v.voxels, path: output)
            try format.write(v, to: outURL, as: type)
            info = MedicalImageInfo(volume: v.withVoxels(v.voxels, sourceType: type), format: inputFormat)
        case .image(let im):
            switch format {
            case .nifti, .nrrd, .metaimage:
                let v = try Conversion.volume(of: im, source: input)
                let type = try Conversion.resolve(requested, sourceType: v.sourceType, values: v.voxels, path: output)
                try format.write(v, to: outURL, as: type)
                info = MedicalImageInfo(volume: v.withVoxels(v.voxels, sourceType: type), format: inputFormat)
            case .npy:
                let source: VoxelType = im.bitDepth == 8 ? .uint8 : (im.bitDepth == 16 ? .uint16 : .float32)
                let type = try Conversion.resolve(requested, sourceType: source, values: im.pixels, path: output)
                try VolumeNPY.write(im, to: outURL, as: type)
                info = MedicalImageInfo(image: im, format: inputFormat)
            }
        }
        if json { try printJSON(info) }
    }

    /// A label mask as a DICOM SEG (`.dcm`, on the `--like` DICOM images) or a 3D Slicer
    /// segmentation (`.seg.nrrd`); segments are the label values present.
    private func writeSegmentation() throws {
        let lower = output.lowercased()
        guard lower.hasSuffix(".dcm") || lower.hasSuffix(".seg.nrrd") else {
            throw CLIError("--like applies to DICOM SEG (--output X.dcm) and .seg.nrrd outputs, not \(output)")
        }
        try checkOutputPath(output, force: force, option: "--output")
        let names = segmentNames.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
        guard case .volume(let mask) = try MedicalImageFile.read(URL(fileURLWithPath: input), options: .init(volumeIndex: volumeIndex)) else {
            throw CLIError("\(input) is a 2-D image; a segmentation is written from a label volume (NIfTI, NRRD, MetaImage)")
        }
        let outURL = URL(fileURLWithPath: output)
        if lower.hasSuffix(".dcm") {
            guard let like else { throw CLIError("--output \(output) is a DICOM SEG: give the DICOM file or series the mask was drawn on with --like") }
            guard case .volume(let reference) = try MedicalImageFile.read(URL(fileURLWithPath: like), options: .init(unevenSlices: unevenSlices)) else {
                throw CLIError("--like \(like) is not a DICOM volume")
            }
            let labels = try Conversion.labels(of: mask, like: reference, path: input)
            let segments = Conversion.segmentNames(labels, names: names).map { DICOMSegment(label: $0.label, name: $0.name) }
            guard !segments.isEmpty else { throw CLIError("\(input) holds no labels above 0, so there is no segment to write") }
            try DICOMSegWriter.write(labels, like: reference, segments: segments, to: outURL)
        } else {
            let reference = try like.map { path -> Volume in
                guard case .volume(let v) = try MedicalImageFile.read(URL(fileURLWithPath: path), options: .init(unevenSlices: unevenSlices)) else {
                    throw CLIError("--like \(path) is not a volume")
                }
                return v
            } ?? mask
            let labels = try Conversion.labels(of: mask, like: reference, path: input)
            let segments = Conversion.segmentNames(labels, names: names).map { NRRDSegment(label: $0.label, name: $0.name) }
            try NRRDWriter.write(reference.withVoxels(labels.map(Float.init), sourceType: .uint8), to: outURL, as: .uint8, segments: segments)
        }
        if json { try printJSON(MedicalImageInfo(volume: mask, format: try MedicalImageFile.format(of: URL(fileURLWithPath: input)))) }
    }
}
