import Checkpoints
import Foundation
import TensorRuntime
import XCTest
@testable import SAMModels

/// Model recognition from keys and shapes, and the key tables it checks against.
final class RegistryTests: XCTestCase {
    private func table(_ kind: ModelKind) -> [String: Shape] {
        Dictionary(uniqueKeysWithValues: ExpectedCheckpointKeys.shapes(for: kind).map { ($0.key, $0.shape) })
    }

    func testKeyTablesMatchTheSpecCounts() {
        // docs/sam-spec.md §1.1, §1.5 and §8.4: tensors and parameters of the whole published models.
        let expected: [(ModelKind, Int, Int)] = [(.samViTB, 314, 93_735_728), (.samViTL, 482, 312_343_088),
                                                 (.samViTH, 594, 641_090_864), (.litemedsam, 435, 9_801_439)]
        for (kind, tensors, parameters) in expected {
            let t = ExpectedCheckpointKeys.shapes(for: kind)
            XCTAssertEqual(t.count, tensors, kind.rawValue)
            XCTAssertEqual(t.reduce(0) { $0 + $1.shape.count }, parameters, kind.rawValue)
            XCTAssertEqual(Set(t.map(\.key)).count, t.count, "duplicate keys in \(kind.rawValue)")
        }
    }

    func testLiteMedSAMTableEqualsThePublishedKeyList() throws {
        // lite_medsam_keys.tsv: every key of the real checkpoint, in file order, with its shape
        // (docs/sam-spec.md §8.4). The table is derived from the graph builders, so this checks
        // the graphs declare exactly the real file's tensors.
        let text = try String(contentsOf: Fixtures.url("lite_medsam_keys.tsv"), encoding: .utf8)
        let published = text.split(separator: "\n").map { line -> (String, Shape) in
            let f = line.split(separator: "\t")
            let dims = f[1].dropFirst().dropLast().split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces))! }
            return (String(f[0]), Shape(dims))
        }
        let ours = ExpectedCheckpointKeys.shapes(for: .litemedsam)
        XCTAssertEqual(published.count, 435)
        XCTAssertEqual(ours.count, published.count)
        let oursByKey = Dictionary(uniqueKeysWithValues: ours.map { ($0.key, $0.shape) })
        let publishedByKey = Dictionary(uniqueKeysWithValues: published)
        XCTAssertEqual(Set(oursByKey.keys).subtracting(publishedByKey.keys).sorted(), [], "derived but not in the file")
        XCTAssertEqual(Set(publishedByKey.keys).subtracting(oursByKey.keys).sorted(), [], "in the file but not derived")
        for (key, shape) in publishedByKey { XCTAssertEqual(oursByKey[key], shape, key) }
    }

    func testRecognisesEveryModelFromItsKeys() throws {
        for kind in ModelKind.allCases {
            let recognised = try ModelRecognition.recognise(table(kind), path: "x.pth").model
            XCTAssertEqual(recognised, kind == .medsam ? .samViTB : kind)
            XCTAssertEqual(try ModelRecognition.resolve(requested: kind, shapes: table(kind), path: "x.pth"), kind)
            XCTAssertEqual(try ModelRecognition.resolve(requested: nil, shapes: table(kind), path: "x.pth"),
                           kind == .medsam ? .samViTB : kind)
        }
    }

    func testMismatchNamesBothModelsAndTheDecidingKey() {
        XCTAssertThrowsError(try ModelRecognition.resolve(requested: .litemedsam, shapes: table(.samViTB), path: "b.pth")) { error in
            XCTAssertEqual(error as? ModelRecognitionError,
                           .mismatch(path: "b.pth", requested: .litemedsam, recognised: .samViTB,
                                     decidingKey: "image_encoder.patch_embed.proj.weight", shape: [768, 3, 16, 16]))
            let text = String(describing: error)
            XCTAssertTrue(text.contains("litemedsam") && text.contains("sam-vit-b") && text.contains("patch_embed.proj.weight"), text)
        }
        XCTAssertThrowsError(try ModelRecognition.resolve(requested: .mobilesam, shapes: table(.litemedsam), path: "l.pth")) { error in
            guard case .mismatch(_, .mobilesam, .litemedsam, "image_encoder.patch_embed.seq.0.c.weight", _)? = error as? ModelRecognitionError else {
                return XCTFail("\(error)")
            }
        }
        // medsam needs ViT-B, not ViT-H.
        XCTAssertThrowsError(try ModelRecognition.resolve(requested: .medsam, shapes: table(.samViTH), path: "h.pth")) { error in
            guard case .mismatch("h.pth", .medsam, .samViTH, "image_encoder.patch_embed.proj.weight", [1280, 3, 16, 16])? =
                    error as? ModelRecognitionError else { return XCTFail("\(error)") }
        }
    }

    func testWrongShapeForTheChosenModel() {
        var shapes = table(.samViTB)
        shapes["image_encoder.blocks.3.attn.qkv.weight"] = [2304, 1024]
        shapes.removeValue(forKey: "mask_decoder.iou_token.weight")
        shapes["extra.thing"] = [1]
        XCTAssertThrowsError(try ModelRecognition.resolve(requested: .medsam, shapes: shapes, path: "m.pth")) { error in
            guard case .keys(let path, let model, let report)? = error as? ModelRecognitionError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "m.pth")
            XCTAssertEqual(model, .medsam)
            XCTAssertEqual(report.misshaped, [.init(key: "image_encoder.blocks.3.attn.qkv.weight", expected: [2304, 768], found: [2304, 1024])])
            XCTAssertEqual(report.missing, ["mask_decoder.iou_token.weight"])
            XCTAssertEqual(report.unexpected, ["extra.thing"])
            XCTAssertTrue(String(describing: error).contains("image_encoder.blocks.3.attn.qkv.weight is [2304,1024], expected [2304,768]"))
        }
        var odd = table(.litemedsam)
        odd["image_encoder.patch_embed.seq.0.c.weight"] = [32, 3, 5, 5]
        XCTAssertThrowsError(try ModelRecognition.recognise(odd, path: "o.pth")) { error in
            guard case .unrecognised(let path, let reason)? = error as? ModelRecognitionError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "o.pth")
            XCTAssertTrue(reason.contains("patch_embed.seq.0.c.weight"))
        }
        var shallow = table(.samViTL)
        shallow = shallow.filter { !$0.key.hasPrefix("image_encoder.blocks.23.") }
        XCTAssertThrowsError(try ModelRecognition.recognise(shallow, path: "s.pth")) { error in
            guard case .unrecognised("s.pth", let reason)? = error as? ModelRecognitionError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("24 blocks") && reason.contains("has 23 blocks"), reason)
        }
    }

    func testTinySAMFixtureIsNotAKnownModel() throws {
        // Real key names with tiny widths: recognition must say why it is no known model.
        let c = try Checkpoint.open(path: Fixtures.path("tiny_sam.pth"))
        XCTAssertThrowsError(try CheckpointSummary.summarise(c)) { error in
            guard case .unrecognised(_, let reason)? = error as? ModelRecognitionError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("image_encoder.patch_embed.proj.weight") && reason.contains("[8,3,4,4]"), reason)
        }
    }
}
