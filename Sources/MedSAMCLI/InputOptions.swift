import ArgumentParser
import Foundation
import MedicalImaging
import SAMModels
import Segmentation
import TensorRuntime

extension SliceAxis: ExpressibleByArgument {}

/// `--input`, `--slice`, `--axis`, `--window`, `--window-preset`: which image and how its
/// intensities become the 0...255 grey levels the models expect.
struct InputOptions: ParsableArguments {
    @Option(help: "Input: .nii, .nii.gz, a DICOM file or series folder, .png, .jpg, .npy or MedSAM .npz.")
    var input: String

    // `.unconditional` lets values start with "-" (`--slice -1` gets a range error, not
    // "missing value"; `--window -600,1500` is the lung window).
    @Option(parsing: .unconditional, help: "Slice index of a 3-D input (along --axis).")
    var slice: Int?

    @Option(help: "Which slices of a 3-D input: axial (across k), coronal (j) or sagittal (i); --orientation lays them out.")
    var axis: SliceAxis = .axial

    @Option(parsing: .unconditional, help: "CT window LEVEL,WIDTH in Hounsfield units (e.g. 40,400).")
    var window: String?

    @Option(help: "CT window preset: soft-tissue, lung, bone or brain.")
    var windowPreset: String?

    @Option(help: "Which volume of a 4-D NIfTI, NRRD or MetaImage, or frame group of a multi-frame DICOM file (0-based).")
    var volumeIndex: Int?

    @Option(help: "A DICOM series with unevenly spaced slices: refuse (default) or resample.")
    var unevenSlices: UnevenSlicePolicy = .refuse

    /// The intensity mapping asked for, or nil for the automatic choice.
    func mapping() throws -> IntensityMapping? { try intensityMapping(window: window, windowPreset: windowPreset) }

    /// The file as read.
    func read() throws -> MedicalImage {
        try MedicalImageFile.read(URL(fileURLWithPath: input),
                                  options: MedicalImageReadOptions(volumeIndex: volumeIndex, unevenSlices: unevenSlices))
    }

    /// The 2-D image to segment (mapped to 0...255) and, for a 3-D input, the mapped volume.
    func image() throws -> (image: Image, volume: Volume?) {
        switch try read() {
        case .image(let img):
            if slice != nil { throw CLIError("\(input) is a 2-D image; --slice applies to 3-D inputs only") }
            let m = try mapping() ?? IntensityMapping.automatic(for: img)
            return (m.apply(img), nil)
        case .volume(let vol):
            let count = vol.sliceCount(axis)
            guard let k = slice else {
                if count == 1 {
                    let m = try mapping() ?? IntensityMapping.automatic(for: vol)
                    let mapped = m.apply(vol)
                    return (try mapped.slice(axis, 0), mapped)
                }
                throw CLIError("\(input) is a 3-D volume \(vol.dims); choose a slice with --slice K (0...\(count - 1) along \(axis.rawValue))")
            }
            guard (0..<count).contains(k) else {
                throw CLIError("--slice \(k) is outside \(input): \(count) \(axis.rawValue) slices (0...\(count - 1))")
            }
            let m = try mapping() ?? IntensityMapping.automatic(for: vol)
            let mapped = m.apply(vol)
            return (try mapped.slice(axis, k), mapped)
        }
    }
}

/// The mapping `--window` / `--window-preset` ask for (nil: the automatic choice), for every
/// command that reads images.
func intensityMapping(window: String?, windowPreset: String?) throws -> IntensityMapping? {
    if window != nil && windowPreset != nil { throw CLIError("give either --window or --window-preset, not both") }
    if let w = window {
        guard let parsed = IntensityWindow(argument: w) else {
            throw CLIError("--window '\(w)' is not LEVEL,WIDTH with a positive width (e.g. 40,400)")
        }
        return .window(parsed)
    }
    if let p = windowPreset {
        guard let preset = IntensityWindow.presets[p] else {
            throw CLIError("unknown --window-preset '\(p)' (expected \(IntensityWindow.presets.keys.sorted().joined(separator: ", ")))")
        }
        return .window(preset)
    }
    return nil
}

/// `--model`, `--checkpoint` plus the backend options.
struct ModelOptions: ParsableArguments {
    @Option(help: "Model: litemedsam (default), medsam, sam-vit-b, sam-vit-l, sam-vit-h, mobilesam.")
    var model: String?

    @Option(help: "Checkpoint (.pth or .safetensors). Needed for every model but the default.")
    var checkpoint: String?

    @OptionGroup var backendOptions: BackendOptions

    func load() throws -> LoadedModel {
        let requested = try model.map { try ModelLoader.kind(named: $0) }
        if let c = checkpoint, !FileManager.default.fileExists(atPath: c) {
            throw CLIError("checkpoint \(c) does not exist")
        }
        return try ModelLoader.load(requested: requested, checkpoint: checkpoint)
    }

    func makeBackend() throws -> any Backend { try backendOptions.makeBackend() }
}

/// Refuses to overwrite (unless forced) and to write into a folder that does not exist.
func checkOutputPath(_ path: String, force: Bool, option: String) throws {
    let url = URL(fileURLWithPath: path)
    var isDir: ObjCBool = false
    let dir = url.deletingLastPathComponent().path
    guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
        throw CLIError("\(option) \(path): folder \(dir) does not exist")
    }
    if FileManager.default.fileExists(atPath: path) && !force {
        throw CLIError("\(option) \(path) already exists (use --force to overwrite)")
    }
}

/// Milliseconds since `start` (a `DispatchTime` uptime in nanoseconds).
func millisecondsSince(_ start: UInt64) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
}

/// Progress on standard error (never on standard output, which `--json` keeps clean): a bar
/// redrawn in place on a terminal; in a log file, plain lines at every tenth of the work, so the
/// log does not fill with carriage-return frames.
struct ProgressBar {
    var label: String
    var enabled: Bool = true
    private let terminal = isatty(STDERR_FILENO) != 0
    private final class State { var lastTenth = -1 }
    private let state = State()

    init(label: String, enabled: Bool = true) {
        self.label = label
        self.enabled = enabled
    }

    func update(_ done: Int, _ total: Int) {
        guard enabled, total > 0 else { return }
        if terminal {
            let width = 30
            let filled = min(width, done * width / total)
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            FileHandle.standardError.write("\r\(label) [\(bar)] \(done)/\(total)".data(using: .utf8)!)
        } else {
            let tenth = min(10, done * 10 / total)
            guard tenth > state.lastTenth else { return }
            state.lastTenth = tenth
            FileHandle.standardError.write("\(label): \(done)/\(total)\n".data(using: .utf8)!)
        }
    }

    /// Ends the bar's line on a terminal (the total may not be reached when a walk stops early).
    func finish() {
        if enabled && terminal { FileHandle.standardError.write("\n".data(using: .utf8)!) }
    }
}
