import ArgumentParser
import Foundation
import MedicalImaging
import Segmentation

struct VolumeSegment: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "volume",
        abstract: "Segment a 3-D structure across slices from one box on a key slice (LiteMedSAM-style propagation).",
        discussion: """
        Without --zrange or --box3d, each walk away from the key slice ends at a slice whose mask \
        is empty or tiny (under 4 px or a tenth of the key slice's), grows sharply over the last \
        slices, or outgrows the key slice's mask \
        (the stop rule; see docs/volume-propagation.md); that slice is not labelled. Box X and Y \
        are pixels of the key slice as --orientation lays it out (default radiological); Z and \
        --slice are slice indices; the mask is written on the input's voxel grid.
        """)

    @OptionGroup var inputOptions: InputOptions
    @OptionGroup var displayOptions: DisplayOptions
    @OptionGroup var modelOptions: ModelOptions

    @Option(parsing: .unconditional, help: "Box X0,Y0,X1,Y1 on the key slice (--slice); best on the structure's largest slice.")
    var box: String?

    @Option(parsing: .unconditional, help: "3-D box X0,Y0,Z0,X1,Y1,Z1 (Z = slice index along --axis, inclusive), as the LiteMedSAM challenge gives it: every slice Z0...Z1 is segmented from the middle one. Replaces --box, --slice and --zrange.")
    var box3d: String?

    @Option(parsing: .unconditional, help: "Slices to cover, A,B inclusive (default: until the stop rule ends each walk).")
    var zrange: String?

    @Option(help: "Stop rule: end a walk at a mask larger than this factor times the largest of the last --stop-growth-window slices' (default 1.3) and ...")
    var stopMaxGrowth: Float?

    @Option(help: "... larger by more than this many pixels (default 32) and ...")
    var stopMinGrowthPixels: Int?

    @Option(help: "... by more than this fraction of the key slice's mask (default 0).")
    var stopMinGrowthRatio: Float?

    @Option(help: "Stop rule: slices the growth clause compares with (default 3: the largest of the last 3 kept masks).")
    var stopGrowthWindow: Int?

    @Option(help: "Stop rule: end a walk at a mask under this fraction of the key slice's (default 0.1; 0: off).")
    var stopMinAreaRatio: Float?

    @Option(help: "Stop rule: end a walk at a mask larger than this factor times the key slice's (default 2).")
    var stopMaxAreaRatio: Float?

    @Option(help: "Stop rule: end a walk at a mask under this many pixels (default 4).")
    var stopMinArea: Int?

    @Option(help: "Stop rule: end a walk at a predicted IoU under this value (default 0: off).")
    var stopMinIou: Float?

    @Option(help: "Slices per encoder run (default 1 on cpu and reference, 4 on GPUs).")
    var encodeBatch: Int?

    @Option(help: "Mask output (.nii or .nii.gz) in the input's geometry.")
    var output: String

    @Flag(help: "Overwrite an existing output.")
    var force = false

    @Flag(help: "Print a JSON summary on standard output.")
    var json = false

    func run() throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let lower = output.lowercased()
        guard lower.hasSuffix(".nii") || lower.hasSuffix(".nii.gz") else {
            throw CLIError("--output \(output): expected a .nii or .nii.gz file name")
        }
        try checkOutputPath(output, force: force, option: "--output")
        if let n = encodeBatch, !(1...64).contains(n) { throw CLIError("--encode-batch \(n): expected 1...64") }
        var propagation = try makePropagation()

        // What to propagate: a 3-D box, or a box on a key slice with an optional range.
        var box3D: [Float]?
        var b: [Float] = []
        var key = 0
        var range: ClosedRange<Int>?
        switch (box, box3d) {
        case (nil, let text?):
            if inputOptions.slice != nil || zrange != nil {
                throw CLIError("--box3d gives the slices itself; leave out --slice and --zrange")
            }
            let v = try parseBox3D(text)
            box3D = v
            b = [v[0], v[1], v[3], v[4]]
            key = Int(v[2])
        case (let text?, nil):
            b = try parseBox(text)
            guard let k = inputOptions.slice else { throw CLIError("volume needs --slice K, the key slice the box is drawn on") }
            key = k
            if let z = zrange {
                let parts = z.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard parts.count == 2, parts[0] <= parts[1], parts[0] <= key, key <= parts[1] else {
                    throw CLIError("--zrange '\(z)' must be A,B with A <= --slice \(key) <= B")
                }
                range = parts[0]...parts[1]
            }
        default:
            throw CLIError("give either --box X0,Y0,X1,Y1 with --slice K, or --box3d X0,Y0,Z0,X1,Y1,Z1")
        }

        var options = inputOptions
        options.slice = key
        let (keyImage, volume) = try options.image()
        guard let volume else { throw CLIError("\(inputOptions.input) is a 2-D image; volume needs a 3-D input") }
        // The box is drawn on the display; propagation runs on array-order slices.
        let display = displayOptions.display(volume: volume, axis: inputOptions.axis)
        let (shownWidth, shownHeight) = display.displaySize(arrayWidth: keyImage.width, arrayHeight: keyImage.height)
        guard b[0] >= 0, b[1] >= 0, b[2] <= Float(shownWidth), b[3] <= Float(shownHeight) else {
            throw CLIError("box \(box ?? box3d ?? "") lies outside the \(shownWidth)x\(shownHeight) slice "
                           + "(\(inputOptions.axis.rawValue), --orientation \(displayOptions.orientation.rawValue))")
        }
        b = display.boxToArray(b.map(Double.init), displayWidth: shownWidth, displayHeight: shownHeight).map(Float.init)
        if var v = box3D { (v[0], v[1], v[3], v[4]) = (b[0], b[1], b[2], b[3]); box3D = v }
        if let v = box3D, Int(v[5]) >= volume.sliceCount(inputOptions.axis) {
            throw CLIError("--box3d '\(box3d!)': Z1 \(Int(v[5])) is past the last \(inputOptions.axis.rawValue) slice \(volume.sliceCount(inputOptions.axis) - 1)")
        }
        let loaded = try modelOptions.load()
        let backend = try modelOptions.makeBackend()
        // Slices are encoded ahead of the walk, so a batch that a stop cuts short was encoded for
        // nothing. On the host backends a batch of 4 costs the CPU time of 4 single encodes
        // (measured: docs/volume-propagation.md), so there one slice at a time wastes nothing.
        propagation.encodeBatch = encodeBatch ?? (["cpu", "reference"].contains(backend.info.backend) ? 1 : 4)
        let predictor = Predictor(model: loaded.model, backend: backend)
        let bar = ProgressBar(label: "slices", enabled: !json)
        let result: VolumePropagation.Result
        if let v = box3D {
            result = try propagation.run(volume: volume, axis: inputOptions.axis, box3d: v, predictor: predictor, progress: bar.update)
        } else {
            result = try propagation.run(volume: volume, axis: inputOptions.axis, keySlice: key, box: b,
                                         range: range, predictor: predictor, progress: bar.update)
        }
        bar.finish()
        // The mask is written in the geometry of the volume as read (mapping changed only intensities).
        try NIfTIWriter.writeMask(result.mask, like: volume, to: URL(fileURLWithPath: output))
        let voxels = result.mask.reduce(0) { $0 + Int($1) }
        let slices = result.slices.map(\.slice).sorted()
        // Per-slice boxes reported on the display, as the box was given.
        let records = result.slices.sorted { $0.slice < $1.slice }.map { r -> VolumePropagation.SliceRecord in
            var r = r
            r.box = display.boxToDisplay(r.box.map(Double.init), arrayWidth: keyImage.width, arrayHeight: keyImage.height).map(Float.init)
            return r
        }
        if json {
            try printJSON(VolumeSummary(model: loaded.kind.rawValue, backend: backend.info.backend, device: backend.info.name,
                                        slices: slices, voxels: voxels, output: output,
                                        total_ms: millisecondsSince(start),
                                        per_slice: records, stops: result.stops, slices_encoded: result.slicesEncoded,
                                        orientation: displayOptions.orientation.rawValue, display: DisplaySummary(display)))
        } else {
            print("wrote \(output): \(voxels) voxels over \(slices.count) slices (\(slices.first ?? 0)...\(slices.last ?? 0))")
            for (walk, why) in result.stops.sorted(by: { $0.key > $1.key }) { print("  \(walk) walk stopped: \(why)") }
        }
    }

    private func makePropagation() throws -> VolumePropagation {
        var p = VolumePropagation()
        if let g = stopMaxGrowth {
            guard g >= 1 else { throw CLIError("--stop-max-growth \(g): expected a factor >= 1") }
            p.stopRule.maximumGrowth = g
        }
        if let g = stopMinGrowthPixels {
            guard g >= 0 else { throw CLIError("--stop-min-growth-pixels \(g): expected 0 or more pixels") }
            p.stopRule.minimumGrowthPixels = g
        }
        if let r = stopMinGrowthRatio {
            guard r >= 0, r.isFinite else { throw CLIError("--stop-min-growth-ratio \(r): expected a fraction >= 0") }
            p.stopRule.minimumGrowthOverKey = r
        }
        if let n = stopGrowthWindow {
            guard (1...64).contains(n) else { throw CLIError("--stop-growth-window \(n): expected 1...64 slices") }
            p.stopRule.growthWindow = n
        }
        if let r = stopMinAreaRatio {
            guard (0..<1).contains(r) else { throw CLIError("--stop-min-area-ratio \(r): expected a fraction 0 <= F < 1") }
            p.stopRule.minimumAreaOverKey = r
        }
        if let r = stopMaxAreaRatio {
            guard r >= 1 else { throw CLIError("--stop-max-area-ratio \(r): expected a factor >= 1") }
            p.stopRule.maximumAreaOverKey = r
        }
        if let a = stopMinArea {
            guard a >= 1 else { throw CLIError("--stop-min-area \(a): expected at least 1 pixel") }
            p.stopRule.minimumArea = a
        }
        if let i = stopMinIou {
            guard (0...1).contains(i) else { throw CLIError("--stop-min-iou \(i): expected 0...1") }
            p.stopRule.minimumPredictedIoU = i
        }
        return p
    }
}

/// Parses X0,Y0,Z0,X1,Y1,Z1 (Z whole slice indices, inclusive).
func parseBox3D(_ s: String) throws -> [Float] {
    let v = s.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
    guard v.count == 6, v.allSatisfy({ $0 != nil && $0!.isFinite }) else {
        throw CLIError("--box3d '\(s)' is not X0,Y0,Z0,X1,Y1,Z1 (six numbers)")
    }
    let b = v.map { $0! }
    guard b[3] > b[0], b[4] > b[1] else { throw CLIError("--box3d '\(s)' is empty or inverted: need X1 > X0 and Y1 > Y0") }
    guard b[2] == b[2].rounded(), b[5] == b[5].rounded(), b[2] >= 0, b[5] >= b[2] else {
        throw CLIError("--box3d '\(s)': Z0 and Z1 must be slice indices with 0 <= Z0 <= Z1")
    }
    return b
}

struct VolumeSummary: Codable {
    var model: String
    var backend: String
    var device: String
    var slices: [Int]
    var voxels: Int
    var output: String
    var total_ms: Double
    /// Each kept slice: index, mask area, predicted IoU and the box prompt used.
    var per_slice: [VolumePropagation.SliceRecord]
    /// Why each walk away from the key slice ended early ("upward"/"downward"), if it did.
    var stops: [String: String]
    /// Slices the encoder ran on (the kept ones, the slices that ended walks, and any slices of an
    /// encoder batch past a stop).
    var slices_encoded: Int
    /// The display convention the box and `per_slice` boxes follow.
    var orientation: String
    /// The steps from the array-order slice to that display.
    var display: DisplaySummary
}
