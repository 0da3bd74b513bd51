import ArgumentParser
import Foundation
import MedicalImaging
import SAMModels
import Segmentation

/// `medsam everything`: SAM's automatic mask generator on a 2-D image or one slice of a volume.
struct Everything: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Segment everything in a 2-D image or one slice of a volume (SAM's automatic mask generator).",
        discussion: """
        Prompts the model with a grid of points (one prompt per point, three masks each), keeps the \
        masks with a high predicted IoU and stability score, and removes duplicates by box NMS, as \
        segment-anything's SamAutomaticMaskGenerator does; every option below is one of its \
        parameters, with its default. MedSAM and LiteMedSAM were trained with box prompts only: \
        LiteMedSAM's three-mask outputs give no masks at the defaults (try --single-mask with lower \
        thresholds). A volume slice is generated on as --orientation shows it (default \
        radiological), so every output (records, folder, PNG label map, overlay) is in that \
        layout; a NIfTI label map is on the input's voxel grid.
        """)

    @OptionGroup var inputOptions: InputOptions
    @OptionGroup var displayOptions: DisplayOptions
    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "The masks as a JSON list of records (segmentation, area, bbox, predicted_iou, point_coords, stability_score, crop_box).")
    var outputJson: String

    @Option(help: "Also write segment-anything's amg.py layout into this folder: one PNG per mask (0/255) and metadata.csv.")
    var outputDir: String?

    @Option(help: "Also write one label map (.png, .nii or .nii.gz): mask i is value i+1, smaller masks drawn over larger ones.")
    var labelMap: String?

    @Option(help: "Also draw all masks over the image (.png).")
    var overlay: String?

    @OptionGroup var generatorOptions: EverythingOptions

    @Flag(help: "Overwrite existing output files.")
    var force = false

    @Flag(help: "Print a JSON summary (counts and timings) on standard output.")
    var json = false

    func run() throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let params = try generatorOptions.parameters()
        try checkOutputPath(outputJson, force: force, option: "--output-json")
        if !outputJson.lowercased().hasSuffix(".json") { throw CLIError("--output-json \(outputJson): expected a .json file name") }
        if let l = labelMap {
            try checkOutputPath(l, force: force, option: "--label-map")
            guard EverythingOutputs.labelMapKind(l) != nil else {
                throw CLIError("--label-map \(l): expected a .png, .nii or .nii.gz file name")
            }
        }
        if let o = overlay {
            try checkOutputPath(o, force: force, option: "--overlay")
            if !o.lowercased().hasSuffix(".png") { throw CLIError("--overlay \(o): expected a .png file name") }
        }
        if let d = outputDir { try EverythingOutputs.checkFolder(d, force: force) }

        let (arrayImage, volume) = try inputOptions.image()
        // No user prompts to map: the generator runs on the slice as displayed, so its records,
        // boxes and points are display coordinates as they stand.
        let display = displayOptions.display(volume: volume, axis: inputOptions.axis)
        let image = display.toDisplay(arrayImage)
        let loaded = try modelOptions.load()
        generatorOptions.noteBoxTrainedModel(loaded.kind)
        let backend = try modelOptions.makeBackend()
        let loadMs = millisecondsSince(start)
        let generator: EverythingGenerator
        do {
            generator = try EverythingGenerator(predictor: Predictor(model: loaded.model, backend: backend), parameters: params)
        } catch let error as EverythingError { throw CLIError("\(error)") }
        let masks: [EverythingMask]
        do { masks = try generator.generate(image) } catch let error as EverythingError {
            throw CLIError("\(inputOptions.input): \(error)")
        }

        let outputs = EverythingOutputs(masks: masks, image: image)
        try outputs.writeJSON(to: outputJson, compressed: generatorOptions.rle == .coco)
        if let d = outputDir { try outputs.writeFolder(d) }
        if let l = labelMap {
            try outputs.writeLabelMap(to: l, volume: volume, axis: inputOptions.axis, slice: inputOptions.slice ?? 0,
                                      display: display, source: inputOptions.input)
        }
        if let o = overlay { try outputs.writeOverlay(to: o) }

        let t = generator.lastTimings
        if json {
            try printJSON(EverythingSummary(
                model: loaded.kind.rawValue, backend: backend.info.backend, device: backend.info.name,
                image: [image.height, image.width], masks: masks.count, candidates: t.candidates, passed_iou: t.passedIoU,
                downloaded_bytes: t.downloadedBytes,
                output: outputJson,
                orientation: volume == nil ? DisplayConvention.array.rawValue : displayOptions.orientation.rawValue,
                display: DisplaySummary(display),
                timings_ms: ["load": loadMs, "encoder": t.encoder, "decoder": t.decoder, "measures": t.measures,
                             "filtering": t.filtering, "mask_download": t.maskDownload, "rle": t.rle, "nms": t.nms, "small_regions": t.smallRegions,
                             "generate": t.total, "total": millisecondsSince(start)]))
        } else {
            print("wrote \(outputJson): \(masks.count) masks from \(t.candidates) candidates (\(loaded.kind.rawValue) on "
                  + "\(backend.info.backend): \(backend.info.name), " + String(format: "%.0f ms)", t.total))
        }
    }
}

struct EverythingSummary: Encodable {
    var model: String
    var backend: String
    var device: String
    var image: [Int]
    var masks: Int
    var candidates: Int
    var passed_iou: Int
    /// Bytes the generator brought from the backend to the host (IoUs, measures, surviving masks).
    var downloaded_bytes: Int
    var output: String
    /// The display convention the outputs follow ("array" for a 2-D input).
    var orientation: String
    /// The steps from the array-order slice to that display.
    var display: DisplaySummary
    var timings_ms: [String: Double]
}
