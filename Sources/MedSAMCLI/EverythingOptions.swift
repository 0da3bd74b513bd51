import ArgumentParser
import Foundation
import SAMModels
import Segmentation

/// How a command names the generator's options: `medsam everything` and `medsam batch` by
/// segment-anything's parameter names (`--crop-n-layers`), `medsam evaluate` with the prefix
/// `everything-` (`--everything-crop-n-layers`), so its prompt modes' options stay apart.
protocol GeneratorOptionNames {
    /// The long option name of a generator parameter given by its `medsam everything` name.
    static func long(_ name: String) -> String
    /// Put before every help text.
    static var helpPrefix: String { get }
}

/// segment-anything's parameter names, as `medsam everything` and `medsam batch --everything` take them.
enum PlainGeneratorNames: GeneratorOptionNames {
    static func long(_ name: String) -> String { name }
    static let helpPrefix = ""
}

/// `medsam evaluate`'s names: `everything-` and the `medsam everything` name, but for the three
/// options its first version named shorter (kept so that existing command lines still run).
enum EvaluateGeneratorNames: GeneratorOptionNames {
    static let shorter = ["points-per-side": "points", "stability-score-thresh": "stability-thresh",
                          "stability-score-offset": "stability-offset"]
    static func long(_ name: String) -> String { "everything-" + (shorter[name] ?? name) }
    static let helpPrefix = "everything: "
}

/// The automatic mask generator's numeric parameters and its single-mask switch
/// (segment-anything's `SamAutomaticMaskGenerator` arguments, with `EverythingParameters`'
/// defaults), declared, parsed and checked here once for every command that runs the generator;
/// `Names` gives the options' names.
///
/// The numeric options parse `.unconditional`ly: a value after a space may start with "-"
/// (`--stability-score-thresh -0.1`) and reaches the range check, which names the parameter.
struct GeneratorOptions<Names: GeneratorOptionNames>: ParsableArguments {
    private static var defaults: EverythingParameters { EverythingParameters() }

    @Option(name: .customLong(Names.long("points-per-side")), parsing: .unconditional,
            help: ArgumentHelp(Names.helpPrefix + "Points a side of the prompt grid (of the whole image; layer i has this / factor^i)."))
    var pointsPerSide: Int = Self.defaults.pointsPerSide

    @Option(name: .customLong(Names.long("points-per-batch")), parsing: .unconditional,
            help: ArgumentHelp(Names.helpPrefix + "Points decoded together."))
    var pointsPerBatch: Int = Self.defaults.pointsPerBatch

    @Option(name: .customLong(Names.long("pred-iou-thresh")), parsing: .unconditional,
            help: ArgumentHelp(Names.helpPrefix + "Keep masks whose predicted IoU is above this (0...1; 0 keeps all)."))
    var predIouThresh: Double = Self.defaults.predIoUThresh

    @Option(name: .customLong(Names.long("stability-score-thresh")), parsing: .unconditional,
            help: ArgumentHelp(Names.helpPrefix + "Keep masks whose stability score is at least this (0...1; 0 keeps all)."))
    var stabilityScoreThresh: Double = Self.defaults.stabilityScoreThresh

    @Option(name: .customLong(Names.long("stability-score-offset")), parsing: .unconditional,
            help: ArgumentHelp(Names.helpPrefix + "How far the stability score's logit cut-offs lie from 0 (segment-anything's lite setting: 0.5)."))
    var stabilityScoreOffset: Double = Self.defaults.stabilityScoreOffset

    @Option(name: .customLong(Names.long("box-nms-thresh")), parsing: .unconditional,
            help: ArgumentHelp(Names.helpPrefix + "Box IoU above which NMS drops a mask within a crop (0...1)."))
    var boxNmsThresh: Double = Self.defaults.boxNMSThresh

    @Option(name: .customLong(Names.long("crop-n-layers")), parsing: .unconditional,
            help: ArgumentHelp(Names.helpPrefix + "Crop layers beyond the whole image (layer i: 2^i x 2^i crops, each encoded on its own; 0...10)."))
    var cropNLayers: Int = Self.defaults.cropNLayers

    @Option(name: .customLong(Names.long("crop-nms-thresh")), parsing: .unconditional,
            help: ArgumentHelp(Names.helpPrefix + "Box IoU above which NMS across crops drops a mask; masks of smaller crops win (0...1)."))
    var cropNmsThresh: Double = Self.defaults.cropNMSThresh

    @Option(name: .customLong(Names.long("crop-overlap-ratio")), parsing: .unconditional,
            help: ArgumentHelp(Names.helpPrefix + "Overlap of neighbouring crops as a fraction of the image's short side (0...1; default 512/1500)."))
    var cropOverlapRatio: Double = Self.defaults.cropOverlapRatio

    @Option(name: .customLong(Names.long("crop-n-points-downscale-factor")), parsing: .unconditional,
            help: ArgumentHelp(Names.helpPrefix + "Layer i's grid has points-per-side / factor^i points a side (1 or more)."))
    var cropNPointsDownscaleFactor: Int = Self.defaults.cropNPointsDownscaleFactor

    @Option(name: .customLong(Names.long("min-mask-region-area")), parsing: .unconditional,
            help: ArgumentHelp(Names.helpPrefix + "Remove holes and islands smaller than this many pixels (8-connectivity; 0: off)."))
    var minMaskRegionArea: Int = Self.defaults.minMaskRegionArea

    @Flag(name: .customLong(Names.long("single-mask")),
          help: ArgumentHelp(Names.helpPrefix + "One mask per point (the decoder's single-mask output) instead of three; not a reference option, for box-trained models such as LiteMedSAM."))
    var singleMask = false

    /// The parameters these options give, before any check.
    func unchecked() -> EverythingParameters {
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
        return p
    }

    /// `p` checked (ranges, grids of at least one point), with the one `error:` message every
    /// command gives for a bad value.
    static func checked(_ p: EverythingParameters) throws -> EverythingParameters {
        do { try p.validate() } catch let error as EverythingError { throw CLIError("\(error)") }
        return p
    }

    /// The checked parameters.
    func parameters() throws -> EverythingParameters { try Self.checked(unchecked()) }
}

/// The automatic mask generator's parameters (segment-anything's `SamAutomaticMaskGenerator`
/// arguments, with its defaults) and the records' RLE form: shared by `medsam everything` and
/// `medsam batch --everything`, so a batch case is generated exactly as the command would.
struct EverythingOptions: ParsableArguments {
    @Option(help: "RLE of `segmentation` in the JSON: coco (compressed string counts, as amg.py --convert-to-rle) or uncompressed.")
    var rle: RLEKind = .coco

    @Option(help: "A JSON file with explicit grids instead of --points-per-side: one list of [x, y] in 0...1 per crop layer.")
    var pointGrid: String?

    @OptionGroup var generator: GeneratorOptions<PlainGeneratorNames>

    var singleMask: Bool { generator.singleMask }

    enum RLEKind: String, ExpressibleByArgument { case coco, uncompressed }

    func parameters() throws -> EverythingParameters {
        var p = generator.unchecked()
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
        return try GeneratorOptions<PlainGeneratorNames>.checked(p)
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
