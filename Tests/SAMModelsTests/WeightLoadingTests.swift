import TensorRuntime
import XCTest
import SAMModels

final class WeightLoadingTests: XCTestCase {
    /// Key counts of the published state dicts (docs/sam-spec.md §1.5, §8.4): ViT-B 314, ViT-L 482, ViT-H 594;
    /// LiteMedSAM 435 minus its 27 `num_batches_tracked` counters.
    func testManifestsMatchPublishedCheckpoints() {
        XCTAssertEqual(SAMModel.manifest(ModelKind.samViTB.config).count, 314)
        XCTAssertEqual(SAMModel.manifest(ModelKind.samViTL.config).count, 482)
        XCTAssertEqual(SAMModel.manifest(ModelKind.samViTH.config).count, 594)
        let lite = SAMModel.manifest(ModelKind.litemedsam.config)
        XCTAssertEqual(lite.count, 408)
        func params(_ m: [(key: String, shape: Shape)], _ prefix: String) -> Int {
            m.filter { $0.key.hasPrefix(prefix) }.reduce(0) { $0 + $1.shape.count }
        }
        let vitB = SAMModel.manifest(ModelKind.samViTB.config)
        XCTAssertEqual(params(vitB, ""), 93_735_728)
        XCTAssertEqual(params(vitB, "image_encoder."), 89_670_912)
        XCTAssertEqual(params(SAMModel.manifest(ModelKind.samViTH.config), ""), 641_090_864)
        XCTAssertEqual(params(lite, "image_encoder."), 5_736_596)
        XCTAssertEqual(params(lite, "prompt_encoder."), 6_476)
        XCTAssertEqual(params(lite, "mask_decoder."), 4_058_340)
    }

    /// The expected checkpoint keys are the manifest plus stored-only tensors, and those are
    /// exactly what weight verification ignores: BatchNorm counters, MobileSAM's ImageNet head.
    func testCheckpointKeysAreTheManifestPlusWhatLoadingIgnores() {
        for kind in ModelKind.allCases {
            let config = kind.config
            let manifest = SAMModel.manifest(config)
            let stored = SAMModel.checkpointKeys(config)
            let manifestKeys = Set(manifest.map(\.key))
            XCTAssertEqual(Set(stored.map(\.key)).count, stored.count, "\(kind.rawValue): duplicate keys")
            XCTAssertTrue(manifestKeys.isSubset(of: stored.map(\.key)), kind.rawValue)
            let extra = stored.filter { !manifestKeys.contains($0.key) }
            XCTAssertTrue(extra.allSatisfy { config.isIgnoredCheckpointKey($0.key) }, "\(kind.rawValue): \(extra.map(\.key))")
            XCTAssertTrue(manifest.allSatisfy { !config.isIgnoredCheckpointKey($0.key) }, kind.rawValue)
            let counters = extra.filter { $0.key.hasSuffix("num_batches_tracked") }
            XCTAssertTrue(counters.allSatisfy { $0.shape == Shape([]) }, kind.rawValue)
            switch kind {
            case .litemedsam: XCTAssertEqual(extra.count, 27)
            case .mobilesam: XCTAssertEqual(extra.map(\.key).filter { !$0.hasSuffix("num_batches_tracked") },
                                            ["image_encoder.norm_head.weight", "image_encoder.norm_head.bias",
                                             "image_encoder.head.weight", "image_encoder.head.bias"])
            default: XCTAssertEqual(extra.count, 0, kind.rawValue)
            }
        }
    }

    /// Loading the small TinyViT's checkpoint into the small SAM ViT model names the keys.
    func testWrongCheckpointFailsWithNamedKeys() throws {
        let tinyViT = try NPYFolderSource(Fixtures.root.appendingPathComponent("tinyvit_lite_small/weights"))
        XCTAssertThrowsError(try SAMModel(config: SmallSAMParityTests.config, weights: tinyViT)) { error in
            guard case WeightError.mismatch(let m) = error else { return XCTFail("unexpected \(error)") }
            let missing = m.missing.map(\.key), unexpected = m.unexpected.map(\.key)
            XCTAssertTrue(missing.contains("image_encoder.patch_embed.proj.weight"), "\(missing)")
            XCTAssertTrue(missing.contains("mask_decoder.iou_token.weight"))
            XCTAssertTrue(unexpected.contains("image_encoder.patch_embed.seq.0.c.weight"), "\(unexpected)")
            XCTAssertTrue(unexpected.contains("image_encoder.layers.1.blocks.0.attn.attention_biases"))
            XCTAssertTrue(m.description.contains("missing:    image_encoder.pos_embed [1,8,8,48]"), m.description)
        }
        // Same architecture, other window size: the relative-position tables are mis-shaped.
        var other = SmallSAMParityTests.config
        if case .vit(var v) = other.encoder { v.windowSize = 4; other.encoder = .vit(v) }
        let sam = try NPYFolderSource(Fixtures.root.appendingPathComponent("sam_small/weights"))
        XCTAssertThrowsError(try SAMModel(config: other, weights: sam)) { error in
            guard case WeightError.mismatch(let m) = error else { return XCTFail("unexpected \(error)") }
            XCTAssertTrue(m.missing.isEmpty && m.unexpected.isEmpty)
            XCTAssertEqual(m.misshaped.map(\.key), ["image_encoder.blocks.0.attn.rel_pos_h", "image_encoder.blocks.0.attn.rel_pos_w",
                                                    "image_encoder.blocks.2.attn.rel_pos_h", "image_encoder.blocks.2.attn.rel_pos_w"])
            XCTAssertEqual(m.misshaped.first?.expected, [7, 16])
            XCTAssertEqual(m.misshaped.first?.found, [5, 16])
        }
    }

    func testIgnoredKeysAreOnlyTheUnusedOnes() {
        let mobile = ModelKind.mobilesam.config, vit = ModelKind.samViTB.config
        XCTAssertTrue(mobile.isIgnoredCheckpointKey("image_encoder.norm_head.weight"))
        XCTAssertTrue(mobile.isIgnoredCheckpointKey("image_encoder.head.bias"))
        XCTAssertTrue(mobile.isIgnoredCheckpointKey("image_encoder.layers.0.blocks.0.conv1.bn.num_batches_tracked"))
        XCTAssertFalse(vit.isIgnoredCheckpointKey("image_encoder.head.bias"))
        XCTAssertFalse(vit.isIgnoredCheckpointKey("pixel_mean"))
    }

    /// Full-size graphs build and plan (a backend that allocates nothing); they are not run here.
    func testFullSizeGraphsBuildAndPlan() throws {
        for kind in [ModelKind.samViTB, .samViTH, .litemedsam, .mobilesam] {
            let model = try SAMModel(kind: kind, weights: ZeroWeights(SAMModel.manifest(kind.config)))
            let encoder = try CompiledGraph(try model.encoderGraph(), backend: PlanningBackend())
            let decoder = try CompiledGraph(try model.decoderGraph(DecoderVariant(prompts: 4, points: 2, box: true,
                                                                                   multimask: true)),
                                            backend: PlanningBackend())
            XCTAssertEqual(encoder.inputShapes["image"], [1, 3, kind.inputSize, kind.inputSize])
            XCTAssertGreaterThan(encoder.peakIntermediateBytes, 0)
            print(String(format: "  %@: encoder peak %.1f MiB (unplanned %.1f MiB), decoder (4 prompts) peak %.1f MiB",
                         kind.rawValue, Double(encoder.peakIntermediateBytes) / 1_048_576,
                         Double(encoder.memoryPlan.unplannedBytes(.float32)) / 1_048_576,
                         Double(decoder.peakIntermediateBytes) / 1_048_576))
        }
    }
}
