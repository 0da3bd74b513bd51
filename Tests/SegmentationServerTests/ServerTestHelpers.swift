import Foundation
import Hummingbird
import Logging
import MedicalImaging
import NIOCore
import SegmentationServer
import TensorRuntime
import XCTest

/// What the server suites share: a service on the small random model, the application around
/// it, and request/response helpers. `folder` is the test's own temporary folder.
protocol ServerTestHelpers: XCTestCase {
    var folder: URL! { get }
}

extension ServerTestHelpers {
    func makeService(cacheBytes: Int = 64 << 20, maxUpload: Int = 64 << 20) throws -> SegmentationService {
        try SegmentationService(model: try ServerAPITests.model(), backend: ReferenceBackend(), modelName: "random",
                                options: .init(cacheBytes: cacheBytes, maxUploadBytes: maxUpload,
                                               temporaryFolder: folder.appendingPathComponent("server")))
    }

    func app(_ service: SegmentationService, token: String? = nil, maxUpload: Int = 64 << 20,
             metrics: ServerMetrics = ServerMetrics()) -> some ApplicationProtocol {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return SegmentationServer.makeApplication(
            service: service, configuration: ServerConfiguration(token: token, maxUploadBytes: maxUpload), logger: logger,
            metrics: metrics)
    }

    func niftiBytes(_ v: Volume) throws -> [UInt8] {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent("v.nii.gz")
        try NIfTIWriter.write(v, to: url, as: .uint8)
        return [UInt8](try Data(contentsOf: url))
    }

    func json<T: Encodable>(_ value: T) throws -> ByteBuffer { ByteBuffer(bytes: try JSONEncoder().encode(value)) }

    func decode<T: Decodable>(_ type: T.Type, _ response: RouterResponse, file: StaticString = #filePath, line: UInt = #line) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(buffer: response.body)) } catch {
            XCTFail("\(response.status): \(String(buffer: response.body))", file: file, line: line)
            throw error
        }
    }

    func upload<R>(_ client: RouterClient<R>, _ bytes: [UInt8], name: String) async throws -> ImageInfo {
        try await client.execute(uri: "/v1/images?name=\(name)", method: .post, body: ByteBuffer(bytes: bytes)) { r in
            XCTAssertEqual(r.status, .created, String(buffer: r.body))
            return try self.decode(ImageInfo.self, r)
        }
    }

}
