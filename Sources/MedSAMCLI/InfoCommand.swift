import ArgumentParser
import Foundation
import MedicalImaging
import SAMModels

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a checkpoint or a medical image file.")

    @Option(help: "A checkpoint (.pth or .safetensors).")
    var checkpoint: String?

    @Option(help: "A medical image (NIfTI, DICOM file or folder, PNG, JPEG, NPY, NPZ).")
    var input: String?

    @Option(help: "With --checkpoint: the model it must be.")
    var model: String?

    @Option(help: "With --input: which volume of a 4-D NIfTI, NRRD or MetaImage, or frame group of a multi-frame DICOM file (0-based).")
    var volumeIndex: Int?

    @Option(help: "With --input: a DICOM series with unevenly spaced slices: refuse (default) or resample.")
    var unevenSlices: UnevenSlicePolicy = .refuse

    @OptionGroup var displayOptions: DisplayOptions

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        switch (checkpoint, input) {
        case (let c?, nil):
            let requested = try model.map { name -> ModelKind in
                guard let k = ModelKind(rawValue: name) else { throw CLIError("unknown model '\(name)'") }
                return k
            }
            let summary = try CheckpointSummary.read(path: c, requested: requested)
            if json { try printJSON(summary) } else { print(describe(summary)) }
        case (nil, let i?):
            let info = try MedicalImageInfo.read(URL(fileURLWithPath: i),
                                                 options: MedicalImageReadOptions(volumeIndex: volumeIndex, unevenSlices: unevenSlices))
            let displays = sliceDisplays(info, convention: displayOptions.orientation)
            if json {
                try printJSON(InfoWithDisplay(info: info, orientation: displays == nil ? .array : displayOptions.orientation,
                                              display: displays))
            } else {
                print(describe(info, path: i, displays: displays, convention: displayOptions.orientation))
            }
        default:
            throw CLIError("give exactly one of --checkpoint PATH or --input PATH")
        }
    }
}

/// `info --input` for a person: one fact per line, geometry in the words viewers use.
func describe(_ info: MedicalImageInfo, path: String, displays: [String: SliceDisplaySummary]? = nil,
              convention: DisplayConvention = .radiological) -> String {
    func number(_ v: Double) -> String { String(format: "%g", v) }
    var lines = ["\(path): \(info.format) \(info.kind)" + (info.modality.map { " (\($0))" } ?? "")]
    if info.kind == "volume" {
        lines.append("  voxels      \(info.shape.map(String.init).joined(separator: " x ")) (i x j x k, file order)")
        lines.append("  spacing     \(info.spacing.map(number).joined(separator: " x ")) mm")
        if let frame = info.frame {
            let origin = info.affine.prefix(3).map { number($0[3]) }.joined(separator: ", ")
            lines.append("  origin      (\(origin)) mm in \(frame)")
            lines.append("  axis codes  \(axisCodes(info.affine, frame: frame)) (where i, j, k point)")
        }
        if let displays {
            lines.append("  display     \(convention.rawValue) (--orientation): slices as shown for --box/--point and 2-D outputs")
            for axis in SliceAxis.allCases {
                guard let d = displays[axis.rawValue] else { continue }
                let o = SliceOrientation(transpose: d.transpose, flipX: d.flipX, flipY: d.flipY)
                let name = "\(axis.rawValue) (\(["i", "j", "k"][axis.normalAxis]))".padding(toLength: 15, withPad: " ", startingAt: 0)
                lines.append("    \(name) \(d.plane) plane, " + (o.isIdentity ? "as stored" : o.summary))
            }
        }
    } else {
        lines.append("  pixels      \(info.shape.map(String.init).joined(separator: " x ")) (height x width" + (info.shape.count == 3 ? " x channels)" : ")"))
        lines.append("  spacing     \(info.spacing.map(number).joined(separator: " x ")) (row x column)")
    }
    lines.append("  stored as   \(info.dtype)")
    lines.append("  values      \(number(info.min)) ... \(number(info.max))" + (info.modality == "CT" ? " HU" : ""))
    return lines.joined(separator: "\n")
}

/// How one slice axis is shown: the anatomical plane its slices lie in and the steps from
/// array order (`info --json`'s `display`).
struct SliceDisplaySummary: Codable, Equatable {
    var plane: String
    var transpose: Bool
    var flipX: Bool
    var flipY: Bool
}

/// For a volume, each slice axis's display in `convention` (nil for a 2-D image: no patient axes).
func sliceDisplays(_ info: MedicalImageInfo, convention: DisplayConvention) -> [String: SliceDisplaySummary]? {
    guard info.kind == "volume", let f = info.frame, let frame = WorldFrame(rawValue: f.uppercased()) else { return nil }
    var out: [String: SliceDisplaySummary] = [:]
    for axis in SliceAxis.allCases {
        let (radiological, plane) = SliceOrientation.radiological(affine: Affine(info.affine), frame: frame, axis: axis)
        let o = convention == .radiological ? radiological : .identity
        out[axis.rawValue] = SliceDisplaySummary(plane: plane.rawValue, transpose: o.transpose, flipX: o.flipX, flipY: o.flipY)
    }
    return out
}

/// `info --json`: the image's facts plus the display convention and, for a volume, each slice
/// axis's display (one JSON object: the info's keys and these two).
struct InfoWithDisplay: Encodable {
    var info: MedicalImageInfo
    var orientation: DisplayConvention
    var display: [String: SliceDisplaySummary]?

    private enum Keys: String, CodingKey { case orientation, display }

    func encode(to encoder: Encoder) throws {
        try info.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(orientation, forKey: .orientation)
        try c.encodeIfPresent(display, forKey: .display)
    }
}

/// The direction each voxel index axis (i, j, k) points most along, as the letter of the world
/// direction it increases toward (nibabel's `aff2axcodes`: "RAS" means i toward the patient's
/// right, j anterior, k superior).
func axisCodes(_ affine: [[Double]], frame: String) -> String {
    // Letters for the positive ends of the frame's x, y, z; a negative column flips the letter.
    let positive: [Character] = frame.uppercased() == "LPS" ? ["L", "P", "S"] : ["R", "A", "S"]
    let negative: [Character] = frame.uppercased() == "LPS" ? ["R", "A", "I"] : ["L", "P", "I"]
    return String((0..<3).map { col -> Character in
        let c = (0..<3).map { affine[$0][col] }
        let row = (0..<3).max { abs(c[$0]) < abs(c[$1]) }!
        return c[row] >= 0 ? positive[row] : negative[row]
    })
}

/// `info --checkpoint` for a person.
func describe(_ summary: CheckpointSummary) -> String {
    var lines = ["\(summary.path): \(summary.format) checkpoint of \(summary.model.rawValue)",
                 "  tensors     \(summary.tensors)",
                 "  parameters  \(summary.parameters) (\(String(format: "%.1f", Double(summary.parameters) / 1e6)) M)",
                 "  dtypes      " + summary.dtypes.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")]
    if !summary.unexpectedKeys.isEmpty {
        lines.append("  ignored     \(summary.unexpectedKeys.count) keys the model does not use: "
                     + summary.unexpectedKeys.prefix(5).joined(separator: ", ") + (summary.unexpectedKeys.count > 5 ? ", ..." : ""))
    }
    return lines.joined(separator: "\n")
}
