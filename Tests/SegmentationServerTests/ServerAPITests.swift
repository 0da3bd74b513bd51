import Foundation
import Hummingbird
import Logging
import MedicalImaging
import NIOCore
import SAMModels
import Segmentation
import SegmentationServer
import TensorRuntime
import XCTest

/// The native API through Hummingbird's router test client, on a small random SAM (the
/// configuration of PredictorTests) on the reference backend: what comes back over HTTP must be
/// what the Predictor and VolumePropagation give for the same inputs, and every refusal must be
/// a JSON error with its status.
final class ServerAPITests: XCTestCase, ServerTestHelpers {
    static let config = SAMModelConfig(
        encoder: .vit(SAMViTConfig(imageSize: 128, patchSize: 16, embedDim: 48, depth: 3, heads: 3,
                                   globalAttentionIndexes: [1], windowSize: 3, outChannels: 32)),
        promptEncoder: PromptEncoderConfig(embedDim: 32, embeddingSize: 8, inputSize: 128, maskInChannels: 4),
        maskDecoder: MaskDecoderConfig(transformerDim: 32, depth: 2, heads: 4, mlpDim: 64, iouHeadHiddenDim: 32),
        preprocessing: .liteMedSAM)

    static func model() throws -> SAMModel { try SAMModel.random(config, seed: 7) }

    /// Bytes charged per cached embedding of this model ([1, 32, 8, 8] floats, times 4).
    static let embeddingCost = 32 * 8 * 8 * 4 * 4

    var folder: URL!

    override func setUp() {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("serve-tests-\(UUID().uuidString)")
    }

    override func tearDown() { try? FileManager.default.removeItem(at: folder) }

    /// A grey image with a bright disk and a darker square (PredictorTests' picture).
    static func image(height: Int = 90, width: Int = 70, seed: Int = 0) -> Image {
        var pixels = [Float](repeating: 20, count: height * width)
        for y in 0..<height {
            for x in 0..<width {
                let dx = Float(x - width / 3 - seed), dy = Float(y - height / 3)
                if dx * dx + dy * dy < 150 { pixels[y * width + x] = 230 }
                if x > width / 2 && y > height / 2 && x < width - 5 { pixels[y * width + x] = 120 }
            }
        }
        return Image(pixels: pixels, height: height, width: width, channels: 1)
    }

    /// A small uint8 volume: the picture moving one pixel per slice.
    static func volume(slices: Int = 5) -> Volume {
        let w = 40, h = 36
        var voxels: [Float] = []
        for k in 0..<slices { voxels += image(height: h, width: w, seed: k).pixels }
        return Volume(voxels: voxels, dims: [w, h, slices], spacing: [0.75, 0.5, 2.5], affine: .identity, frame: .ras,
                      sourceType: .uint8, source: "test")
    }

    // MARK: Tests

    func testSegmentReturnsThePredictorsMasks() async throws {
        let service = try makeService()
        let png = try PNGCodec.encode(Self.image())
        // The same image and prompts straight through a Predictor with the same weights.
        let read = try PNGCodec.decode(png, path: "test.png")
        let predictor = Predictor(model: try Self.model(), backend: ReferenceBackend())
        try predictor.setImage(IntensityMapping.automatic(for: read).apply(read))
        let points = [ImagePrompt.Point(x: 25, y: 30, label: 1), ImagePrompt.Point(x: 60, y: 80, label: 0)]
        let prompts = [ImagePrompt(points: points, box: [10, 12, 50, 60]), ImagePrompt(points: points, box: [30, 40, 68, 88])]
        let direct = try predictor.predict(prompts, multimask: true)

        try await app(service).withRouterClient { client in
            let info = try await self.upload(client, png, name: "picture.png")
            XCTAssertEqual(info.kind, "image")
            XCTAssertEqual(info.shape, [70, 90, 1])
            XCTAssertEqual(info.axes["axial"]?.slices, 1)
            let request = SegmentRequest(boxes: [[10, 12, 50, 60], [30, 40, 68, 88]], points: [[25, 30], [60, 80]],
                                         labels: [1, 0], multimask: true, maskFormat: "both")
            for round in 0..<2 {
                let answer = try await client.execute(uri: "/v1/images/\(info.id)/segment", method: .post,
                                                      body: try self.json(request)) { try self.decode(SegmentResponse.self, $0) }
                XCTAssertEqual(answer.cached, round == 1, "the second request must reuse the embedding")
                XCTAssertEqual(answer.masks.count, 6)
                XCTAssertEqual(answer.iou.flatMap { $0 }, Array(direct.iou.data))
                for m in answer.masks {
                    let lo = (m.prompt * 3 + m.index) * 90 * 70
                    let expected = Array(direct.masks.data[lo..<(lo + 90 * 70)])
                    XCTAssertEqual(MaskEncoding.decode(try XCTUnwrap(m.rle)), expected, "prompt \(m.prompt) mask \(m.index)")
                    let png = try PNGCodec.decode([UInt8](try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(m.png)))), path: "mask.png")
                    XCTAssertEqual(png.pixels.map { $0 > 0 ? Float(1) : 0 }, expected)
                    XCTAssertEqual(m.area, direct.area(m.prompt, m.index))
                    XCTAssertEqual(m.best, m.index == direct.bestMask(m.prompt))
                }
            }
        }
        service.shutdown()
    }

    func testRLEIsCOCOColumnMajor() {
        // 2 x 3 mask, rows [0, 1, 1] and [0, 0, 1]; down the columns: 0 0 | 1 0 | 1 1.
        let rle = MaskEncoding.rle([0, 1, 1, 0, 0, 1][...], height: 2, width: 3)
        XCTAssertEqual(rle, RLEMask(size: [2, 3], counts: [2, 1, 1, 2]))
        XCTAssertEqual(MaskEncoding.decode(rle), [0, 1, 1, 0, 0, 1])
        let starts = MaskEncoding.rle([1, 0, 0, 0][...], height: 2, width: 2)
        XCTAssertEqual(starts.counts, [0, 1, 3])
    }

    /// The blocked column walk against the plain one, on widths around its 16-column block and
    /// on a slice that does not start at index 0 (a mask inside a batch of masks).
    func testRLEMatchesAPlainColumnWalk() {
        var rng = SystemRandomNumberGenerator()
        for (h, w) in [(1, 1), (7, 15), (5, 16), (9, 17), (33, 40), (3, 64)] {
            let pad = 3
            let all = (0..<(pad + h * w)).map { _ in Float(Int.random(in: 0...2, using: &rng)) - 0.5 }
            let mask = all[pad...]
            var counts: [Int] = [], current = false, run = 0
            for x in 0..<w {
                for y in 0..<h {
                    let v = mask[pad + y * w + x] > 0
                    if v != current { counts.append(run); run = 0; current = v }
                    run += 1
                }
            }
            counts.append(run)
            let rle = MaskEncoding.rle(mask, height: h, width: w)
            XCTAssertEqual(rle, RLEMask(size: [h, w], counts: counts), "\(h)x\(w)")
            XCTAssertEqual(rle.area, mask.filter { $0 > 0 }.count, "\(h)x\(w)")
        }
    }

    func testRequestsWithoutTheTokenAreRefused() async throws {
        let service = try makeService()
        try await app(service, token: "s3cret").withRouterClient { client in
            try await client.execute(uri: "/v1/health", method: .get) { r in
                XCTAssertEqual(r.status, .unauthorized)
                XCTAssertEqual(r.headers[.wwwAuthenticate], "Bearer")
                let body = try self.decode(ErrorBody.self, r)
                XCTAssertEqual(body.error.status, 401)
                XCTAssertFalse(body.error.message.contains("s3cret"))
            }
            try await client.execute(uri: "/v1/images?name=a.png", method: .post, headers: [.authorization: "Bearer wrong"],
                                     body: ByteBuffer(bytes: try PNGCodec.encode(Self.image()))) { r in
                XCTAssertEqual(r.status, .unauthorized)
            }
            try await client.execute(uri: "/v1/health", method: .get, headers: [.authorization: "Bearer s3cret"]) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(try self.decode(HealthResponse.self, r).model, "random")
            }
        }
        XCTAssertEqual(service.imageIDs, [], "a refused upload must not be stored")
        XCTAssertThrowsError(try ServerConfiguration(host: "0.0.0.0").validate())
        XCTAssertNoThrow(try ServerConfiguration(host: "0.0.0.0", token: "t").validate())
        XCTAssertNoThrow(try ServerConfiguration(host: "127.0.0.1").validate())
        service.shutdown()
    }

    func testOversizedUploadIs413WithAJSONError() async throws {
        let service = try makeService(maxUpload: 1000)
        try await app(service, maxUpload: 1000).withRouterClient { client in
            // Noise, so the PNG cannot compress below the limit.
            var state: UInt32 = 12345
            let noise = (0..<(64 * 64)).map { _ -> Float in
                state = state &* 1_664_525 &+ 1_013_904_223
                return Float(state >> 24)
            }
            let png = try PNGCodec.encode(Image(pixels: noise, height: 64, width: 64, channels: 1))
            XCTAssertGreaterThan(png.count, 2000)
            try await client.execute(uri: "/v1/images?name=big.png", method: .post, body: ByteBuffer(bytes: png)) { r in
                XCTAssertEqual(r.status, .contentTooLarge)
                XCTAssertEqual(r.headers[.contentType], "application/json")
                let body = try self.decode(ErrorBody.self, r)
                XCTAssertEqual(body.error.status, 413)
                XCTAssertTrue(body.error.message.contains("1000"), body.error.message)
            }
        }
        XCTAssertEqual(service.imageIDs, [])
        service.shutdown()
    }

    func testBadRequestsAreJSONErrorsNamingTheField() async throws {
        let service = try makeService()
        try await app(service).withRouterClient { client in
            let info = try await self.upload(client, try PNGCodec.encode(Self.image()), name: "p.png")
            let cases: [(String, String, HTTPResponse.Status, String)] = [
                ("/v1/images/\(info.id)/segment", "{not json", .badRequest, "JSON"),
                ("/v1/images/\(info.id)/segment", #"{"boxes": "x"}"#, .badRequest, "boxes"),
                ("/v1/images/\(info.id)/segment", #"{"boxes": [[1, 2, 3]]}"#, .badRequest, "boxes[0]"),
                ("/v1/images/\(info.id)/segment", #"{"boxes": [[10, 10, 500, 20]]}"#, .badRequest, "outside"),
                ("/v1/images/\(info.id)/segment", #"{"points": [[5, 5]], "labels": [2]}"#, .badRequest, "label"),
                ("/v1/images/\(info.id)/segment", #"{"points": [[5, 5]], "slice": 3}"#, .badRequest, "slice"),
                ("/v1/images/\(info.id)/segment", #"{"points": [[5, 5]], "axis": "oblique"}"#, .badRequest, "axis"),
                ("/v1/images/\(info.id)/segment", #"{}"#, .badRequest, "needs boxes"),
                ("/v1/images/nope/segment", #"{"points": [[5, 5]]}"#, .notFound, "nope"),
                ("/v1/images?name=x.txt", "hello", .unsupportedMediaType, "extension"),
                ("/v1/images?name=x.nii", "not a nifti file", .unprocessableContent, "x.nii"),
                ("/v1/images", "abc", .badRequest, "name"),
                ("/v1/no-such-route", "", .notFound, "route"),
            ]
            for (uri, body, status, needle) in cases {
                try await client.execute(uri: uri, method: .post, body: ByteBuffer(string: body)) { r in
                    XCTAssertEqual(r.status, status, "\(uri) \(body): \(String(buffer: r.body))")
                    XCTAssertEqual(r.headers[.contentType], "application/json", uri)
                    let e = try self.decode(ErrorBody.self, r)
                    XCTAssertEqual(e.error.status, Int(status.code))
                    XCTAssertTrue(e.error.message.contains(needle), "\(uri) \(body): '\(e.error.message)' lacks '\(needle)'")
                }
            }
        }
        service.shutdown()
    }

    func testEmbeddingCacheEvictsLeastRecentlyUsedUnderItsByteBound() async throws {
        // Room for two embeddings, not three.
        let service = try makeService(cacheBytes: 2 * Self.embeddingCost + 100)
        try await app(service).withRouterClient { client in
            let info = try await self.upload(client, try self.niftiBytes(Self.volume()), name: "v.nii.gz")
            XCTAssertEqual(info.shape, [40, 36, 5])
            XCTAssertEqual(info.spacing, [0.75, 0.5, 2.5])
            // Identity affine (RAS): i runs to the patient's right and k up, so the radiological
            // coronal display mirrors both (patient right on the screen's left, superior up).
            XCTAssertEqual(info.axes["coronal"], AxisInfo(slices: 36, width: 40, height: 5, x: "i", y: "k",
                                                          radiological: SliceOrientation(transpose: false, flipX: true, flipY: true),
                                                          plane: .coronal))
            func click(_ slice: Int) async throws -> Bool {
                let r = SegmentRequest(slice: slice, points: [[12, 12]])
                return try await client.execute(uri: "/v1/images/\(info.id)/segment", method: .post, body: try self.json(r)) {
                    try self.decode(SegmentResponse.self, $0).cached
                }
            }
            // {0}, {0,1}, 0 used, 2 evicts 1, 0 used, 1 evicts 2, 0 still there.
            let sequence = [(0, false), (1, false), (0, true), (2, false), (0, true), (1, false), (0, true)]
            for (slice, cached) in sequence {
                let got = try await click(slice)
                XCTAssertEqual(got, cached, "slice \(slice)")
            }
            let stats = service.cacheStats
            XCTAssertEqual(stats.entries, 2)
            XCTAssertLessThanOrEqual(stats.bytes, stats.capacityBytes)
            XCTAssertEqual(stats.evictions, 2)
            try await client.execute(uri: "/v1/images/\(info.id)", method: .delete) { XCTAssertEqual($0.status, .noContent) }
            XCTAssertEqual(service.cacheStats.entries, 0, "deleting an image drops its embeddings")
        }
        service.shutdown()
    }

    func testBackgroundEncodingFillsTheCache() async throws {
        let service = try makeService()
        try await app(service).withRouterClient { client in
            let info = try await self.upload(client, try self.niftiBytes(Self.volume()), name: "v.nii.gz")
            let queued = try await client.execute(uri: "/v1/images/\(info.id)/encode", method: .post,
                                                  body: ByteBuffer(string: #"{"axis": "axial", "slices": [1, 3]}"#)) { r in
                XCTAssertEqual(r.status, .accepted)
                return try self.decode(EncodeResponse.self, r)
            }
            XCTAssertEqual(queued, EncodeResponse(queued: 2, alreadyCached: 0))
            // A click queued after them is answered; by then both background encodes are done or
            // one is running (clicks go first), so wait for the queue to drain.
            for _ in 0..<200 where service.cacheStats.entries < 2 { try await Task.sleep(for: .milliseconds(20)) }
            XCTAssertTrue(service.isCached(SliceKey(image: info.id, axis: .axial, slice: 1)))
            XCTAssertTrue(service.isCached(SliceKey(image: info.id, axis: .axial, slice: 3)))
            let r = SegmentRequest(slice: 3, points: [[12, 12]])
            let cached = try await client.execute(uri: "/v1/images/\(info.id)/segment", method: .post, body: try self.json(r)) {
                try self.decode(SegmentResponse.self, $0).cached
            }
            XCTAssertTrue(cached)
        }
        service.shutdown()
    }

    func testPropagationLabelsDownloadAsNIfTIWithTheInputsGeometry() async throws {
        let service = try makeService()
        let volume = Self.volume()
        let bytes = try niftiBytes(volume)
        let input = try NIfTIReader.read(folder.appendingPathComponent("v.nii.gz"))
        let box3d: [Float] = [4, 4, 1, 30, 30, 3]
        // The same propagation straight through VolumePropagation.
        let mapped = IntensityMapping.automatic(for: input).apply(input)
        let direct = try VolumePropagation().run(volume: mapped, axis: .axial, box3d: box3d,
                                                 predictor: Predictor(model: try Self.model(), backend: ReferenceBackend()))
        try await app(service).withRouterClient { client in
            let info = try await self.upload(client, bytes, name: "v.nii.gz")
            let answer = try await client.execute(uri: "/v1/images/\(info.id)/propagate", method: .post,
                                                  body: try self.json(PropagateRequest(box3d: box3d, label: 3))) {
                try self.decode(PropagateResponse.self, $0)
            }
            XCTAssertEqual(answer.slices, direct.slices)
            XCTAssertEqual(answer.voxels, direct.mask.reduce(0) { $0 + Int($1) })
            let file = try await client.execute(uri: "/v1/images/\(info.id)/labels", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(r.headers[.contentType], "application/gzip")
                return [UInt8](Data(buffer: r.body))
            }
            let url = self.folder.appendingPathComponent("labels.nii.gz")
            try Data(file).write(to: url)
            let labels = try NIfTIReader.read(url)
            XCTAssertEqual(labels.dims, input.dims)
            XCTAssertEqual(labels.spacing, input.spacing)
            XCTAssertTrue(labels.affine.isClose(to: input.affine))
            XCTAssertEqual(labels.voxels, direct.mask.map { $0 > 0 ? 3 : 0 })

            // A click written into the labels as label 5 on slice 0 only.
            let r = SegmentRequest(slice: 0, points: [[12, 12]], label: 5)
            let seg = try await client.execute(uri: "/v1/images/\(info.id)/segment", method: .post, body: try self.json(r)) {
                try self.decode(SegmentResponse.self, $0)
            }
            let best = try XCTUnwrap(seg.masks.first { $0.best })
            let after = try await client.execute(uri: "/v1/images/\(info.id)/labels", method: .get) { [UInt8](Data(buffer: $0.body)) }
            try Data(after).write(to: url)
            let relabelled = try NIfTIReader.read(url)
            let slice0 = try relabelled.slice(.axial, 0).pixels
            XCTAssertEqual(slice0.filter { $0 == 5 }.count, best.area)
            XCTAssertEqual(try relabelled.slice(.axial, 2).pixels, try labels.slice(.axial, 2).pixels)
        }
        service.shutdown()
    }
}
