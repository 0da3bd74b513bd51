import ArgumentParser
import Foundation
import SAMModels
import Segmentation

/// The automatic mask generator's parameters (segment-anything's `SamAutomaticMaskGenerator`
/// arguments, with its defaults) and the records' RLE form: shared by `medsam everything` and
/// `medsam batch --everything`, so a batch case is generated exactly as the command would.
///
/// The numeric options parse `.unconditional`ly: a value after a space may start with "-"
/// (`--stability-score-thresh -0.1`) and reaches the range check, which names the parameter.
struct EverythingOptions: ParsableArguments {
    @Option(help: "RLE of `segmentation` in the JSON: coco (compressed string counts, as amg.py --convert-to-rle) or uncompressed.")
    var rle: RLEKind = .coco

    @Option(parsing: .unconditional, help: "Points a side of the prompt grid (of the whole image; layer i has this / factor^i).")
    var pointsPerSide: Int = 32

    @Option(help: "A JSON file with explicit grids instead of --points-per-side: one list of [x, y] in 0...1 per crop layer.")
    var pointGrid: String?

    @Option(parsing: .unconditional, help: "Points decoded together.")
    var pointsPerBatch: Int = 64

    @Option(parsing: .unconditional, help: "Keep masks whose predicted IoU is above this (0...1; 0 keeps all).")
    var predIouThresh: Double = 0.88

    @Option(parsing: .unconditional, help: "Keep masks whose stability score is at least this (0...1; 0 keeps all).")
    var stabilityScoreThresh: Double = 0.95

    @Option(parsing: .unconditional, help: "How far the stability score's logit cut-offs lie from 0.")
    var stabilityScoreOffset: Double = 1.0

    @Option(parsing: .unconditional, help: "Box IoU above which NMS drops a mask within a crop (0...1).")
    var boxNmsThresh: Double = 0.7

    @Option(parsing: .unconditional, help: "Crop layers beyond the whole image (layer i: 2^i x 2^i crops, each encoded on its own).")
    var cropNLayers: Int = 0

    @Option(parsing: .unconditional, help: "Box IoU above which NMS across crops drops a mask; masks of smaller crops win (0...1).")
    var cropNmsThresh: Double = 0.7

    @Option(parsing: .unconditional, help: "Overlap of neighbouring crops as a fraction of the image's short side (0...1; default 512/1500).")
    var cropOverlapRatio: Double = 512.0 / 1500.0

    @Option(parsing: .unconditional, help: "Layer i's grid has points-per-side / factor^i points a side.")
    var cropNPointsDownscaleFactor: Int = 1

    @Option(parsing: .unconditional, help: "Remove holes and islands smaller than this many pixels (8-connectivity; 0: off).")
    var minMaskRegionArea: Int = 0

    @Flag(help: "One mask per point (the decoder's single-mask output) instead of three; not a reference option, for box-trained models.")
    var singleMask = false

    enum RLEKind: String, ExpressibleByArgument { case coco, uncompressed }

    func parameters() throws -> EverythingParameters {
        var p = EverythingParameters()
        p.pointsPerSide = pointsPerSide
        p.pointsPerBatch = pointsPerBatch
        p.predIoUThresh = predIouThresh
        p.stabilityScoreThresh = stabilityScoreThresh
        p.stabilityScoreOffset = stabilityScoreOffset
        p.boxNMSThresh = boxNmsThresh
        p.cropNLayers = cropNLayers
        p.cropNMSThresh = cropNmsThresh
        p.cropOverlapRatio = cropOverlapRatio
        p.cropNPointsDownscaleFactor = cropNPointsDownscaleFactor
        p.minMaskRegionArea = minMaskRegionArea
        p.multimaskOutput = !singleMask
        if let path = pointGrid {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw CLIError("--point-grid \(path): cannot be read (\(error.localizedDescription))")
            }
            guard let grids = try? JSONDecoder().decode([[[Double]]].self, from: data) else {
                throw CLIError("--point-grid \(path): expected JSON [[[x, y], ...], ...], one list of points per crop layer")
            }
            p.pointGrids = grids
        }
        do { try p.validate() } catch let error as EverythingError { throw CLIError("\(error)") }
        return p
    }

    /// MedSAM and LiteMedSAM were trained with boxes only: say so on standard error.
    func noteBoxTrainedModel(_ kind: ModelKind) {
        if kind == .medsam || kind == .litemedsam {
            FileHandle.standardError.write(("note: \(kind.rawValue) was trained with box prompts only; SAM's automatic "
                + "mask generator prompts with single points (the COSMOS study measured Everything mode with SAM ViT-B/H)"
                + (kind == .litemedsam && !singleMask ? "; LiteMedSAM's three-mask outputs are near zero, so expect few or no masks (see --single-mask)" : "")
                + "\n").data(using: .utf8)!)
        }
    }
}
