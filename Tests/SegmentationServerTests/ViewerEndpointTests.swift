import Foundation
import Hummingbird
import MedicalImaging
import NIOCore
import SegmentationServer
import XCTest

/// What the web viewer stands on: its files (public even with a token), slices as PNG (as the
/// model sees them, or under a window), label slices, undo of label edits, and `/metrics`.
/// The viewer itself is driven in a real browser by scripts/tests/check_viewer.py.
final class ViewerEndpointTests: XCTestCase, ServerTestHelpers {
    var folder: URL!

    override func setUp() {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("viewer-tests-\(UUID().uuidString)")
    }

    override func tearDown() { try? FileManager.default.removeItem(at: folder) }

    /// A float volume with values a window visibly changes (-1000...1000, like CT).
    static func ctVolume() -> Volume {
        let w = 40, h = 36, d = 5
        var voxels = [Float](repeating: -1000, count: w * h * d)
        for k in 0..<d {
            for y in 0..<h {
                for x in 0..<w where (x - 15 - k) * (x - 15 - k) + (y - 14) * (y - 14) < 90 { voxels[(k * h + y) * w + x] = 60 }
                for x in 25..<35 where y > 20 { voxels[(k * h + y) * w + x] = 900 }
            }
        }
        return Volume(voxels: voxels, dims: [w, h, d], spacing: [0.75, 0.5, 2.5], affine: .identity, frame: .ras,
                      sourceType: .float32, source: "test")
    }

    func niftiFloatBytes(_ v: Volume) throws -> [UInt8] {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent("ct.nii.gz")
        try NIfTIWriter.write(v, to: url, as: .float32)
        return [UInt8](try Data(contentsOf: url))
    }

    func testViewerFilesArePublicAndTheAPIIsNot() async throws {
        let service = try makeService()
        try await app(service, token: "s3cret").withRouterClient { client in
            try await client.execute(uri: "/", method: .get) { r in
                XCTAssertEqual(r.status, .seeOther)
                XCTAssertEqual(r.headers[.location], "/viewer/")
            }
            try await client.execute(uri: "/viewer/", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(r.headers[.contentType], "text/html; charset=utf-8")
                XCTAssertTrue(String(buffer: r.body).contains("<script src=\"/viewer/viewer.js\">"))
            }
            for (file, type) in [("viewer.js", "text/javascript; charset=utf-8"), ("viewer.css", "text/css; charset=utf-8")] {
                try await client.execute(uri: "/viewer/\(file)", method: .get) { r in
                    XCTAssertEqual(r.status, .ok, file)
                    XCTAssertEqual(r.headers[.contentType], type)
                    XCTAssertGreaterThan(r.body.readableBytes, 500)
                }
            }
            try await client.execute(uri: "/viewer/secrets.txt", method: .get) { r in
                XCTAssertEqual(r.status, .notFound)
                XCTAssertTrue(String(buffer: r.body).contains("the viewer has no file 'secrets.txt'"))
            }
            // The data behind the page still needs the token.
            try await client.execute(uri: "/v1/images", method: .get) { r in XCTAssertEqual(r.status, .unauthorized) }
            try await client.execute(uri: "/metrics", method: .get) { r in XCTAssertEqual(r.status, .unauthorized) }
        }
        service.shutdown()
    }

    func testSlicesComeBackAsTheModelSeesThemOrUnderAWindow() async throws {
        let service = try makeService()
        let volume = Self.ctVolume()
        try await app(service).withRouterClient { client in
            let info = try await self.upload(client, try self.niftiFloatBytes(volume), name: "ct.nii.gz")
            let stored = try service.image(info.id)
            for (axis, index) in [(SliceAxis.axial, 2), (.coronal, 7), (.sagittal, 30)] {
                let png = try await client.execute(uri: "/v1/images/\(info.id)/slices/\(axis.rawValue)/\(index)", method: .get) { r in
                    XCTAssertEqual(r.status, .ok)
                    XCTAssertEqual(r.headers[.contentType], "image/png")
                    return try PNGCodec.decode(Array(r.body.readableBytesView), path: "slice.png")
                }
                let expected = try stored.slice(axis, index)
                XCTAssertEqual(png.width, expected.width, "\(axis)")
                XCTAssertEqual(png.height, expected.height, "\(axis)")
                XCTAssertEqual(png.pixels, expected.pixels.map { min(max($0.rounded(), 0), 255) }, "\(axis)")
            }
            // Bone window (400, 1800): -1000 -> 0, 60 -> 79.3, 900 -> 198.3 before rounding.
            let windowed = try await client.execute(uri: "/v1/images/\(info.id)/slices/axial/2?windowPreset=bone", method: .get) { r in
                XCTAssertEqual(r.status, .ok, String(buffer: r.body))
                return try PNGCodec.decode(Array(r.body.readableBytesView), path: "slice.png")
            }
            let raw = try volume.slice(.axial, 2)
            XCTAssertEqual(windowed.pixels, IntensityWindow.bone.apply(raw.pixels).map { $0.rounded() })
            XCTAssertEqual(Set(windowed.pixels), [0, 79, 198])
            for (uri, status, message) in [
                ("/v1/images/\(info.id)/slices/oblique/0", HTTPResponse.Status.badRequest, "axis: 'oblique' is not one of axial, coronal, sagittal"),
                ("/v1/images/\(info.id)/slices/axial/5", .badRequest, "slice: 5 is outside 0...4"),
                ("/v1/images/\(info.id)/slices/axial/two", .badRequest, "slice: 'two' is not an integer"),
                ("/v1/images/\(info.id)/slices/axial/0?windowPreset=liver", .badRequest, "windowPreset: 'liver' is not one of"),
                ("/v1/images/nope/slices/axial/0", .notFound, "image 'nope' does not exist"),
            ] {
                try await client.execute(uri: uri, method: .get) { r in
                    XCTAssertEqual(r.status, status, uri)
                    XCTAssertTrue(String(buffer: r.body).contains(message), "\(uri): \(String(buffer: r.body))")
                }
            }
            let picture = try await self.upload(client, try PNGCodec.encode(ServerAPITests.image()), name: "p.png")
            try await client.execute(uri: "/v1/images/\(picture.id)/slices/axial/0?window=40,400", method: .get) { r in
                XCTAssertEqual(r.status, .badRequest)
                XCTAssertTrue(String(buffer: r.body).contains("a window applies to volumes"), String(buffer: r.body))
            }
            try await client.execute(uri: "/v1/window-presets", method: .get) { r in
                let presets = try self.decode([String: IntensityWindow].self, r)
                XCTAssertEqual(presets, IntensityWindow.presets)
            }
        }
        service.shutdown()
    }

    func testLabelSlicesAndUndo() async throws {
        let service = try makeService()
        try await app(service).withRouterClient { client in
            let info = try await self.upload(client, try self.niftiBytes(ServerAPITests.volume()), name: "v.nii.gz")
            func segment(_ box: [Float], label: Int) async throws -> SegmentResponse {
                try await client.execute(uri: "/v1/images/\(info.id)/segment", method: .post,
                                         body: try self.json(SegmentRequest(axis: .axial, slice: 2, boxes: [box], label: label))) {
                    try self.decode(SegmentResponse.self, $0)
                }
            }
            func labels(_ format: String = "raw") async throws -> [UInt8] {
                try await client.execute(uri: "/v1/images/\(info.id)/labels/axial/2?format=\(format)", method: .get) { r in
                    XCTAssertEqual(r.status, .ok, String(buffer: r.body))
                    if format == "png" {
                        return try PNGCodec.decode(Array(r.body.readableBytesView), path: "labels.png").pixels.map { UInt8($0) }
                    }
                    return Array(r.body.readableBytesView)
                }
            }
            func undo() async throws -> (HTTPResponse.Status, String) {
                try await client.execute(uri: "/v1/images/\(info.id)/labels/undo", method: .post) { ($0.status, String(buffer: $0.body)) }
            }
            let got1 = try await labels()
            XCTAssertEqual(got1, [UInt8](repeating: 0, count: 40 * 36))
            let first = try await segment([2, 2, 30, 30], label: 3)
            let afterFirst = try await labels()
            let best = try XCTUnwrap(first.masks.first { $0.best })
            XCTAssertEqual(afterFirst, MaskEncoding.decode(try XCTUnwrap(best.rle)).map { $0 > 0 ? 3 : 0 })
            XCTAssertGreaterThan(best.area, 0)
            let got2 = try await labels("png")
            XCTAssertEqual(got2, afterFirst)
            // Another slice keeps its zeros.
            try await client.execute(uri: "/v1/images/\(info.id)/labels/axial/1?format=raw", method: .get) { r in
                XCTAssertEqual(Array(r.body.readableBytesView), [UInt8](repeating: 0, count: 40 * 36))
            }
            _ = try await segment([20, 15, 39, 35], label: 3)
            let afterSecond = try await labels()
            XCTAssertNotEqual(afterSecond, afterFirst, "the second box must give another mask for this test to mean anything")
            var (status, body) = try await undo()
            XCTAssertEqual(status, .ok, body)
            XCTAssertEqual(try JSONDecoder().decode(UndoResponse.self, from: Data(body.utf8)).remaining, 1)
            let got3 = try await labels()
            XCTAssertEqual(got3, afterFirst)
            (status, _) = try await undo()
            XCTAssertEqual(status, .ok)
            let got4 = try await labels()
            XCTAssertEqual(got4, [UInt8](repeating: 0, count: 40 * 36))
            (status, body) = try await undo()
            XCTAssertEqual(status, .conflict)
            XCTAssertTrue(body.contains("no label change left to undo"), body)
            // Clearing is an edit like the others.
            _ = try await segment([2, 2, 30, 30], label: 3)
            try await client.execute(uri: "/v1/images/\(info.id)/labels", method: .delete) { XCTAssertEqual($0.status, .noContent) }
            let got5 = try await labels()
            XCTAssertEqual(got5, [UInt8](repeating: 0, count: 40 * 36))
            (status, _) = try await undo()
            XCTAssertEqual(status, .ok)
            let got6 = try await labels()
            XCTAssertEqual(got6, afterFirst)
            try await client.execute(uri: "/v1/images/\(info.id)/labels/axial/2?format=jpeg", method: .get) { r in
                XCTAssertEqual(r.status, .badRequest)
                XCTAssertTrue(String(buffer: r.body).contains("format: 'jpeg' is not one of png, raw"))
            }
        }
        service.shutdown()
    }

    func testMetricsReportSegmentStagesAndTheCache() async throws {
        let service = try makeService()
        let metrics = ServerMetrics()
        try await app(service, metrics: metrics).withRouterClient { client in
            let info = try await self.upload(client, try PNGCodec.encode(ServerAPITests.image()), name: "p.png")
            for _ in 0..<3 {
                try await client.execute(uri: "/v1/images/\(info.id)/segment", method: .post,
                                         body: try self.json(SegmentRequest(boxes: [[10, 12, 50, 60]]))) { XCTAssertEqual($0.status, .ok) }
            }
            let text = try await client.execute(uri: "/metrics", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(r.headers[.contentType], "text/plain; version=0.0.4; charset=utf-8")
                return String(buffer: r.body)
            }
            let lines = Set(text.split(separator: "\n").map(String.init))
            for expected in [
                #"medsam_segment_seconds_count{stage="total"} 3"#, #"medsam_segment_seconds_count{stage="encode"} 3"#,
                "medsam_cache_hits 2.0", "medsam_cache_misses 1.0", "medsam_cache_entries 1.0", "medsam_images 1.0",
                "# TYPE medsam_segment_seconds histogram",
            ] {
                XCTAssertTrue(lines.contains(expected), "missing '\(expected)' in:\n\(text)")
            }
            let rss = try XCTUnwrap(lines.first { $0.hasPrefix("medsam_resident_memory_bytes ") })
            XCTAssertGreaterThan(Double(rss.split(separator: " ")[1]) ?? 0, 1e6, rss)
        }
        service.shutdown()
    }
}
