import ArgumentParser
import Foundation
import MedicalImaging
import Segmentation
import TensorRuntime

/// `medsam batch`: many cases through one model load, resumable from a journal, shardable.
struct Batch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Segment a cohort: folders, globs or a manifest of cases through one model load, resumable and sharded.",
        subcommands: [BatchRun.self, BatchMerge.self],
        defaultSubcommand: BatchRun.self)
}

struct BatchRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a batch (the default: `medsam batch --input ...` is `medsam batch run --input ...`).",
        discussion: """
        Cases come from --input (files, folders, glob patterns) and/or --manifest (.csv with a header, or .jsonl: \
        fields input, output, slice, slices, axis, box, point, labels). A MedSAM challenge .npz without other \
        prompts is segmented by the challenge's LiteMedSAM method into an .npz of the same name with 'segs'. \
        A journal (JSONL, one line per finished case) makes a rerun skip finished cases; failed cases are \
        recorded and the batch goes on, and the exit status is non-zero if any case failed. With --everything, \
        cases without prompts run SAM's automatic mask generator on their one slice (the options of `medsam \
        everything`) and write its records as OUTPUT.json beside the label map OUTPUT (.png, .nii or .nii.gz), \
        byte for byte what `medsam everything --output-json --label-map` writes.
        """)

    @Option(name: .customLong("input"), help: "An image, volume, DICOM series folder, folder of images or glob pattern (repeatable).")
    var inputs: [String] = []

    @Option(help: "A manifest of cases (.csv with a header row, or .jsonl).")
    var manifest: String?

    @Option(help: "Folder for outputs (created if missing) and, by default, the journal.")
    var outputDir: String

    @Option(help: "Output format for cases without an output path: png, npy, nii or nii.gz (default: png for one slice, nii.gz for more).")
    var format: String?

    @Option(help: "Slice index of 3-D inputs (along --axis).")
    var slice: Int?

    @Option(help: "Slices A-B (inclusive) or 'all' of 3-D inputs (one label map per volume).")
    var slices: String?

    @Option(help: "Which slices of a volume: axial (across k), coronal (j) or sagittal (i); --orientation lays them out.")
    var axis: String?

    @Option(name: .customLong("box"), help: "A box prompt X0,Y0,X1,Y1 for every case without its own (repeatable).")
    var boxes: [String] = []

    @Option(name: .customLong("point"), help: "A point X,Y[,L] for every case without its own (repeatable).")
    var points: [String] = []

    @Flag(help: "Everything mode for the cases without prompts of their own (one slice each): records .json and a label map per case.")
    var everything = false

    @OptionGroup var generatorOptions: EverythingOptions

    @Option(help: "Folder of label maps named like the inputs: one tight box per label and slice.")
    var boxesFromLabels: String?

    @Option(help: "Pixels added on each side of a box from labels (default 0).")
    var boxMargin: Int?

    @Option(help: "A random margin of 0...M pixels on each side of a box from labels (MedSAM: 20), seeded by --seed.")
    var boxMarginRandom: Int?

    @Option(help: "Seed of the random box margin.")
    var seed: UInt64 = 0

    @Option(help: "CT window LEVEL,WIDTH in Hounsfield units for every input (default: the automatic choice per input).")
    var window: String?

    @Option(help: "CT window preset for every input: soft-tissue, lung, bone or brain.")
    var windowPreset: String?

    @OptionGroup var displayOptions: DisplayOptions
    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Images per encoder call.")
    var batch: Int = 4

    @Option(help: "Reader threads (decode and preprocess).")
    var readers: Int = 2

    @Option(help: "Writer threads (encode and write outputs).")
    var writers: Int = 1

    @Option(help: "Also write each encoded image's embedding to this folder (created if missing), as `medsam embed` writes it and `segment --embedding` reads it: OUTPUT_NAME.embedding.npy, OUTPUT_NAME.<axis><K>.embedding.npy for each slice of a multi-slice case.")
    var saveEmbeddings: String?

    @Option(help: "Journal file (default: OUTPUT_DIR/medsam-batch.jsonl, or medsam-batch.shard-K-of-N.jsonl).")
    var journal: String?

    @Flag(help: "Redo cases the journal records as failed.")
    var retryFailed = false

    @Flag(help: "Redo every case, whatever the journal says.")
    var force = false

    @Option(help: "Split the batch into N shards (sorted cases, every N-th); default from SLURM_ARRAY_TASK_COUNT.")
    var numShards: Int?

    @Option(help: "This process's shard, 0...N-1; default from SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN.")
    var shardId: Int?

    @Option(help: "Progress on standard error: auto (a bar on a terminal, lines otherwise), bar, lines or none.")
    var progress: String = "auto"

    @Flag(help: "Print this shard's case ids (and what the journal says of them) and exit without loading a model.")
    var list = false

    @Flag(help: "Print the summary as JSON on standard output.")
    var json = false

    func run() throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let cases = try planCases()
        let shard = try Shard.resolve(index: shardId, count: numShards, environment: ProcessInfo.processInfo.environment)
        let mine = shard.select(cases)
        let journalPath = journal ?? (outputDir as NSString).appendingPathComponent(shard.journalName)
        let previous = try BatchJournal.read(path: journalPath)
        let plan = ResumePlan(cases: mine, journal: BatchJournal.latest(previous.entries), force: force, retryFailed: retryFailed)
        if list {
            let done = Set(plan.done.map(\.id)), failed = Set(plan.failed.map(\.0.id))
            for c in mine { print("\(done.contains(c.id) ? "done" : failed.contains(c.id) ? "failed" : "todo")\t\(c.id)\t\(c.output)") }
            return
        }
        guard let mode = progress == "auto" ? BatchProgress.Mode.automatic() : BatchProgress.Mode(rawValue: progress) else {
            throw CLIError("--progress '\(progress)': expected auto, bar, lines or none")
        }
        guard batch >= 1, readers >= 1, writers >= 1 else { throw CLIError("--batch, --readers and --writers must be 1 or more") }

        let loaded = try modelOptions.load()
        if everything { generatorOptions.noteBoxTrainedModel(loaded.kind) }
        let backend = try modelOptions.makeBackend()
        let predictor = Predictor(model: loaded.model, backend: backend)
        let journalFile = try BatchJournal(path: journalPath)
        var run = JournalEntry(kind: "run")
        run.shard = shard.index
        run.shards = shard.count
        run.cases = mine.count
        run.total = cases.count
        run.backend = backend.info.backend
        run.device = backend.info.name
        run.started = ISO8601DateFormatter().string(from: Date())
        try journalFile.append(run)

        var options = BatchOptions()
        options.batchSize = batch
        options.readers = readers
        options.writers = writers
        options.mapping = try mapping()
        options.display = displayOptions.orientation
        if let dir = saveEmbeddings { options.embeddings = EmbeddingFiles(directory: dir) }
        if everything {
            options.everything = try generatorOptions.parameters()
            options.everythingCompressedRLE = generatorOptions.rle == .coco
        }
        let runner = BatchRunner(predictor: predictor, options: options, journal: journalFile,
                                 progress: BatchProgress(total: plan.toRun.count, mode: mode))
        let stats = runner.run(plan.toRun)

        let wall = millisecondsSince(start) / 1000
        let failures = plan.failed.map { BatchFailure(id: $0.0.id, error: $0.1.error ?? "") } + stats.failures
        let summary = BatchSummary(cases: mine.count, done: stats.done, skipped: plan.done.count, failed: failures.count,
                                   images: stats.images, prompts: stats.prompts, wall_s: wall,
                                   images_per_s: wall > 0 ? Double(stats.images) / wall : 0,
                                   prompts_per_s: wall > 0 ? Double(stats.prompts) / wall : 0,
                                   peak_rss_mb: Double(ProcessMemory.peakResidentBytes()) / 1_048_576,
                                   model: loaded.kind.rawValue, backend: backend.info.backend, device: backend.info.name,
                                   journal: journalPath, shard: shard.index, shards: shard.count, failures: failures)
        if json {
            try printJSON(summary)
        } else {
            print("batch: \(stats.done) done, \(plan.done.count) skipped (done before), \(failures.count) failed of \(mine.count) cases"
                  + (shard.count > 1 ? " (shard \(shard.index) of \(shard.count))" : "")
                  + String(format: "; %d images, %.2f images/s, %.2f prompts/s; journal %@", stats.images,
                           summary.images_per_s, summary.prompts_per_s, journalPath))
        }
        if !failures.isEmpty {
            throw CLIError("\(failures.count) of \(mine.count) cases failed (first: \(failures[0].id): \(failures[0].error)); see the journal \(journalPath)")
        }
    }

    /// Every case of the batch, sorted by id, from the manifest and the inputs.
    private func planCases() throws -> [BatchCase] {
        var defaults = CaseDefaults(outputDirectory: outputDir)
        if let f = format {
            switch f.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: ".")) {
            case "png": defaults.format = .png
            case "npy": defaults.format = .npy
            case "nii", "nii.gz", "nifti": defaults.format = .nifti
            default: throw CLIError("--format '\(f)': expected png, npy, nii or nii.gz")
            }
        }
        let origin = "command line"
        if let s = try PromptParsing.selection(slice: slice.map(String.init), slices: slices, axis: axis, origin: origin) {
            defaults.selection = s
        }
        let parsedBoxes = try boxes.map { try PromptParsing.box($0, origin: origin, field: "--box") }
        let parsedPoints = try points.map { try PromptParsing.point($0, origin: origin, field: "--point") }
        if let p = try PromptParsing.prompts(boxes: parsedBoxes, points: parsedPoints, origin: origin) {
            defaults.prompts = .explicit(p)
        }
        if everything && saveEmbeddings != nil {
            throw CLIError("--save-embeddings is not for --everything: the generator runs the encoder on crops, not on the case's image")
        }
        if everything {
            guard defaults.prompts == nil && boxesFromLabels == nil else {
                throw CLIError("--everything generates masks without prompts: give it without --box, --point or --boxes-from-labels")
            }
            // Checked before any case is planned or model loaded, as `medsam everything` does.
            _ = try generatorOptions.parameters()
            defaults.prompts = .everything
        }
        if boxMargin != nil && boxMarginRandom != nil { throw CLIError("give --box-margin or --box-margin-random, not both") }
        if let m = boxMargin {
            guard m >= 0 else { throw CLIError("--box-margin \(m): expected 0 or more pixels") }
            defaults.margin = .fixed(m)
        }
        if let m = boxMarginRandom {
            guard m >= 0 else { throw CLIError("--box-margin-random \(m): expected 0 or more pixels") }
            defaults.margin = .random(max: m, seed: seed)
        }
        if let dir = boxesFromLabels {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
                throw CLIError("--boxes-from-labels \(dir): not a folder (expected label maps named like the inputs)")
            }
            defaults.labelsDirectory = dir
        }
        guard manifest != nil || !inputs.isEmpty else { throw CLIError("give --input PATH (repeatable) or --manifest FILE") }
        try makeOutputFolder(outputDir, option: "--output-dir")
        if let dir = saveEmbeddings { try makeOutputFolder(dir, option: "--save-embeddings") }
        var cases: [BatchCase] = []
        if let m = manifest { cases += try Manifest.read(path: m, defaults: defaults) }
        for input in try InputExpansion.expand(inputs) {
            cases.append(try CasePlanner.make(input: input, selection: nil, prompts: nil, labels: nil, output: nil,
                                              defaults: defaults, origin: "--input \(input)"))
        }
        let checked = try CasePlanner.check(cases)
        if saveEmbeddings != nil { try EmbeddingFiles.checkNames(checked) }
        return checked
    }


    private func mapping() throws -> IntensityMapping? { try intensityMapping(window: window, windowPreset: windowPreset) }
}

/// `medsam batch merge`: the shards' journals as one account of the batch.
struct BatchMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine shards' journals into one summary; checks every case is in exactly one journal and the shards add up.")

    @Argument(help: "Journals of the shards (medsam-batch.shard-K-of-N.jsonl).")
    var journals: [String]

    @Flag(help: "Print the summary as JSON on standard output.")
    var json = false

    func run() throws {
        let m = try MergeSummary.merge(paths: journals)
        if json {
            try printJSON(m)
        } else {
            print("merged \(m.journals.count) journals (\(m.shards) shards): \(m.done) done, \(m.failed) failed of \(m.total) cases; \(m.images) images, \(m.prompts) prompts")
        }
        if m.failed > 0 {
            throw CLIError("\(m.failed) of \(m.total) cases failed (first: \(m.failures[0].id): \(m.failures[0].error))")
        }
    }
}
