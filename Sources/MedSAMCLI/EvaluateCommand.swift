import ArgumentParser
import Foundation
import MedicalImaging
import Segmentation
import TensorRuntime

/// `medsam evaluate`: the COSMOS and MedSAM evaluation protocols on a labelled dataset
/// (docs/evaluate.md, docs/sam-spec.md §10).
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a model on a labelled dataset under the COSMOS and MedSAM prompt protocols (Dice, NSD, HD95, ASD).",
        discussion: """
        Reads an nnU-Net/MSD dataset (dataset.json, imagesTs/, labelsTs/), a .csv/.jsonl manifest (image, label, id), \
        a folder of 2-D image/label pairs (images/ and labels/, or imgs/ and gts/) or MedSAM .npz files with 'gts'. \
        Every label in every selected slice is prompted in each --modes mode from the ground truth (one encoder run \
        per slice shared by all modes) and scored. Writes per_case.csv, skipped.csv, summary.csv, timings.csv, summary.json and \
        a self-contained report.html into --output-dir.
        """)

    @Option(help: "The dataset: a folder (nnU-Net/MSD, image/label pairs, .npz files), a .csv/.jsonl manifest or one .npz.")
    var dataset: String

    @Option(help: "Dataset layout: auto, nnunet, manifest, png or npz.")
    var format: String = "auto"

    @Option(help: "nnU-Net split: Ts (imagesTs/labelsTs) or Tr.")
    var split: String = "Ts"

    @Option(help: "A JSON file of label names ({\"1\": \"liver\"}), over those of dataset.json.")
    var labels: String?

    @Option(help: "Evaluate only these label ids (comma-separated).")
    var labelIds: String?

    @Option(help: "Folder for the outputs (created if missing).")
    var outputDir: String

    @Option(help: "Prompt modes, comma-separated: point1, point5, point5+5, box, box+point1, box-jitter, box-margin, everything.")
    var modes: String = EvaluationMode.defaults.map(\.description).joined(separator: ",")

    @Option(help: "Mask choices, comma-separated: single (multimask off), best (highest predicted IoU of 3), oracle (highest Dice of 3, COSMOS).")
    var maskChoice: String = MaskChoice.allCases.map(\.rawValue).joined(separator: ",")

    @Option(help: "Seed of the jittered boxes.")
    var seed: UInt64 = 0

    @Option(help: "box-jitter: a random 0...J pixels on each side (MedSAM: 20).")
    var jitter: Int = 20

    @Option(help: "box-margin: a fixed margin in pixels on each side.")
    var margin: Int = 5

    /// `everything`'s generator: `medsam everything`'s options, named `--everything-...`.
    @OptionGroup var generatorOptions: GeneratorOptions<EvaluateGeneratorNames>

    @Option(help: "Skip objects of at most this many pixels in a slice (COSMOS: 50); they are counted in skipped.csv.")
    var minArea: Int = 50

    @Option(help: "How volumes are evaluated, comma-separated: 2d (each selected slice on its own) and/or 3d (per label, a 3-D box from the ground truth propagated through the volume by LiteMedSAM's challenge method, scored in 3-D in mm; box modes only, rows with modes 3d-box, 3d-box-jitter, 3d-box-margin).")
    var dimensions: String = "2d"

    @Option(help: "Slices of a 3-D case per label: all (every slice holding it), largest, or every:K.")
    var slices: String = "all"

    @Option(help: "Slice orientation of 3-D cases: axial, coronal or sagittal.")
    var axis: SliceAxis = .axial

    @Option(help: "NSD tolerance (pixels; mm with --physical-spacing; always mm for 3-D scores).")
    var nsdTolerance: Double = 2

    @Flag(help: "MedSAM's rule: NSD is 0 where Dice <= 0.2.")
    var medsamRules = false

    @Flag(help: "Surface metrics (NSD, HD95, ASD) in mm with the slice's pixel spacing instead of pixels.")
    var physicalSpacing = false

    @Option(parsing: .unconditional, help: "CT window LEVEL,WIDTH for every image (default: the automatic choice; .npz kept as is).")
    var window: String?

    @Option(help: "CT window preset for every image: soft-tissue, lung, bone or brain.")
    var windowPreset: String?

    @Option(help: "Slices per encoder call.")
    var batch: Int = 4

    @Option(help: "Best and worst objects shown as overlays in the report (each).")
    var gallery: Int = 4

    @Flag(help: "Start over: discard the journal of an earlier run in --output-dir (by default its finished cases are reused).")
    var force = false

    @Flag(help: "Print the summary as JSON on standard output.")
    var json = false

    @Flag(help: "No progress lines on standard error.")
    var quiet = false

    @OptionGroup var modelOptions: ModelOptions

    func run() throws {
        let start = DispatchTime.now().uptimeNanoseconds
        guard let fmt = DatasetFormat(rawValue: format.lowercased()) else {
            throw CLIError("--format '\(format)': expected auto, nnunet, manifest, png or npz")
        }
        var options = EvaluationOptions()
        options.modes = try modes.split(separator: ",").map { try EvaluationMode(name: String($0), jitter: jitter, margin: margin) }
        guard !options.modes.isEmpty else { throw CLIError("--modes: name at least one mode") }
        options.maskChoices = try maskChoice.split(separator: ",").map { s in
            guard let c = MaskChoice(rawValue: s.trimmingCharacters(in: .whitespaces)) else {
                throw CLIError("--mask-choice '\(s)': expected single, best or oracle")
            }
            return c
        }
        guard !options.maskChoices.isEmpty else { throw CLIError("--mask-choice: name at least one") }
        guard jitter >= 0, margin >= 0 else { throw CLIError("--jitter and --margin must be 0 or more pixels") }
        guard minArea >= 0 else { throw CLIError("--min-area \(minArea): expected 0 or more pixels") }
        guard nsdTolerance >= 0, nsdTolerance.isFinite else { throw CLIError("--nsd-tolerance \(nsdTolerance): expected 0 or more") }
        guard batch >= 1 else { throw CLIError("--batch \(batch): expected 1 or more") }
        options.seed = seed
        // Checked whatever the modes, as `medsam everything` checks them: a bad value is refused, not ignored.
        options.everything = try generatorOptions.parameters()
        options.minArea = minArea
        options.dimensions = Set(try dimensions.split(separator: ",").map { s in
            guard let d = EvaluationDimension(rawValue: s.trimmingCharacters(in: .whitespaces).lowercased()) else {
                throw CLIError("--dimensions '\(dimensions)': expected 2d, 3d or 2d,3d")
            }
            return d
        })
        guard !options.dimensions.isEmpty else { throw CLIError("--dimensions: name 2d, 3d or both") }
        if options.dimensions.contains(.threeD) && options.modes3D.isEmpty {
            throw CLIError("--dimensions 3d: 3-D evaluation propagates a box; name box, box-jitter or box-margin in --modes (got \(modes))")
        }
        options.slices = try SliceSelection(parsing: slices)
        options.axis = axis
        options.nsdTolerance = nsdTolerance
        options.medsamRules = medsamRules
        options.physicalSpacing = physicalSpacing
        options.batchSize = batch
        options.mapping = try intensityMapping(window: window, windowPreset: windowPreset)
        if let ids = labelIds {
            options.labels = Set(try ids.split(separator: ",").map { s in
                guard let v = Int(s.trimmingCharacters(in: .whitespaces)), v > 0 else {
                    throw CLIError("--label-ids '\(ids)': expected positive label ids separated by commas")
                }
                return v
            })
        }

        var data = try EvaluationDataset.open(dataset, format: fmt, split: split)
        if let path = labels {
            guard let bytes = FileManager.default.contents(atPath: path) else { throw CLIError("--labels \(path): cannot read the file") }
            guard let object = try? JSONSerialization.jsonObject(with: bytes) else { throw CLIError("--labels \(path): not JSON") }
            data.labelNames.merge(try EvaluationDataset.labelNames(json: object, source: path)) { _, new in new }
        }
        try makeOutputFolder(outputDir, option: "--output-dir")

        let loaded = try modelOptions.load()
        if options.dimensions.contains(.threeD) && loaded.model.config.preprocessing != .liteMedSAM {
            throw CLIError("--dimensions 3d follows LiteMedSAM's challenge inference; use --model litemedsam (got \(loaded.kind.rawValue))")
        }
        // What a journal's cases depend on: a rerun with other values starts over rather than mixing scores.
        var fingerprint: [String: String] = [
            "dataset": dataset, "format": data.format.rawValue, "split": split, "model": loaded.kind.rawValue,
            "checkpoint": modelOptions.checkpoint ?? "", "modes": options.modes.map(\.description).joined(separator: ","),
            "mask_choices": options.maskChoices.map(\.rawValue).joined(separator: ","), "seed": String(seed),
            "jitter_px": String(jitter), "margin_px": String(margin), "min_area_px": String(minArea), "slices": slices,
            "axis": axis.rawValue, "nsd_tolerance": String(nsdTolerance), "physical_spacing": String(physicalSpacing),
            "dimensions": EvaluationDimension.allCases.filter(options.dimensions.contains).map(\.rawValue).joined(separator: ","),
            "medsam_rules": String(medsamRules), "label_ids": labelIds ?? "", "window": window ?? "", "window_preset": windowPreset ?? "",
            "everything": options.everything.summary]
        fingerprint["label_names"] = data.labelNames.keys.sorted().map { "\($0)=\(data.labelNames[$0]!)" }.joined(separator: ";")
        let journal = try EvaluationJournal(directory: outputDir, settings: fingerprint, fresh: force)
        let backend = try modelOptions.makeBackend()
        let predictor = Predictor(model: loaded.model, backend: backend)
        let evaluator = Evaluator(predictor: predictor, options: options)
        let collector = GalleryCollector(count: gallery, maskChoice: options.maskChoices[0])
        evaluator.gallery = { collector.offer($0) }

        var rows: [EvaluationRow] = []
        var skips: [EvaluationSkip] = []
        var failed: [String: String] = [:]
        var encoded = 0
        var timings = ["read": 0.0, "encode": 0.0, "decode": 0.0]
        var caseTimings: [EvaluationCaseTiming] = []
        var reusedIDs = Set<String>()
        for (i, c) in data.cases.enumerated() {
            if let j = journal.done[c.id] {
                rows += j.rows ?? []
                skips += j.skips ?? []
                encoded += j.encodedSlices ?? 0
                for (k, v) in j.timingsMilliseconds ?? [:] where timings[k] != nil { timings[k]! += v }
                let t = j.timingsMilliseconds ?? [:]
                caseTimings.append(EvaluationCaseTiming(caseID: c.id, status: .reused, encodedSlices: j.encodedSlices ?? 0,
                                                        scores: j.rows?.count ?? 0, readMilliseconds: t["read"] ?? 0,
                                                        encodeMilliseconds: t["encode"] ?? 0, decodeMilliseconds: t["decode"] ?? 0))
                reusedIDs.insert(c.id)
                continue
            }
            do {
                let r = try evaluator.evaluate(c, names: data.labelNames)
                try journal.append(JournalCase(r))
                rows += r.rows
                skips += r.skips
                encoded += r.encodedSlices
                timings["read"]! += r.readMilliseconds
                timings["encode"]! += r.encodeMilliseconds
                timings["decode"]! += r.decodeMilliseconds
                caseTimings.append(EvaluationCaseTiming(caseID: c.id, status: .evaluated, encodedSlices: r.encodedSlices, scores: r.rows.count,
                                                        readMilliseconds: r.readMilliseconds, encodeMilliseconds: r.encodeMilliseconds,
                                                        decodeMilliseconds: r.decodeMilliseconds))
                if !quiet {
                    FileHandle.standardError.write(Data("evaluate: \(i + 1)/\(data.cases.count) \(c.id): \(r.encodedSlices) slices, \(r.rows.count) scores, \(r.skips.count) skipped\n".utf8))
                }
            } catch let e as EvaluationError where e.description.hasPrefix(journal.path) {
                throw e
            } catch {
                failed[c.id] = "\(error)"
                caseTimings.append(EvaluationCaseTiming(caseID: c.id, status: .failed))
                try journal.append(JournalCase(caseID: c.id, error: "\(error)"))
                if !quiet { FileHandle.standardError.write(Data("evaluate: \(i + 1)/\(data.cases.count) \(c.id): failed: \(error)\n".utf8)) }
            }
        }
        // Cases taken from the journal were not drawn. Those holding an object of the gallery a
        // fresh run would show are evaluated again (at most 2 x --gallery cases; evaluation is
        // deterministic, so their rows are the journal's) and the gallery rebuilt in the dataset's
        // order, so a resumed run's report shows the same objects as a fresh one.
        var galleryCollector = collector
        let wanted = GalleryCollector.selection(of: rows, count: gallery, maskChoice: options.maskChoices[0])
        let redraw = Set(wanted.map { rows[$0].caseID }).intersection(reusedIDs)
        if !redraw.isEmpty {
            var items = collector.best + collector.worst
            evaluator.gallery = { items.append($0) }
            for c in data.cases where redraw.contains(c.id) {
                _ = try? evaluator.evaluate(c, names: data.labelNames)
            }
            let rebuilt = GalleryCollector(count: gallery, maskChoice: options.maskChoices[0])
            var offered = Set<Int>()
            for i in wanted.sorted() {
                if let item = items.first(where: { $0.row == rows[i] }), offered.insert(i).inserted { rebuilt.offer(item) }
            }
            galleryCollector = rebuilt
        }
        let wall = millisecondsSince(start)
        timings["total"] = wall
        // Timings of reused cases are their first run's; the wall time is this run's alone.
        timings["per_encoded_slice"] = encoded > 0 ? (timings["read"]! + timings["encode"]! + timings["decode"]!) / Double(encoded) : 0
        var settings: [String: String] = [
            "dataset": dataset, "format": data.format.rawValue, "model": loaded.kind.rawValue,
            "backend": "\(backend.info.backend) (\(backend.info.name))",
            "modes": options.modes.map(\.description).joined(separator: ","), "mask_choices": options.maskChoices.map(\.rawValue).joined(separator: ","),
            "seed": String(seed), "jitter_px": String(jitter), "margin_px": String(margin), "min_area_px": String(minArea),
            "slices": slices, "axis": axis.rawValue, "nsd_tolerance": String(nsdTolerance) + (physicalSpacing ? " mm" : " px")
                + (options.dimensions.contains(.threeD) ? " (3-D: mm)" : ""),
            "dimensions": EvaluationDimension.allCases.filter(options.dimensions.contains).map(\.rawValue).joined(separator: ","),
            "medsam_rules": String(medsamRules), "encoded_slices": String(encoded),
            "reused_from_journal": "\(reusedIDs.count) cases"]
        // The generator's settings decide which masks an object can be matched to: shown with the scores.
        if options.modes.contains(.everything) { settings["everything"] = fingerprint["everything"] }
        let summary = EvaluationSummary(rows: rows, skips: skips, modes: options.modeNames, choices: options.maskChoices,
                                        cases: data.cases.count, failedCases: failed, settings: settings)
        let html = try EvaluationReport.html(summary: summary, rows: rows, gallery: galleryCollector,
                                             title: "medsam evaluate: \((dataset as NSString).lastPathComponent)")
        try EvaluationOutput.write(to: outputDir, rows: rows, skips: skips, summary: summary, timings: timings,
                                   caseTimings: caseTimings, html: html)

        if json {
            FileHandle.standardOutput.write(try EvaluationOutput.summaryJSON(summary, timings: timings))
            print("")
        } else {
            print("label\tmode\tmask\tn\tdice_mean\tdice_median\tnsd_mean")
            for g in summary.groups {
                print("\(g.name)\t\(g.mode)\t\(g.maskChoice)\t\(g.dice.n)\t" + String(format: "%.4f\t%.4f\t%.4f", g.dice.mean, g.dice.median, g.nsd.mean))
            }
            print(String(format: "evaluate: %d cases (%d failed, %d reused from the journal), %d slices encoded, %d scores, %d skipped; %.1f ms per slice; outputs in %@",
                         data.cases.count, failed.count, reusedIDs.count, encoded, rows.count, skips.count, timings["per_encoded_slice"]!, outputDir))
        }
        if !failed.isEmpty {
            let first = failed.keys.sorted()[0]
            throw CLIError("\(failed.count) of \(data.cases.count) cases failed (first: \(first): \(failed[first]!)); the outputs cover the others")
        }
    }
}
