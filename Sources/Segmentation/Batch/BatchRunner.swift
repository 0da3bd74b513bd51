import Foundation
import MedicalImaging
import TensorRuntime

/// How a batch runs: encoder batch size, reader and writer threads, intensity mapping.
public struct BatchOptions: Sendable {
    /// Images per encoder call.
    public var batchSize = 4
    /// Threads that decode and preprocess inputs.
    public var readers = 2
    /// Threads that encode and write outputs and the journal.
    public var writers = 1
    /// The intensity mapping for every input (nil: the automatic choice per input, as `medsam segment` makes it).
    public var mapping: IntensityMapping?
    /// How volume slices are laid out for explicit prompts and one-slice PNG/NPY outputs
    /// (``SliceOrientation``; NIfTI outputs and label-map boxes stay on the voxel grid).
    /// `.array` by default for library callers; `medsam batch` passes its `--orientation`.
    public var display: DisplayConvention = .array
    /// The automatic mask generator's parameters for Everything cases (prompts `.everything`).
    public var everything = EverythingParameters()
    /// Everything records' `segmentation` as COCO's compressed strings (else uncompressed runs).
    public var everythingCompressedRLE = true
    /// Where each encoded image's embedding is written (`--save-embeddings`), or nil. Cases must
    /// pass ``EmbeddingFiles/checkNames(_:)``.
    public var embeddings: EmbeddingFiles?

    public init() {}
}

/// What a run did, for the summary.
public struct BatchRunStats: Sendable {
    public var done = 0
    public var failed = 0
    public var images = 0
    public var prompts = 0
    /// Failed cases' ids and errors, in the order they finished.
    public var failures: [BatchFailure] = []
}

/// A failed case in the summary.
public struct BatchFailure: Codable, Equatable, Sendable {
    public var id: String
    public var error: String
    public init(id: String, error: String) { self.id = id; self.error = error }
}

/// One image's masks, on their way from the decoder to a writer.
struct ImageResult {
    var job: ImageJob
    /// `H x W` label map (prompt i, or its label value, later prompts over earlier ones).
    var labels: [UInt8] = []
    /// `P x H x W` masks (0/1), kept only for `.npy` outputs.
    var masks: [Float] = []
    var areas: [Int] = []
    var ious: [Float] = []
    /// An Everything case's masks, and the number of grid points decoded for them.
    var everything: EverythingOutputs?
    var everythingPoints = 0
    /// The image's embedding on the host, when `BatchOptions.embeddings` asks for it.
    var embedding: Tensor?
    var encodeMilliseconds: Double = 0
    var decodeMilliseconds: Double = 0
    var error: String?
}

/// The pipeline: reader threads decode and preprocess cases, this thread runs the encoder on
/// batches of images and the decoder on all prompts of an image at once, writer threads write
/// outputs (temporary file, then rename) and then the journal line. Bounded queues sit between
/// the stages, so memory does not grow with the number of cases and the encoder is fed while
/// files are read and written. A case that fails is recorded and the batch goes on.
public final class BatchRunner {
    enum ComputeItem {
        case image(ImageJob)
        case challenge(CaseAssembly)
        /// The reader gave up on a case; `missing` of its images will never come.
        case failed(CaseAssembly, String, missing: Int)
    }

    enum WriteItem {
        case image(ImageResult)
        case whole(CaseAssembly)
        case failed(CaseAssembly, String, missing: Int)
    }

    let predictor: Predictor
    let options: BatchOptions
    let journal: BatchJournal?
    let progress: BatchProgress?
    private var stats = BatchRunStats()
    /// Made on the compute thread by the first Everything case (it replaces the predictor's
    /// embedding, which every other image sets again before decoding).
    private var everythingGenerator: EverythingGenerator?
    private let statsLock = NSLock()
    private let assemblyLock = NSLock()

    public init(predictor: Predictor, options: BatchOptions, journal: BatchJournal?, progress: BatchProgress?) {
        self.predictor = predictor
        self.options = options
        self.journal = journal
        self.progress = progress
    }

    /// Runs `cases` (one model, this thread for the model) and returns what happened.
    public func run(_ cases: [BatchCase]) -> BatchRunStats {
        MaskOutput.removeStaleTemporaries(of: cases.flatMap(\.outputs))
        options.embeddings?.removeStaleTemporaries(of: cases)
        let batch = max(options.batchSize, 1)
        let readers = max(1, min(options.readers, max(cases.count, 1)))
        let computeQueue = BoundedQueue<ComputeItem>(capacity: max(2 * batch, 4), producers: readers)
        let writeQueue = BoundedQueue<WriteItem>(capacity: max(batch, 4), producers: 1)
        let group = DispatchGroup()

        var next = 0
        let nextLock = NSLock()
        for _ in 0..<readers {
            group.enter()
            spawn {
                while true {
                    nextLock.lock()
                    let i = next
                    next += 1
                    nextLock.unlock()
                    guard i < cases.count else { break }
                    self.read(cases[i], index: i, into: computeQueue)
                }
                computeQueue.close()
                group.leave()
            }
        }
        for _ in 0..<max(options.writers, 1) {
            group.enter()
            spawn {
                while let item = writeQueue.pop() { self.collect(item) }
                group.leave()
            }
        }
        while true {
            let items = computeQueue.popBatch(max: batch)
            if items.isEmpty { break }
            var jobs: [ImageJob] = []
            for item in items {
                switch item {
                case .image(let job):
                    if job.assembly.batchCase.prompts == .everything {
                        writeQueue.push(.image(everything(job)))
                    } else if job.prompts.isEmpty {
                        // A slice without prompts (no label on it): an empty mask, no encoder run.
                        let a = job.assembly
                        writeQueue.push(.image(ImageResult(job: job, labels: [UInt8](repeating: 0, count: a.height * a.width))))
                    } else {
                        jobs.append(job)
                    }
                case .challenge(let a):
                    do {
                        a.challengeResult = try ChallengeInference.run(a.challenge!, origin: a.batchCase.origin,
                                                                       predictor: predictor, batch: batch)
                    } catch {
                        a.error = "\(error)"
                    }
                    a.challenge = nil
                    writeQueue.push(.whole(a))
                case .failed(let a, let message, let missing):
                    writeQueue.push(.failed(a, message, missing: missing))
                }
            }
            for r in infer(jobs) { writeQueue.push(.image(r)) }
        }
        writeQueue.close()
        group.wait()
        return stats
    }

    private func spawn(_ body: @escaping () -> Void) {
        let t = Thread(block: body)
        t.stackSize = 16 << 20
        t.start()
    }

    // MARK: Reader

    private func read(_ c: BatchCase, index: Int, into queue: BoundedQueue<ComputeItem>) {
        let loaded: LoadedCase
        do {
            loaded = try LoadedCase(c, index: index, mapping: options.mapping, display: options.display)
        } catch {
            queue.push(.failed(CaseAssembly(index: index, batchCase: c), "\(error)", missing: 0))
            return
        }
        let a = loaded.assembly
        if a.challenge != nil {
            queue.push(.challenge(a))
            return
        }
        var pushed = 0
        do {
            try loaded.forEachJob { job in
                queue.push(.image(job))
                pushed += 1
            }
        } catch {
            queue.push(.failed(a, "\(error)", missing: a.slices.count - pushed))
        }
    }

    // MARK: Encoder and decoder

    /// Encodes `jobs` in one encoder run (one at a time if that run fails, to find the image at
    /// fault) and decodes each image's prompts.
    private func infer(_ jobs: [ImageJob]) -> [ImageResult] {
        guard !jobs.isEmpty else { return [] }
        var embeddings: [Result<ImageEmbedding, Error>]
        var encodeMs: [Double]
        do {
            let e = try predictor.embed(jobs.map(\.image))
            embeddings = e.map { .success($0) }
            encodeMs = [Double](repeating: predictor.lastEncodeMilliseconds / Double(jobs.count), count: jobs.count)
        } catch {
            embeddings = []
            encodeMs = []
            for job in jobs {
                do { embeddings.append(.success(try predictor.embed([job.image])[0])) } catch { embeddings.append(.failure(error)) }
                encodeMs.append(predictor.lastEncodeMilliseconds)
            }
        }
        return zip(jobs, zip(embeddings, encodeMs)).map { job, pair in
            var r = ImageResult(job: job, encodeMilliseconds: pair.1)
            do {
                let embedding = try pair.0.get()
                try decode(job, embedding: embedding, into: &r)
                // Downloaded here, where the predictor's backend is used; written by a writer.
                if options.embeddings != nil { r.embedding = try embedding.download() }
            } catch {
                let where_ = job.assembly.slices[job.slot].map { "\(job.assembly.axis.rawValue) slice \($0): " } ?? ""
                r.error = "\(job.assembly.batchCase.origin): \(where_)\(error)"
            }
            return r
        }
    }

    /// SAM's automatic mask generator on the job's slice as displayed, as `medsam everything`
    /// runs it (its own encoder run per crop, so it takes no part in the batched encoder call).
    private func everything(_ job: ImageJob) -> ImageResult {
        var r = ImageResult(job: job)
        let a = job.assembly
        do {
            if everythingGenerator == nil {
                everythingGenerator = try EverythingGenerator(predictor: predictor, parameters: options.everything)
            }
            let generator = everythingGenerator!
            let image = a.display.toDisplay(job.image)
            let masks = try generator.generate(image)
            let t = generator.lastTimings
            r.everything = EverythingOutputs(masks: masks, image: image)
            r.everythingPoints = t.candidates / (options.everything.multimaskOutput ? 3 : 1)
            r.areas = masks.map(\.area)
            r.ious = masks.map(\.predictedIoU)
            r.encodeMilliseconds = t.encoder
            r.decodeMilliseconds = t.total - t.encoder
        } catch {
            let where_ = a.slices[job.slot].map { "\(a.axis.rawValue) slice \($0): " } ?? ""
            r.error = "\(a.batchCase.origin): \(where_)\(error)"
        }
        return r
    }

    /// All prompts of an image in one decoder call (one per group when prompts differ in form:
    /// number of points, with or without a box).
    private func decode(_ job: ImageJob, embedding: ImageEmbedding, into r: inout ImageResult) throws {
        try predictor.setEmbedding(embedding)
        let a = job.assembly
        let hw = a.height * a.width
        var groups: [String: [Int]] = [:]
        var order: [String] = []
        for (i, p) in job.prompts.enumerated() {
            let key = "\(p.points.count)-\(p.box != nil)"
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(i)
        }
        var masks = [[Float]](repeating: [], count: job.prompts.count)
        var areas = [Int](repeating: 0, count: job.prompts.count)
        var ious = [Float](repeating: 0, count: job.prompts.count)
        for key in order {
            let members = groups[key]!
            let p = try predictor.predict(members.map { job.prompts[$0] })
            r.decodeMilliseconds += predictor.lastDecodeMilliseconds
            for (j, i) in members.enumerated() {
                masks[i] = Array(p.masks.data[(j * hw)..<((j + 1) * hw)])
                areas[i] = p.area(j, 0)
                ious[i] = p.iou.data[j]
            }
        }
        var labels = [UInt8](repeating: 0, count: hw)
        for (i, m) in masks.enumerated() {
            for px in 0..<hw where m[px] > 0 { labels[px] = job.labelValues[i] }
        }
        r.labels = labels
        r.areas = areas
        r.ious = ious
        if a.batchCase.format == .npy { r.masks = masks.flatMap { $0 } }
    }

    // MARK: Writer

    private func collect(_ item: WriteItem) {
        let a: CaseAssembly
        var complete = false
        // A 4 MiB file for each image: written before taking the lock the other writers wait on
        // (the case's slices and geometry, all the path needs, are fixed since its reader).
        var embeddingWritten: Result<String, Error>?
        if case .image(let r) = item, r.error == nil, let e = r.embedding, let files = options.embeddings {
            let path = files.path(for: r.job.assembly, slot: r.job.slot)
            embeddingWritten = Result { try files.write(e, to: path); return path }
        }
        assemblyLock.lock()
        switch item {
        case .image(let r):
            a = r.job.assembly
            if let e = r.error {
                if a.error == nil { a.error = e }
            } else if a.error == nil {
                do { try MaskOutput.add(r, to: a) } catch { a.error = "\(error)" }
            }
            if let written = embeddingWritten {
                switch written {
                case .success(let path): a.embeddings[r.job.slot] = path
                case .failure(let error): if a.error == nil { a.error = "\(error)" }
                }
            }
            a.prompts += r.everything != nil ? r.everythingPoints : r.job.prompts.count
            a.areas += r.areas
            a.ious += r.ious
            a.encodeMilliseconds += r.encodeMilliseconds
            a.decodeMilliseconds += r.decodeMilliseconds
            a.received += 1
            complete = a.received == a.slices.count
        case .whole(let whole):
            a = whole
            complete = true
        case .failed(let failed, let message, let missing):
            a = failed
            if a.error == nil { a.error = message }
            a.received += missing
            complete = a.received >= a.slices.count
        }
        assemblyLock.unlock()
        if complete { finish(a) }
    }

    private func finish(_ a: CaseAssembly) {
        let c = a.batchCase
        let writeStart = DispatchTime.now().uptimeNanoseconds
        if a.error == nil {
            do { try MaskOutput.write(a, compressedRLE: options.everythingCompressedRLE) } catch { a.error = "\(error)" }
        }
        let writeMs = Double(DispatchTime.now().uptimeNanoseconds - writeStart) / 1e6
        if let r = a.challengeResult {
            a.prompts = r.prompts
            a.areas = r.areas
            a.ious = r.ious
            a.encodeMilliseconds = r.encodeMilliseconds
            a.decodeMilliseconds = r.decodeMilliseconds
        }
        let images = a.challengeResult?.images ?? a.slices.count
        var e = JournalEntry(kind: "case")
        e.id = c.id
        e.status = a.error == nil ? "done" : "failed"
        e.input = c.input
        e.output = c.output
        e.images = images
        e.prompts = a.prompts
        e.areas = a.areas
        e.iou = a.ious
        e.embeddings = a.embeddings.isEmpty ? nil : a.embeddings.sorted { $0.key < $1.key }.map(\.value)
        e.error = a.error
        e.timings_ms = ["read": a.readMilliseconds, "encode": a.encodeMilliseconds, "decode": a.decodeMilliseconds,
                        "write": writeMs, "total": Double(DispatchTime.now().uptimeNanoseconds - a.started) / 1e6]
        if let journal {
            do { try journal.append(e) } catch {
                FileHandle.standardError.write(Data("warning: \(error)\n".utf8))
            }
        }
        statsLock.lock()
        if a.error == nil {
            stats.done += 1
        } else {
            stats.failed += 1
            stats.failures.append(BatchFailure(id: c.id, error: a.error!))
        }
        stats.images += a.error == nil ? images : 0
        stats.prompts += a.error == nil ? a.prompts : 0
        statsLock.unlock()
        progress?.caseFinished(images: images, failed: a.error != nil)
        // The case's buffers go with it.
        a.maskVolume = nil
        a.volume = nil
        a.challengeResult = nil
        a.everything = nil
    }
}
