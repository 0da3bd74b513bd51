import SAMModels
import TensorRuntime
import XCTest
@testable import Checkpoints

/// Files written by torch and safetensors load to exactly the values torch wrote.
final class RoundTripTests: XCTestCase {
    private func assertMatchesExpected(_ source: CheckpointSource, _ stem: String,
                                       file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try Fixtures.expected(stem)
        XCTAssertEqual(source.keys, expected.map(\.key), "keys or their order differ", file: file, line: line)
        XCTAssertEqual(source.shapes.count, expected.count, file: file, line: line)
        for (key, tensor) in expected {
            XCTAssertEqual(source.shapes[key], tensor.shape, key, file: file, line: line)
            let loaded = try source.load(key)
            XCTAssertEqual(loaded.shape, tensor.shape, key, file: file, line: line)
            XCTAssertEqual(loaded.data, tensor.data, "values of \(key)", file: file, line: line)
        }
    }

    func testTorchSaveZipLoadsExactValues() throws {
        let checkpoint = try PyTorchCheckpoint(path: Fixtures.path("tiny_sam.pth"))
        XCTAssertEqual(checkpoint.archivePrefix, "tiny_sam/")
        XCTAssertEqual(checkpoint.keys.count, 174)
        try assertMatchesExpected(checkpoint, "tiny_sam")
    }

    func testWrappedModuleDeflatedAndZip64VariantsLoadIdentically() throws {
        for name in ["tiny_sam_wrapped.pth", "tiny_sam_module.pth", "tiny_sam_deflated.pth", "tiny_sam_zip64.pth"] {
            let checkpoint = try Checkpoint.open(path: Fixtures.path(name))
            XCTAssertTrue(checkpoint is PyTorchCheckpoint, name)
            try assertMatchesExpected(checkpoint, "tiny_sam")
        }
    }

    func testHuggingFaceSafetensorsMapsBackAndMatchesThePth() throws {
        // The file format reader presents the file's own names...
        let raw = try Checkpoint.open(path: Fixtures.path("tiny_sam_hf.safetensors"))
        guard let st = raw as? SafetensorsCheckpoint else { return XCTFail("not opened as safetensors") }
        XCTAssertEqual(st.metadata["format"], "pt")
        XCTAssertTrue(st.keys.contains("vision_encoder.patch_embed.projection.weight"), "\(st.keys.prefix(5))")
        XCTAssertTrue(st.keys.contains(HuggingFaceSAMNames.tiedCopy))
        // ...and the model family maps them back to the original names.
        let safetensors = try SAMCheckpoint.open(path: Fixtures.path("tiny_sam_hf.safetensors"))
        guard let renamed = safetensors as? RenamedCheckpoint else { return XCTFail("Hugging Face names were not mapped back") }
        XCTAssertTrue(renamed.base is SafetensorsCheckpoint)
        XCTAssertEqual(renamed.keys.count, st.keys.count - 1, "only the tied copy is dropped")
        XCTAssertEqual(renamed.storedNames["image_encoder.patch_embed.proj.weight"], "vision_encoder.patch_embed.projection.weight")
        let pth = try PyTorchCheckpoint(path: Fixtures.path("tiny_sam.pth"))
        // A file with original names is presented as it is.
        XCTAssertTrue(try SAMCheckpoint.withOriginalNames(pth) === pth)
        XCTAssertEqual(Set(safetensors.keys), Set(pth.keys))
        for key in pth.keys {
            XCTAssertEqual(try safetensors.load(key), try pth.load(key), key)
        }
    }

    func testEveryDTypeStrideAndOffset() throws {
        let checkpoint = try PyTorchCheckpoint(path: Fixtures.path("dtypes.pth"))
        try assertMatchesExpected(checkpoint, "dtypes")
        XCTAssertEqual(checkpoint.storedDTypes["half"], .float16)
        XCTAssertEqual(checkpoint.storedDTypes["bfloat"], .bfloat16)
        XCTAssertEqual(checkpoint.storedDTypes["double"], .float64)
        XCTAssertEqual(checkpoint.storedDTypes["long"], .int64)
        XCTAssertEqual(checkpoint.storedDTypes["int"], .int32)
        XCTAssertEqual(checkpoint.storedDTypes["byte"], .uint8)
        XCTAssertEqual(checkpoint.storedDTypes["bool"], .bool)
        XCTAssertEqual(checkpoint.shapes["scalar"], Shape([]))
        XCTAssertEqual(try checkpoint.load("scalar").data, [2.5])
        XCTAssertEqual(try checkpoint.load("long").data, [-3, 7, 123_456_789, 0])
        XCTAssertEqual(try checkpoint.load("bool").data, [1, 0, 1])
        // The transposed view and the slice share `base`'s storage.
        let base = try checkpoint.load("base"), transposed = try checkpoint.load("transposed")
        XCTAssertEqual(transposed.shape, Shape([5, 6]))
        XCTAssertEqual(transposed.data[1 * 6 + 2], base.data[2 * 5 + 1])
        XCTAssertEqual(try checkpoint.load("slice").data[0], base.data[2 * 5 + 1])
    }

    func testSafetensorsDTypes() throws {
        let checkpoint = try Checkpoint.open(path: Fixtures.path("dtypes.safetensors"))
        let expected = try Fixtures.expected("dtypes")
        XCTAssertEqual(Set(checkpoint.keys), Set(expected.map(\.key)))
        for (key, tensor) in expected { XCTAssertEqual(try checkpoint.load(key), tensor, key) }
    }

    func testLoadingReleasesNothingNeededTwice() throws {
        // Pages are dropped after a load; a second load of the same tensor must still read it.
        let checkpoint = try PyTorchCheckpoint(path: Fixtures.path("tiny_sam.pth"))
        let key = "image_encoder.patch_embed.proj.weight"
        XCTAssertEqual(try checkpoint.load(key), try checkpoint.load(key))
        XCTAssertThrowsError(try checkpoint.load("no.such.key")) { error in
            XCTAssertEqual((error as? CheckpointError)?.problem, .unknownKey("no.such.key"))
        }
    }

    func testHuggingFaceNameMappingRoundTrips() throws {
        let pth = try PyTorchCheckpoint(path: Fixtures.path("tiny_sam.pth"))
        for key in pth.keys {
            let hf = HuggingFaceSAMNames.huggingFaceName(for: key)
            XCTAssertEqual(HuggingFaceSAMNames.originalName(for: hf), key, "\(key) -> \(hf)")
        }
        XCTAssertEqual(HuggingFaceSAMNames.huggingFaceName(for: "image_encoder.blocks.3.norm1.weight"),
                       "vision_encoder.layers.3.layer_norm1.weight")
        XCTAssertEqual(HuggingFaceSAMNames.huggingFaceName(for: "mask_decoder.output_hypernetworks_mlps.2.layers.1.bias"),
                       "mask_decoder.output_hypernetworks_mlps.2.layers.0.bias")
        XCTAssertNil(HuggingFaceSAMNames.originalName(for: HuggingFaceSAMNames.tiedCopy))
    }
}
