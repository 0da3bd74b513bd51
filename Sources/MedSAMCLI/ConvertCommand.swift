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

    @Flag(help: "Overwrite an existing output file.")
    var force = false

    @Flag(help: "Print the written image's summary (as `info --json`) on standard output.")
    var json = false

    func run() throws {
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
}
