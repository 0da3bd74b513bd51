import ArgumentParser
import Foundation
import MedicalImaging
import Segmentation

struct VolumeSegment: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "volume",
        abstract: "Segment a 3-D structure across slices from one box on a key slice (LiteMedSAM-style propagation).")

    @OptionGroup var inputOptions: InputOptions
    @OptionGroup var modelOptions: ModelOptions

    @Option(parsing: .unconditional, help: "Box X0,Y0,X1,Y1 on the key slice (--slice).")
    var box: String

    @Option(parsing: .unconditional, help: "Slices to cover, A,B inclusive (default: until the mask vanishes).")
    var zrange: String?

    @Option(help: "Mask output (.nii or .nii.gz) in the input's geometry.")
    var output: String

    @Flag(help: "Overwrite an existing output.")
    var force = false

    @Flag(help: "Print a JSON summary on standard output.")
    var json = false

    func run() throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let b = try parseBox(box)
        let lower = output.lowercased()
        guard lower.hasSuffix(".nii") || lower.hasSuffix(".nii.gz") else {
            throw CLIError("--output \(output): expected a .nii or .nii.gz file name")
        }
        try checkOutputPath(output, force: force, option: "--output")
        guard let key = inputOptions.slice else { throw CLIError("volume needs --slice K, the key slice the box is drawn on") }
        var range: ClosedRange<Int>?
        if let z = zrange {
            let parts = z.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, parts[0] <= parts[1], parts[0] <= key, key <= parts[1] else {
                throw CLIError("--zrange '\(z)' must be A,B with A <= --slice \(key) <= B")
            }
            range = parts[0]...parts[1]
        }
        let (keyImage, volume) = try inputOptions.image()
        guard let volume else { throw CLIError("\(inputOptions.input) is a 2-D image; volume needs a 3-D input") }
        guard b[0] >= 0, b[1] >= 0, b[2] <= Float(keyImage.width), b[3] <= Float(keyImage.height) else {
            throw CLIError("--box \(box) lies outside the \(keyImage.width)x\(keyImage.height) slice")
        }
        let loaded = try modelOptions.load()
        let backend = try modelOptions.makeBackend()
        let predictor = Predictor(model: loaded.model, backend: backend)
        let bar = ProgressBar(label: "slices", enabled: !json)
        let result = try VolumePropagation().run(volume: volume, axis: inputOptions.axis, keySlice: key, box: b,
                                                 range: range, predictor: predictor, progress: bar.update)
        // The mask is written in the geometry of the volume as read (mapping changed only intensities).
        try NIfTIWriter.writeMask(result.mask, like: volume, to: URL(fileURLWithPath: output))
        let voxels = result.mask.reduce(0) { $0 + Int($1) }
        if json {
            try printJSON(VolumeSummary(model: loaded.kind.rawValue, backend: backend.info.backend, device: backend.info.name,
                                        slices: result.areas.keys.sorted(), voxels: voxels, output: output,
                                        total_ms: millisecondsSince(start)))
        } else {
            let slices = result.areas.keys.sorted()
            print("wrote \(output): \(voxels) voxels over \(slices.count) slices (\(slices.first ?? 0)...\(slices.last ?? 0))")
        }
    }
}

struct VolumeSummary: Codable {
    var model: String
    var backend: String
    var device: String
    var slices: [Int]
    var voxels: Int
    var output: String
    var total_ms: Double
}
