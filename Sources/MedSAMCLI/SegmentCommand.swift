import ArgumentParser
import Foundation
import MedicalImaging
import SAMModels
import Segmentation
import TensorRuntime

struct Segment: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Segment a 2-D image or one slice of a volume from box and/or point prompts.",
        discussion: """
        Each --box is one prompt; the --point options together form one prompt, which joins the box \
        when exactly one box is given. Coordinates are pixels (x = column, y = row) of the slice as \
        --orientation lays it out (default radiological for volumes; a 2-D image as read).
        """)

    @OptionGroup var inputOptions: InputOptions
    @OptionGroup var displayOptions: DisplayOptions
    @OptionGroup var modelOptions: ModelOptions

    // `.unconditionalSingleValue`: a value may start with "-" (`--box -4,10,60,70`).
    @Option(name: .customLong("box"), parsing: .unconditionalSingleValue, help: "A box prompt X0,Y0,X1,Y1 (repeatable).")
    var boxes: [String] = []

    @Option(name: .customLong("point"), parsing: .unconditionalSingleValue, help: "A point X,Y[,L] with label 1 foreground (default) or 0 background (repeatable).")
    var points: [String] = []

    @Option(help: "Low-res logits (.npy, [1,256,256] or [256,256]) of an earlier prediction, as extra input.")
    var maskInput: String?

    @Option(help: "Use this image embedding (.npy written by `medsam embed` for the same input, model and slice) instead of running the image encoder.")
    var embedding: String?

    @Flag(help: "Predict three masks per prompt.")
    var multimask = false

    @Option(help: "Mask output: .png or .nii/.nii.gz label map, or .npy (P x H x W uint8).")
    var output: String

    @Option(help: "Also write the logits at the image's size (.npy float32).")
    var logits: String?

    @Option(help: "Also write the decoder's low-res logits (.npy float32, P x M x 256 x 256), as a later --mask-input takes them.")
    var lowResLogits: String?

    @Option(help: "Also draw the masks and prompts over the image (.png).")
    var overlay: String?

    @Option(help: "Enlarge the overlay by this integer factor (default: enough to make its longer side at least 512 px).")
    var overlayScale: Int?

    @Flag(help: "Overwrite existing output files.")
    var force = false

    @Flag(help: "Print a JSON summary on standard output.")
    var json = false

    func run() throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let shownPrompts = try parsePrompts()
        for (path, option) in [(output, "--output"), (logits, "--logits"), (lowResLogits, "--low-res-logits"), (overlay, "--overlay")] {
            if let p = path { try checkOutputPath(p, force: force, option: option) }
        }
        let ext = outputKind(output)
        guard ext != nil else { throw CLIError("--output \(output): expected a .png, .nii, .nii.gz or .npy file name") }
        if let l = logits, !l.hasSuffix(".npy") { throw CLIError("--logits \(l): expected a .npy file name") }
        if let o = overlay, !o.lowercased().hasSuffix(".png") { throw CLIError("--overlay \(o): expected a .png file name") }
        if let s = overlayScale, !(1...64).contains(s) { throw CLIError("--overlay-scale \(s): expected an integer 1...64") }

        let (image, volume) = try inputOptions.image()
        // Prompts are given on the display; the model sees the array-order slice.
        let display = displayOptions.display(volume: volume, axis: inputOptions.axis)
        let (shownWidth, shownHeight) = display.displaySize(arrayWidth: image.width, arrayHeight: image.height)
        let prompts = shownPrompts.map { $0.inArrayOrder(from: display, displayWidth: shownWidth, displayHeight: shownHeight) }
        let loaded = try modelOptions.load()
        let backend = try modelOptions.makeBackend()
        let loadMs = millisecondsSince(start)
        warnAboutBoxOnlyModel(loaded.kind, points: prompts.contains { !$0.points.isEmpty }, multimask: multimask)

        let predictor = Predictor(model: loaded.model, backend: backend)
        if let path = embedding {
            let stored = try NPY.read(URL(fileURLWithPath: path))
            do {
                try predictor.setEmbedding(Tensor(shape: stored.shape, data: stored.values),
                                           imageHeight: image.height, imageWidth: image.width)
            } catch let error as EmbeddingError {
                throw CLIError("--embedding \(path): \(error)")
            }
        } else {
            try predictor.setImage(image)
        }
        var wanted: PredictionOutputs = []
        if logits != nil { wanted.insert(.logits) }
        if lowResLogits != nil { wanted.insert(.lowResLogits) }
        let prediction = try predictor.predict(prompts, multimask: multimask, outputs: wanted)

        let labels = labelMap(prediction, height: image.height, width: image.width)
        let shownLabels = display.toDisplay(labels, arrayWidth: image.width, arrayHeight: image.height)
        // NPY masks and logits: P x H x W (P x 3 x H x W with multimask) of the display.
        func shown(_ t: Tensor) -> Tensor {
            let planes = display.planesToDisplay(t.data, arrayWidth: image.width, arrayHeight: image.height)
            let lead = multimask ? Array(t.shape.dims.prefix(2)) : [t.shape[0]]
            return Tensor(shape: Shape(lead + [shownHeight, shownWidth]), data: planes)
        }
        switch ext! {
        case "npy":
            try NPY.write(shown(prediction.masks), to: URL(fileURLWithPath: output), asUInt8: true)
        case "png":
            try writePNGMask(shownLabels, promptCount: prompts.count, height: shownHeight, width: shownWidth,
                             to: URL(fileURLWithPath: output))
        default:
            // The input's voxel grid, whatever the display.
            try writeNIfTI(labels, image: image, volume: volume)
        }
        if let l = logits, let t = prediction.logits {
            try NPY.write(shown(t), to: URL(fileURLWithPath: l))
        }
        if let l = lowResLogits, let t = prediction.lowResLogits {
            try NPY.write(t, to: URL(fileURLWithPath: l))
        }
        if let o = overlay {
            // Drawn on the display, with the prompts as given.
            let scale = overlayScale ?? OverlayRenderer.automaticScale(height: shownHeight, width: shownWidth)
            try OverlayRenderer.write(to: URL(fileURLWithPath: o), base: display.toDisplay(image), labels: shownLabels,
                                      boxes: shownPrompts.compactMap { $0.box?.map(Double.init) },
                                      points: shownPrompts.flatMap { $0.points }.map {
                                          OverlayPoint(x: Double($0.x), y: Double($0.y), foreground: $0.label == 1)
                                      }, scale: scale)
        }
        let total = millisecondsSince(start)
        if json {
            let masks = (0..<prediction.iou.shape[0]).flatMap { p in
                (0..<prediction.iou.shape[1]).map { m in
                    MaskSummary(prompt: p, index: m, iou: prediction.iou.data[p * prediction.iou.shape[1] + m],
                                area: prediction.area(p, m))
                }
            }
            try printJSON(SegmentSummary(model: loaded.kind.rawValue, checkpoint: loaded.checkpointPath,
                                         backend: backend.info.backend, device: backend.info.name,
                                         image: [shownHeight, shownWidth], masks: masks, output: output,
                                         orientation: volume == nil ? DisplayConvention.array.rawValue : displayOptions.orientation.rawValue,
                                         display: DisplaySummary(display),
                                         timings_ms: ["load": loadMs, "encode": embedding == nil ? predictor.lastEncodeMilliseconds : 0,
                                                      "decode": predictor.lastDecodeMilliseconds, "total": total]))
        } else {
            for p in 0..<prediction.iou.shape[0] {
                let m = prediction.bestMask(p)
                print(String(format: "prompt %d: area %d px, predicted IoU %.4f", p + 1, prediction.area(p, m),
                             prediction.iou.data[p * prediction.iou.shape[1] + m]))
            }
            if volume != nil {
                print("\(inputOptions.axis.rawValue) slice shown \(displayOptions.orientation.rawValue): "
                      + (display.isIdentity ? "as stored" : "array order \(display.summary)"))
            }
            print("wrote \(output) (\(loaded.kind.rawValue) on \(backend.info.backend): \(backend.info.name), "
                  + String(format: "encode %.0f ms, decode %.0f ms)", predictor.lastEncodeMilliseconds, predictor.lastDecodeMilliseconds))
        }
    }

    /// One label map: prompt i is value i+1, later prompts drawn over earlier ones; with
    /// multimask the mask with the highest predicted IoU.
    private func labelMap(_ p: Prediction, height: Int, width: Int) -> [UInt8] {
        var labels = [UInt8](repeating: 0, count: height * width)
        let hw = height * width
        for prompt in 0..<p.masks.shape[0] {
            let m = p.bestMask(prompt)
            let base = (prompt * p.masks.shape[1] + m) * hw
            for i in 0..<hw where p.masks.data[base + i] > 0 { labels[i] = UInt8(min(prompt + 1, 255)) }
        }
        return labels
    }

    private func writeNIfTI(_ labels: [UInt8], image: Image, volume: Volume?) throws {
        let url = URL(fileURLWithPath: output)
        guard let volume else {
            // A 2-D input: a one-slice volume with unit geometry (x = column, y = row).
            let v = Volume(voxels: labels.map(Float.init), dims: [image.width, image.height, 1], spacing: [1, 1, 1],
                           affine: Affine([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), frame: .ras,
                           sourceType: .uint8, source: inputOptions.input)
            try NIfTIWriter.write(v, to: url, as: .uint8)
            return
        }
        // The slice's labels placed in a mask of the whole volume, in the input's geometry.
        var maskVolume = volume.withVoxels([Float](repeating: 0, count: volume.voxels.count), sourceType: .uint8)
        try maskVolume.setSlice(inputOptions.axis, inputOptions.slice ?? 0,
                                from: Image(pixels: labels.map(Float.init), height: image.height, width: image.width, channels: 1))
        let mask = maskVolume.voxels.map { UInt8($0) }
        try NIfTIWriter.writeMask(mask, like: volume, to: url)
    }

    private func outputKind(_ path: String) -> String? {
        let p = path.lowercased()
        if p.hasSuffix(".npy") { return "npy" }
        if p.hasSuffix(".png") { return "png" }
        if p.hasSuffix(".nii") || p.hasSuffix(".nii.gz") { return "nifti" }
        return nil
    }

    private func parsePrompts() throws -> [ImagePrompt] {
        let parsedBoxes = try boxes.map { try parseBox($0) }
        let parsedPoints = try points.map { try parsePoint($0) }
        var maskLogits: Tensor?
        if let m = maskInput {
            let a = try NPY.read(URL(fileURLWithPath: m))
            guard a.shape.count == a.shape.dims.suffix(2).reduce(1, *) else {
                throw CLIError("--mask-input \(m): shape \(a.shape), expected [1,256,256] or [256,256]")
            }
            let d = a.shape.dims.suffix(2)
            maskLogits = Tensor(shape: Shape([1] + d), data: a.values)
        }
        if parsedBoxes.isEmpty && parsedPoints.isEmpty {
            throw CLIError("give at least one --box X0,Y0,X1,Y1 or --point X,Y")
        }
        if parsedBoxes.count > 1 && !parsedPoints.isEmpty {
            throw CLIError("--point prompts join a box only when exactly one --box is given (got \(parsedBoxes.count) boxes)")
        }
        if parsedBoxes.isEmpty {
            return [ImagePrompt(points: parsedPoints, maskLogits: maskLogits)]
        }
        if parsedBoxes.count == 1 {
            return [ImagePrompt(points: parsedPoints, box: parsedBoxes[0], maskLogits: maskLogits)]
        }
        return parsedBoxes.map { ImagePrompt(box: $0, maskLogits: maskLogits) }
    }
}

func parseBox(_ s: String) throws -> [Float] {
    let v = s.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
    guard v.count == 4, v.allSatisfy({ $0 != nil && $0!.isFinite }) else {
        throw CLIError("--box '\(s)' is not X0,Y0,X1,Y1 (four numbers)")
    }
    let b = v.map { $0! }
    // An empty box (zero width or height) would prompt the model with a point-sized region and
    // return a meaningless mask; refuse it like an inverted one.
    guard b[2] > b[0], b[3] > b[1] else {
        throw CLIError("--box '\(s)' is empty or inverted: need X1 > X0 and Y1 > Y0")
    }
    return b
}

/// Writes a mask label map as PNG a person can look at: one prompt gives a black-and-white
/// image (0 background, 255 mask); several give a palette PNG whose pixel values are the labels
/// 1...N (what label readers get back) shown in the overlay's colours.
func writePNGMask(_ labels: [UInt8], promptCount: Int, height: Int, width: Int, to url: URL) throws {
    try PNGCodec.writeMask(labels, singlePrompt: promptCount <= 1, height: height, width: width, to: url)
}

/// MedSAM and LiteMedSAM were fine-tuned with boxes only: say so on standard error when a
/// run relies on what they were not trained for, rather than let a weak mask look authoritative.
func warnAboutBoxOnlyModel(_ kind: ModelKind, points: Bool, multimask: Bool) {
    guard kind.trainedWithBoxPromptsOnly else { return }
    if points {
        warn("\(kind.rawValue) was trained with box prompts only; point prompts usually give worse masks than a box")
    }
    if multimask {
        warn("\(kind.rawValue)'s IoU head was not trained to rank multimask outputs; the 'best' mask is picked by an uninformative score")
    }
}

/// One `warning: ...` line on standard error (standard output stays clean for `--json`).
func warn(_ message: String) {
    FileHandle.standardError.write("warning: \(message)\n".data(using: .utf8)!)
}

func parsePoint(_ s: String) throws -> ImagePrompt.Point {
    let v = s.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
    guard v.count == 2 || v.count == 3, let x = Float(v[0]), let y = Float(v[1]), x.isFinite, y.isFinite else {
        throw CLIError("--point '\(s)' is not X,Y or X,Y,L")
    }
    var label = 1
    if v.count == 3 {
        guard let l = Int(v[2]), l == 0 || l == 1 else { throw CLIError("--point '\(s)': label must be 0 or 1") }
        label = l
    }
    return ImagePrompt.Point(x: x, y: y, label: label)
}

struct MaskSummary: Codable {
    var prompt: Int
    var index: Int
    var iou: Float
    var area: Int
}

struct SegmentSummary: Codable {
    var model: String
    var checkpoint: String
    var backend: String
    var device: String
    var image: [Int]
    var masks: [MaskSummary]
    var output: String
    /// The display convention prompts and 2-D outputs follow ("array" for a 2-D input).
    var orientation: String
    /// The steps from the array-order slice to that display.
    var display: DisplaySummary
    var timings_ms: [String: Double]
}
