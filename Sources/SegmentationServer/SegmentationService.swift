import Foundation
import MedicalImaging
import SAMModels
import Segmentation
import TensorRuntime

/// The model-facing half of `medsam serve`, with no HTTP in it: uploaded images, the embedding
/// cache, the model thread, and the operations the API offers. Routes (`ServerRoutes`) only
/// decode requests, call these, and encode the answers.
public final class SegmentationService: @unchecked Sendable {
    public struct Options: Sendable {
        /// Bound of the embedding cache in bytes (`--cache-mb`).
        public var cacheBytes: Int
        /// The largest upload (and the most a DICOM zip may inflate to).
        public var maxUploadBytes: Int
        /// Where uploads are unpacked and label files written; nothing is written elsewhere.
        public var temporaryFolder: URL

        public init(cacheBytes: Int = 512 << 20, maxUploadBytes: Int = 1 << 30,
                    temporaryFolder: URL = FileManager.default.temporaryDirectory) {
            self.cacheBytes = cacheBytes
            self.maxUploadBytes = maxUploadBytes
            self.temporaryFolder = temporaryFolder
        }
    }

    public let modelName: String
    public let backendName: String
    public let options: Options
    let executor: ModelExecutor
    let uploads: UploadReader
    private let lock = NSLock()
    private var images: [String: StoredImage] = [:]
    private var cache: ByteBoundedLRU<SliceKey, ImageEmbedding>
    /// The best low-res logits of the last answer per slice, for `usePreviousMask`.
    private var previous: [SliceKey: Tensor] = [:]
    private static let previousLimit = 256

    /// - Parameters:
    ///   - model: the loaded model; `backend` runs it (one thread uses both, see `ModelExecutor`).
    public init(model: SAMModel, backend: any Backend, modelName: String, options: Options = Options()) throws {
        self.modelName = modelName
        self.backendName = backend.info.backend
        self.options = options
        self.executor = ModelExecutor(predictor: Predictor(model: model, backend: backend))
        self.cache = ByteBoundedLRU(capacityBytes: options.cacheBytes)
        try FileManager.default.createDirectory(at: options.temporaryFolder, withIntermediateDirectories: true)
        self.uploads = UploadReader(temporaryFolder: options.temporaryFolder, maxBytes: options.maxUploadBytes)
    }

    /// Stops the model thread; requests still queued get `ServiceError.shuttingDown`.
    public func shutdown() { executor.shutdown() }

    // MARK: Images

    /// Reads an upload, maps its intensities (`mapping`, or the CLI's automatic choice) and keeps
    /// it under `id` (replacing an image of that id, as MONAI Label's datastore does) or a new one.
    public func upload(_ bytes: [UInt8], name: String, mapping requested: IntensityMapping? = nil,
                       id requestedID: String? = nil) throws -> ImageInfo {
        if let r = requestedID {
            let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "._-"))
            guard (1...128).contains(r.count), r.unicodeScalars.allSatisfy(allowed.contains), r.first != "." else {
                throw ServiceError.badRequest("image: '\(r)' is not an id of 1 to 128 letters, digits, '.', '_' or '-'")
            }
        }
        let (read, format) = try uploads.read(bytes, name: name)
        let content: StoredImage.Content
        let mapping: IntensityMapping
        switch read {
        case .volume(let v):
            mapping = requested ?? IntensityMapping.automatic(for: v)
            content = .volume(original: v, mapped: mapping.apply(v))
        case .image(let im):
            mapping = requested ?? IntensityMapping.automatic(for: im)
            content = .image(mapping.apply(im))
        }
        let stored = StoredImage(id: requestedID ?? UUID().uuidString.lowercased(), name: name, format: format, content: content,
                                 mapping: Self.describe(mapping))
        lock.lock()
        images[stored.id] = stored
        cache.removeAll { $0.image == stored.id }
        previous = previous.filter { $0.key.image != stored.id }
        lock.unlock()
        return info(stored)
    }

    /// The mapping in the words the CLI's options use.
    static func describe(_ m: IntensityMapping) -> String {
        switch m {
        case .window(let w): return "window \(w.level),\(w.width)"
        case .windowMinMax(let w): return "window \(w.level),\(w.width) then min-max"
        case .mr: return "mr (percentiles of non-zero voxels)"
        case .minMax: return "min-max"
        case .identity: return "identity (already 0...255)"
        }
    }

    public func image(_ id: String) throws -> StoredImage {
        lock.lock(); defer { lock.unlock() }
        guard let s = images[id] else { throw ServiceError.notFound("image '\(id)' does not exist (uploads are kept until deleted or the server stops)") }
        return s
    }

    public func info(_ id: String) throws -> ImageInfo { info(try image(id)) }

    public var imageIDs: [String] {
        lock.lock(); defer { lock.unlock() }
        return images.keys.sorted()
    }

    /// Forgets an image, its embeddings and its labels.
    public func delete(_ id: String) throws {
        lock.lock(); defer { lock.unlock() }
        guard images.removeValue(forKey: id) != nil else { throw ServiceError.notFound("image '\(id)' does not exist") }
        cache.removeAll { $0.image == id }
        previous = previous.filter { $0.key.image != id }
    }

    func info(_ s: StoredImage) -> ImageInfo {
        let names = ["i", "j", "k"]
        var axes: [String: AxisInfo] = [:]
        for axis in SliceAxis.allCases where s.sliceCount(axis) > 0 {
            let (ax, ay) = axis.inPlaneAxes
            var axisInfo = AxisInfo(slices: s.sliceCount(axis), width: s.dims[ax], height: s.dims[ay],
                                    x: names[ax], y: names[ay])
            if case .volume(let original, _) = s.content {
                let display = SliceOrientation.radiological(affine: original.affine, frame: original.frame, axis: axis)
                axisInfo.radiological = display.orientation
                axisInfo.plane = display.plane
            }
            axes[axis.rawValue] = axisInfo
        }
        lock.lock()
        let cached = cache.keys.filter { $0.image == s.id }.count
        lock.unlock()
        return ImageInfo(id: s.id, name: s.name, kind: s.isVolume ? "volume" : "image", format: s.format.rawValue,
                         shape: s.dims, spacing: s.spacing, axes: axes, mapping: s.mapping,
                         cachedSlices: cached, encodingQueued: executor.backgroundQueued)
    }

    // MARK: Embeddings

    /// Bytes an embedding is charged in the cache: the embedding itself plus the decoder's
    /// image context that the predictor attaches on the first click (image keys and the
    /// attention projections: about 3.5 times the embedding), rounded up to 4 times.
    static func cost(_ e: ImageEmbedding) -> Int { e.embeddings.shape.dims.reduce(1, *) * MemoryLayout<Float>.size * 4 }

    private func cached(_ key: SliceKey) -> ImageEmbedding? {
        lock.lock(); defer { lock.unlock() }
        return cache.get(key)
    }

    private func store(_ key: SliceKey, _ e: ImageEmbedding) {
        lock.lock(); defer { lock.unlock() }
        // An image deleted while its slice was being encoded is not brought back.
        guard images[key.image] != nil else { return }
        cache.put(key, e, bytes: Self.cost(e))
    }

    /// On the model thread: the slice's embedding from the cache, or encoded now (the slice's
    /// pixels are only read then: a click on a cached slice does not copy them).
    private func embedding(_ key: SliceKey, _ image: () throws -> Image, _ predictor: Predictor) throws -> (ImageEmbedding, Double, Bool) {
        if let e = cached(key) { return (e, 0, true) }
        let e = try predictor.embed([try image()])[0]
        store(key, e)
        return (e, predictor.lastEncodeMilliseconds, false)
    }

    public var cacheStats: CacheStats {
        lock.lock(); defer { lock.unlock() }
        return CacheStats(entries: cache.count, bytes: cache.totalBytes, capacityBytes: cache.capacityBytes,
                          hits: cache.hits, misses: cache.misses, evictions: cache.evictions)
    }

    /// Whether the embedding of a slice is in the cache now.
    public func isCached(_ key: SliceKey) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return cache.contains(key)
    }

    /// Queues background encodes of the slices not cached yet; clicks go before them.
    public func encodeAhead(_ id: String, _ request: EncodeRequest) throws -> EncodeResponse {
        let stored = try image(id)
        let axis = request.axis ?? .axial
        let n = stored.sliceCount(axis)
        let slices = request.slices ?? Array(0..<n)
        for s in slices where !(0..<n).contains(s) {
            throw ServiceError.badRequest("slices: \(s) is outside 0...\(n - 1) along the \(axis.rawValue) axis")
        }
        var queued = 0
        for s in slices {
            let key = SliceKey(image: id, axis: axis, slice: s)
            if isCached(key) { continue }
            queued += 1
            executor.submit(.background) { [weak self] predictor in
                guard let self, !self.isCached(key), let stored = try? self.image(id),
                      let image = try? stored.slice(axis, s), let e = try? predictor.embed([image])[0] else { return }
                self.store(key, e)
            }
        }
        return EncodeResponse(queued: queued, alreadyCached: slices.count - queued)
    }

    // MARK: Segment

    /// Masks for the request's prompts on one slice: the slice's embedding comes from the cache
    /// (or is encoded first), then one decoder call answers every prompt.
    public func segment(_ id: String, _ request: SegmentRequest) async throws -> SegmentResponse {
        let start = DispatchTime.now().uptimeNanoseconds
        let stored = try image(id)
        let axis = request.axis ?? .axial
        let index = request.slice ?? 0
        try stored.checkSlice(axis, index)
        let key = SliceKey(image: id, axis: axis, slice: index)
        let format = request.maskFormat ?? "rle"
        guard ["rle", "png", "both"].contains(format) else {
            throw ServiceError.badRequest("maskFormat: '\(format)' is not one of rle, png, both")
        }
        if let l = request.label, !(1...255).contains(l) { throw ServiceError.badRequest("label: \(l) is not in 1...255") }
        var prompts = try Self.prompts(request)
        if request.usePreviousMask == true {
            guard let logits = previousLogits(key) else {
                throw ServiceError.badRequest("usePreviousMask: slice \(index) (\(axis.rawValue)) has no earlier answer to refine")
            }
            for i in prompts.indices { prompts[i].maskLogits = logits }
        }
        let multimask = request.multimask ?? false
        let prompted = prompts
        let (prediction, encodeMs, decodeMs, queueMs, wasCached) = try await executor.run(.interactive) { predictor in
            let queueMs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            let (e, encodeMs, wasCached) = try self.embedding(key, { try stored.slice(axis, index) }, predictor)
            try predictor.setEmbedding(e)
            let p: Prediction
            do { p = try predictor.predict(prompted, multimask: multimask, outputs: [.lowResLogits]) } catch let e as ImagePromptError {
                throw ServiceError.badRequest("prompt: \(e.description)")
            }
            return (p, encodeMs, predictor.lastDecodeMilliseconds, queueMs, wasCached)
        }
        let h = prediction.masks.shape[2], w = prediction.masks.shape[3]
        let m = prediction.masks.shape[1]
        if let low = prediction.lowResLogits {
            let best = prediction.bestMask(0)
            let plane = low.shape[2] * low.shape[3]
            let start = best * plane
            let logits = Tensor(shape: [1, low.shape[2], low.shape[3]], data: Array(low.data[start..<(start + plane)]))
            remember(key, logits)
        }
        var masks: [MaskResult] = []
        var iou: [[Float]] = []
        for p in 0..<prediction.masks.shape[0] {
            let best = prediction.bestMask(p)
            iou.append((0..<m).map { prediction.iou.data[p * m + $0] })
            for k in 0..<m {
                let lo = (p * m + k) * h * w
                let plane = prediction.masks.data[lo..<(lo + h * w)]
                let rle = format == "png" ? nil : MaskEncoding.rle(plane, height: h, width: w)
                // The RLE already counted the mask's pixels; a PNG-only answer counts them here.
                masks.append(MaskResult(prompt: p, index: k, iou: prediction.iou.data[p * m + k],
                                        area: rle?.area ?? prediction.area(p, k), best: k == best, rle: rle,
                                        png: format == "rle" ? nil : try MaskEncoding.pngBase64(plane, height: h, width: w)))
            }
        }
        if let l = request.label {
            let best = prediction.bestMask(0)
            let lo = best * h * w
            stored.setLabel(UInt8(l), axis: axis, slice: index, mask: Array(prediction.masks.data[lo..<(lo + h * w)]))
        }
        let total = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        return SegmentResponse(image: id, axis: axis, slice: index, width: w, height: h, cached: wasCached, iou: iou,
                               masks: masks, timings: Timings(queueMs: queueMs, encodeMs: encodeMs, decodeMs: decodeMs, totalMs: total))
    }

    private func previousLogits(_ key: SliceKey) -> Tensor? {
        lock.lock(); defer { lock.unlock() }
        return previous[key]
    }

    /// Keeps the answer's logits for a later refinement; past the limit an arbitrary other
    /// slice's are dropped (an annotator refines the slice in front of them, not one from long ago).
    private func remember(_ key: SliceKey, _ logits: Tensor) {
        lock.lock(); defer { lock.unlock() }
        if previous.count >= Self.previousLimit, previous[key] == nil, let drop = previous.keys.first { previous[drop] = nil }
        previous[key] = logits
    }

    /// The request's prompts in the predictor's form: one per box, each with every point; or,
    /// without boxes, one prompt of the points.
    static func prompts(_ r: SegmentRequest) throws -> [ImagePrompt] {
        let points = r.points ?? []
        for (i, p) in points.enumerated() where p.count != 2 {
            throw ServiceError.badRequest("points[\(i)]: has \(p.count) numbers; expected [x, y]")
        }
        let labels = r.labels ?? Array(repeating: 1, count: points.count)
        guard labels.count == points.count else {
            throw ServiceError.badRequest("labels: \(labels.count) labels for \(points.count) points; expected one per point")
        }
        let pts = zip(points, labels).map { ImagePrompt.Point(x: $0[0], y: $0[1], label: $1) }
        let boxes = r.boxes ?? []
        for (i, b) in boxes.enumerated() where b.count != 4 {
            throw ServiceError.badRequest("boxes[\(i)]: has \(b.count) numbers; expected [x0, y0, x1, y1]")
        }
        if boxes.isEmpty {
            guard !pts.isEmpty || r.usePreviousMask == true else {
                throw ServiceError.badRequest("a segment request needs boxes, points or usePreviousMask")
            }
            return [ImagePrompt(points: pts)]
        }
        return boxes.map { ImagePrompt(points: pts, box: $0) }
    }

    // MARK: Propagate

    /// Propagates a box through the volume (`VolumePropagation`) and writes the result into the
    /// label volume as `label`. Runs in the background lane; clicks that arrive while it walks
    /// are answered between its slices (`ModelExecutor.serveWaitingClicks`), so a click waits for
    /// at most one slice's encode of it.
    public func propagate(_ id: String, _ request: PropagateRequest) async throws -> PropagateResponse {
        let (result, response) = try await propagation(id, request)
        try image(id).setLabel(UInt8(response.label), volumeMask: result.mask)
        return response
    }

    /// The propagation alone, leaving the label volume as it is.
    func propagation(_ id: String, _ request: PropagateRequest) async throws -> (VolumePropagation.Result, PropagateResponse) {
        let start = DispatchTime.now().uptimeNanoseconds
        let stored = try image(id)
        guard case .volume(_, let mapped) = stored.content else {
            throw ServiceError.badRequest("image \(id) is 2-D; propagate needs a volume")
        }
        let axis = request.axis ?? .axial
        let label = request.label ?? 1
        guard (1...255).contains(label) else { throw ServiceError.badRequest("label: \(label) is not in 1...255") }
        var propagation = VolumePropagation()
        // One slice per encoder call: a click waits for at most one slice's encode of the walk
        // (batches of 4 made a click wait ~10 s on a loaded 2-core machine; batching buys
        // throughput, which matters for `medsam volume`, not here).
        propagation.encodeBatch = 1
        let executor = self.executor
        // A walk through the volume takes a second per slice or more: clicks that arrive
        // meanwhile are answered between its slices (it sets its own embedding again before each).
        let serveClicks: (Int, Int) -> Void = { _, _ in executor.serveWaitingClicks() }
        let result: VolumePropagation.Result = try await executor.run(.background) { predictor in
            do {
                switch (request.box, request.box3d) {
                case (let box?, nil):
                    guard box.count == 4 else { throw ServiceError.badRequest("box: has \(box.count) numbers; expected [x0, y0, x1, y1]") }
                    guard let k = request.slice else { throw ServiceError.badRequest("slice: a 2-D box needs the key slice it was drawn on") }
                    return try propagation.run(volume: mapped, axis: axis, keySlice: k, box: box, range: nil,
                                               predictor: predictor, progress: serveClicks)
                case (nil, let box3d?):
                    return try propagation.run(volume: mapped, axis: axis, box3d: box3d, predictor: predictor, progress: serveClicks)
                default:
                    throw ServiceError.badRequest("give either box (with slice) or box3d")
                }
            } catch let e as ImagePromptError {
                throw ServiceError.badRequest("prompt: \(e.description)")
            }
        }
        return (result, PropagateResponse(image: id, axis: axis, label: label, voxels: result.mask.reduce(0) { $0 + Int($1) },
                                          slices: result.slices, stops: result.stops,
                                          milliseconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6))
    }

    // MARK: Labels

    /// The label image as a file: NIfTI (`.nii.gz`, uint8) on the input's grid and geometry for a
    /// volume; an 8-bit grey PNG of the label values for a 2-D image.
    public func labelFile(_ id: String) throws -> (bytes: [UInt8], contentType: String, filename: String) {
        let stored = try image(id)
        switch stored.content {
        case .volume(let original, _):
            return (try niftiMask(stored.labels, like: original), "application/gzip", "\(id)-labels.nii.gz")
        case .image(let im):
            let grey = Image(pixels: stored.labels.map(Float.init), height: im.height, width: im.width, channels: 1)
            return (try PNGCodec.encode(grey), "image/png", "\(id)-labels.png")
        }
    }

    /// `labels` (voxel order) as gzip NIfTI bytes with `reference`'s geometry.
    func niftiMask(_ labels: [UInt8], like reference: Volume) throws -> [UInt8] {
        let url = options.temporaryFolder.appendingPathComponent("labels-\(UUID().uuidString).nii.gz")
        defer { try? FileManager.default.removeItem(at: url) }
        try NIfTIWriter.writeMask(labels, like: reference, to: url)
        return [UInt8](try Data(contentsOf: url))
    }

    /// One slice as an 8-bit PNG in the layout the API's coordinates use: the grey levels the
    /// model sees, or the volume's own values under `window` (for a viewer's window presets).
    public func slicePNG(_ id: String, axis: SliceAxis, slice index: Int, window: IntensityMapping?) throws -> [UInt8] {
        let stored = try image(id)
        let pixels = try stored.slice(axis, index)
        guard let window else { return try PNGCodec.encode(Self.clampedToBytes(pixels)) }
        guard case .volume(let original, _) = stored.content else {
            throw ServiceError.badRequest("window: image \(id) is 2-D and kept only as mapped on upload; a window applies to volumes")
        }
        return try PNGCodec.encode(Self.clampedToBytes(window.apply(try original.slice(axis, index))))
    }

    /// Grey levels rounded into 0...255, as an 8-bit PNG stores them.
    static func clampedToBytes(_ im: Image) -> Image {
        Image(pixels: im.pixels.map { $0.isNaN ? 0 : min(max($0.rounded(), 0), 255) }, height: im.height, width: im.width,
              channels: im.channels)
    }

    /// One slice of the label image, laid out as `slicePNG`'s pixels.
    public func labelSlice(_ id: String, axis: SliceAxis, slice index: Int) throws -> (values: [UInt8], width: Int, height: Int) {
        let stored = try image(id)
        let values = try stored.labelSlice(axis, index)
        let (ax, ay) = axis.inPlaneAxes
        return (values, stored.dims[ax], stored.dims[ay])
    }

    /// Undoes the last change to an image's labels.
    public func undoLabels(_ id: String) throws -> UndoResponse {
        let stored = try image(id)
        guard stored.undoLastEdit() else {
            throw ServiceError(409, "image \(id) has no label change left to undo")
        }
        return UndoResponse(image: id, remaining: stored.undoDepth)
    }

    public func health() -> HealthResponse {
        HealthResponse(status: "ok", model: modelName, backend: backendName, images: imageIDs.count, cache: cacheStats)
    }
}
