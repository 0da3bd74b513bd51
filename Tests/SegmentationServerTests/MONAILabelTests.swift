import Foundation
import Hummingbird
import MedicalImaging
import NIOCore
import SegmentationServer
import XCTest

/// The MONAI Label subset through the router (the real client is exercised by
/// scripts/tests/check_monailabel.py): the multipart forms MONAI Label's client sends and reads.
final class MONAILabelTests: XCTestCase, ServerTestHelpers {
    var folder: URL!

    override func setUp() {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("monai-tests-\(UUID().uuidString)")
    }

    override func tearDown() { try? FileManager.default.removeItem(at: folder) }

    func testMultipartRoundTrip() throws {
        let parts = [Multipart.Part(name: "params", data: Array(#"{"a": 1}"#.utf8)),
                     Multipart.Part(name: "file", filename: "ct.nii.gz", contentType: "application/gzip",
                                    data: [0, 13, 10, 45, 45, 255, 13, 10])]
        let encoded = Multipart.encode(parts, boundary: "XyZ")
        XCTAssertEqual(Multipart.boundary(contentType: encoded.contentType), "XyZ")
        XCTAssertEqual(try Multipart.parse(encoded.body, boundary: "XyZ"), parts)
        XCTAssertThrowsError(try Multipart.parse(Array("no parts here".utf8), boundary: "XyZ"))
    }

    func testInfoDatastoreAndInferGiveTheNativeMaskOnTheClickedSlice() async throws {
        let t = self
        let service = try t.makeService()
        let volume = ServerAPITests.volume()
        let bytes = try t.niftiBytes(volume)
        try await t.app(service).withRouterClient { client in
            try await client.execute(uri: "/info/", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                let info = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as! [String: Any]
                let models = info["models"] as! [String: [String: Any]]
                XCTAssertEqual(models["medsam"]?["type"] as? String, "deepgrow")
                XCTAssertEqual(models["medsam"]?["dimension"] as? Int, 2)
                XCTAssertEqual(models["medsam_3d"]?["dimension"] as? Int, 3)
            }
            let upload = Multipart.encode([Multipart.Part(name: "params", data: Array("{}".utf8)),
                                           Multipart.Part(name: "file", filename: "case.nii.gz", data: bytes)])
            try await client.execute(uri: "/datastore/?image=case1", method: .put,
                                     headers: [.contentType: upload.contentType], body: ByteBuffer(bytes: upload.body)) { r in
                XCTAssertEqual(r.status, .ok, String(buffer: r.body))
                XCTAssertEqual(try JSONDecoder().decode([String: String].self, from: Data(buffer: r.body)), ["image": "case1"])
            }
            let params = #"{"foreground": [[12, 12, 2]], "background": [[30, 30, 2], [1, 1, 4]], "client_id": null}"#
            let infer = Multipart.encode([Multipart.Part(name: "params", data: Array(params.utf8))])
            let label = try await client.execute(uri: "/infer/medsam?image=case1", method: .post,
                                                 headers: [.contentType: infer.contentType], body: ByteBuffer(bytes: infer.body)) { r in
                XCTAssertEqual(r.status, .ok, String(buffer: r.body))
                let type = try XCTUnwrap(r.headers[.contentType])
                let parts = try Multipart.parse([UInt8](Data(buffer: r.body)), boundary: try XCTUnwrap(Multipart.boundary(contentType: type)))
                XCTAssertEqual(parts.map(\.name), ["params", "label"])
                XCTAssertEqual(parts[1].filename, "case1_label.nii.gz")
                return parts[1].data
            }
            let url = t.folder.appendingPathComponent("label.nii.gz")
            try Data(label).write(to: url)
            let labels = try NIfTIReader.read(url)
            XCTAssertEqual(labels.dims, volume.dims)
            // The clicks on slice 2 only (the background click on slice 4 is an earlier interaction).
            let native = try await client.execute(uri: "/v1/images/case1/segment", method: .post,
                                                  body: try t.json(SegmentRequest(slice: 2, points: [[12, 12], [30, 30]], labels: [1, 0]))) {
                try t.decode(SegmentResponse.self, $0)
            }
            let best = try XCTUnwrap(native.masks.first { $0.best })
            XCTAssertEqual(try labels.slice(.axial, 2).pixels, MaskEncoding.decode(try XCTUnwrap(best.rle)))
            for k in [0, 1, 3, 4] { XCTAssertEqual(try labels.slice(.axial, k).pixels.max(), 0, "slice \(k)") }

            try await client.execute(uri: "/infer/nope?image=case1", method: .post,
                                     headers: [.contentType: infer.contentType], body: ByteBuffer(bytes: infer.body)) { r in
                XCTAssertEqual(r.status, .notFound)
            }
        }
        service.shutdown()
    }
}
