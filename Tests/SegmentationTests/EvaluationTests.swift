import Foundation
import MedicalImaging
import SAMModels
@testable import Segmentation
import TensorRuntime
import XCTest

/// `medsam evaluate`'s library: COSMOS prompt sampling on known masks, the box jitter's bounds
/// and seed, metrics of known predictions (MedSAM's NSD rule, empty predictions), summary
/// statistics, dataset loaders' errors (each names its file and field), and a whole run on a
/// small random SAM (one encoder run per slice, oracle >= best-IoU choice, byte-identical CSVs).
final class EvaluationTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("evaluation-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A mask of `height x width` with the pixels `inside(x, y)` set.
    func mask(_ h: Int, _ w: Int, _ inside: (Int, Int) -> Bool) -> [Bool] {
        (0..<(h * w)).map { inside($0 % w, $0 / w) }
    }

    // MARK: Prompt sampling

    func testCentroidIsTruncatedMeanAndMayLieOutsideAConcaveMask() throws {
        // An L: column x = 2 for rows 2...9, and row y = 9 for x = 2...9 (15 pixels).
        let m = mask(12, 12) { x, y in (x == 2 && (2...9).contains(y)) || (y == 9 && (2...9).contains(x)) }
        // sum x = 8*2 + (3+...+9) = 16 + 42 = 58 -> 58/15 = 3.87 -> 3; sum y = (2+...+9) + 7*9 = 44 + 63 = 107 -> 7.13 -> 7
        XCTAssertEqual(PromptSampler.centroid(m, height: 12, width: 12), PromptSampler.Pixel(x: 3, y: 7))
        XCTAssertFalse(m[7 * 12 + 3], "this centroid lies outside the L, as COSMOS allows")
        XCTAssertNil(PromptSampler.centroid([Bool](repeating: false, count: 9), height: 3, width: 3))
    }

    func testUniformSamplesTakeEveryStepThAndNeverASixth() {
        let px = (0..<12).map { PromptSampler.Pixel(x: $0, y: 0) }
        // step = int(12/5) = 2: indices 0, 2, 4, 6, 8 (COSMOS's slice also holds 10: the sixth it mislabels)
        XCTAssertEqual(PromptSampler.uniformSamples(px, count: 5).map(\.x), [0, 2, 4, 6, 8])
        XCTAssertEqual(PromptSampler.uniformSamples(Array(px.prefix(3)), count: 5).map(\.x), [0, 1, 2])
        XCTAssertEqual(PromptSampler.uniformSamples(Array(px.prefix(10)), count: 5).map(\.x), [0, 2, 4, 6, 8])
    }

    func testForegroundAndBackgroundPointsFollowTheCOSMOSRule() throws {
        let h = 40, w = 50
        // A 10x6 block at x 20...29, y 10...15: 60 pixels, step 12.
        let m = mask(h, w) { x, y in (20...29).contains(x) && (10...15).contains(y) }
        let fg = PromptSampler.foregroundPoints(m, height: h, width: w)
        XCTAssertEqual(fg.count, 5)
        XCTAssertEqual(fg[0], PromptSampler.Pixel(x: 24, y: 12), "centroid (24.5, 12.5) truncated")
        // Row-major foreground list: index 12 is row 11 x 22, 24 row 12 x 24, 36 row 13 x 26, 48 row 14 x 28.
        XCTAssertEqual(Array(fg.dropFirst()), [.init(x: 22, y: 11), .init(x: 24, y: 12), .init(x: 26, y: 13), .init(x: 28, y: 14)])
        let box = PromptSampler.tightBox(m, height: h, width: w)!
        XCTAssertEqual(box, [20, 10, 29, 15])
        let big = PromptSampler.enlargedBox(box, height: h, width: w)
        XCTAssertEqual(big, [15, 7, 32, 16], "COSMOS's limit_rect: x from 15.5 for 18 px -> 15...32, y from 7.5 for 10 px -> 7...16")
        let bg = PromptSampler.backgroundPoints(m, height: h, width: w)
        XCTAssertEqual(bg.count, 5)
        for p in bg {
            XCTAssertFalse(m[p.y * w + p.x], "background point \(p) lies in the mask")
            XCTAssertTrue((big[0]...big[2]).contains(p.x) && (big[1]...big[3]).contains(p.y), "\(p) outside the enlarged box")
        }
        XCTAssertEqual(bg[0], PromptSampler.Pixel(x: 15, y: 7), "the first background pixel of the enlarged box")
        let p55 = PromptSampler.prompt(.point5plus5, mask: m, height: h, width: w, box: nil)
        XCTAssertEqual(p55.points.map(\.label), [1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
        XCTAssertEqual(PromptSampler.prompt(.point1, mask: m, height: h, width: w, box: nil).points,
                       [ImagePrompt.Point(x: 24, y: 12, label: 1)])
        let bp = PromptSampler.prompt(.boxPoint1, mask: m, height: h, width: w, box: [20, 10, 29, 15])
        XCTAssertEqual(bp.box, [20, 10, 29, 15])
        XCTAssertEqual(bp.points.count, 1)
    }

    func testEnlargedBoxIsClippedToTheImage() {
        // x: -4.5...13.5 clipped to 0...12 (12 px); y: -2...6, start clipped, 6 px.
        XCTAssertEqual(PromptSampler.enlargedBox([0, 0, 9, 4], height: 10, width: 12), [0, 0, 11, 5])
        // A mask one pixel wide: no columns (COSMOS's slice is empty), no background points.
        XCTAssertEqual(PromptSampler.enlargedBox([5, 2, 5, 8], height: 20, width: 20), [5, 0, 4, 10])
        let line = (0..<400).map { $0 % 20 == 5 && (2...8).contains($0 / 20) }
        XCTAssertEqual(PromptSampler.backgroundPoints(line, height: 20, width: 20), [])
    }

    /// `Fixtures/evaluation/cosmos_sampling.json`: what COSMOS's own code returned on real masks.
    struct COSMOSFixture: Decodable {
        struct Prompt: Decodable { var points: [[Int]]; var labels: [Int] }
        struct Output: Decodable {
            var error: String?
            var centroid: [Int]?
            var points_fg: [[Int]]?
            var points_bg: [[Int]]?
            var limit_rect: [Double]
            var box: [Int]
            var prompts: [String: Prompt]?
        }
        /// Where a mask comes from; `file` and `label` for the `mni` fixture's label maps.
        struct Identity: Decodable { var file: String?; var label: Int? }
        struct Case: Decodable {
            var name: String
            var identity: Identity
            var height: Int
            var width: Int
            var n: Int
            var runs: [[Int]]
            var centroid_outside: Bool
            var cosmos: Output
        }
        var cases: [Case]
    }

    /// Our sampling against COSMOS's `find_center_from_mask_new`, `limit_rect`,
    /// `find_box_from_mask` and `find_all_info` (their repository's code, run by
    /// scripts/reference/cosmos_sampling.py) on MNI152 masks: the six evaluation-fixture masks,
    /// components with the 2x region inside the slice, clipped on each side alone, ending at the
    /// border and half a pixel before it, odd and even extents, 1 to 19 pixels, lines.
    func testSamplingEqualsCOSMOSCodeOnRealMasks() throws {
        let url = Bundle.module.url(forResource: "Fixtures/evaluation/cosmos_sampling", withExtension: "json")!
        let fixture = try JSONDecoder().decode(COSMOSFixture.self, from: Data(contentsOf: url))
        XCTAssertEqual(fixture.cases.count, 29)
        func pixels(_ p: [[Int]]) -> [PromptSampler.Pixel] { p.map { PromptSampler.Pixel(x: $0[0], y: $0[1]) } }
        func prompt(_ p: COSMOSFixture.Prompt) -> [ImagePrompt.Point] {
            zip(p.points, p.labels).map { ImagePrompt.Point(x: Float($0[0]), y: Float($0[1]), label: $1) }
        }
        var sixthSamples = 0, raised = 0, outside = 0, fromEvaluationFixture = 0
        for c in fixture.cases {
            let (h, w, want) = (c.height, c.width, c.cosmos)
            var m = [Bool](repeating: false, count: h * w)
            for r in c.runs { for i in r[0]..<(r[0] + r[1]) { m[i] = true } }
            XCTAssertEqual(m.lazy.filter { $0 }.count, c.n, c.name)
            if let file = c.identity.file, let label = c.identity.label {
                // The fixture's copy of an `mni` label mask is the mask `medsam evaluate` reads.
                let url = Bundle.module.url(forResource: "Fixtures/evaluation/" + file, withExtension: nil)!
                guard case .image(let l) = try MedicalImageFile.read(url) else { return XCTFail("\(file): not a 2-D image") }
                XCTAssertEqual(l.pixels.count, m.count, file)
                XCTAssertEqual(zip(l.pixels, m).filter { (Int($0) == label) != $1 }.count, 0, "\(c.name): pixels differing from \(file)")
                fromEvaluationFixture += 1
            }

            // The tight box (find_box_from_mask), as the evaluator takes it from LabelBoxes.
            let tight = try XCTUnwrap(PromptSampler.tightBox(m, height: h, width: w), c.name)
            XCTAssertEqual(tight, want.box, "\(c.name): tight box")
            let plane = m.map { $0 ? Float(1) : 0 }
            XCTAssertEqual(LabelBoxes.boxes(labels: plane, height: h, width: w, margin: .fixed(0), key: "k").first?.box,
                           want.box.map(Float.init), "\(c.name): the box of the box modes")
            // The 2x region: limit_rect's (x, y, w, h), taken by COSMOS as int(x) ..< int(x) + int(w).
            let r = want.limit_rect
            let region = [Int(r[0]), Int(r[1]), Int(r[0]) + Int(r[2]) - 1, Int(r[1]) + Int(r[3]) - 1]
            XCTAssertEqual(PromptSampler.enlargedBox(tight, height: h, width: w), region, "\(c.name): enlarged box")

            let fg = PromptSampler.foregroundPoints(m, height: h, width: w)
            let bg = PromptSampler.backgroundPoints(m, height: h, width: w)
            if let error = want.error {
                // COSMOS's code raises where it has fewer than five foreground or background pixels
                // to sample (step int(k/5) = 0; `medsam evaluate` skips such objects unless
                // --min-area is under 5). Ours samples every one of them.
                raised += 1
                XCTAssertEqual(error, "ValueError: slice step cannot be zero", c.name)
                var bgCount = 0
                for y in stride(from: region[1], through: region[3], by: 1) {
                    for x in stride(from: region[0], through: region[2], by: 1) where !m[y * w + x] { bgCount += 1 }
                }
                XCTAssertTrue(c.n < 5 || bgCount < 5, "\(c.name): COSMOS raised with \(c.n) fg, \(bgCount) bg pixels")
                XCTAssertEqual(fg.count, min(c.n, 5), c.name)
                XCTAssertEqual(bg.count, min(bgCount, 5), c.name)
                continue
            }
            let wantFG = pixels(try XCTUnwrap(want.points_fg)), wantBG = pixels(try XCTUnwrap(want.points_bg))
            let prompts = try XCTUnwrap(want.prompts)
            XCTAssertEqual(PromptSampler.centroid(m, height: h, width: w), pixels([try XCTUnwrap(want.centroid)])[0], c.name)
            if c.centroid_outside { outside += 1 }
            XCTAssertEqual(fg, Array(wantFG.prefix(5)), "\(c.name): foreground samples")
            XCTAssertEqual(bg, Array(wantBG.prefix(5)), "\(c.name): background samples")
            XCTAssertEqual(PromptSampler.prompt(.point1, mask: m, height: h, width: w, box: nil).points,
                           prompt(try XCTUnwrap(prompts["point1"])), "\(c.name): point1")
            XCTAssertEqual(PromptSampler.prompt(.point5, mask: m, height: h, width: w, box: nil).points,
                           prompt(try XCTUnwrap(prompts["point5"])), "\(c.name): point5")
            let bp = PromptSampler.prompt(.boxPoint1, mask: m, height: h, width: w, box: want.box.map(Float.init))
            XCTAssertEqual(bp.points, prompt(try XCTUnwrap(prompts["point1"])), "\(c.name): box+point1 point")
            XCTAssertEqual(bp.box, want.box.map(Float.init), "\(c.name): box+point1 box")

            // point5+5, the one documented difference. COSMOS's prompt is the first ten of
            // [foreground samples..., background samples...] under the labels [1]x5 + [0]x5, so a
            // sixth (or later) foreground sample goes in labelled background; ours is its first five
            // foreground samples labelled 1 and its first five background samples labelled 0.
            let theirs = try XCTUnwrap(prompts["point5+5"])
            XCTAssertEqual(pixels(theirs.points), Array((wantFG + wantBG).prefix(10)), "\(c.name): COSMOS's point5+5")
            XCTAssertEqual(theirs.labels, [1, 1, 1, 1, 1, 0, 0, 0, 0, 0], c.name)
            let ours = PromptSampler.prompt(.point5plus5, mask: m, height: h, width: w, box: nil).points
            let expected = Array(wantFG.prefix(5)).map { ImagePrompt.Point(x: Float($0.x), y: Float($0.y), label: 1) }
                + Array(wantBG.prefix(5)).map { ImagePrompt.Point(x: Float($0.x), y: Float($0.y), label: 0) }
            XCTAssertEqual(ours, expected, "\(c.name): point5+5")
            if wantFG.count == 5 {
                XCTAssertEqual(ours, prompt(theirs), "\(c.name): without a sixth sample the prompts are the same")
            } else {
                sixthSamples += 1
                for p in wantFG.dropFirst(5) {
                    XCTAssertTrue(m[p.y * w + p.x], "\(c.name): COSMOS's extra sample \(p) is a foreground pixel it labels 0")
                }
            }
        }
        // The fixture reaches the cases it was made for.
        XCTAssertEqual(fromEvaluationFixture, 6)
        XCTAssertEqual(raised, 4)
        XCTAssertEqual(sixthSamples, 21)
        XCTAssertGreaterThanOrEqual(outside, 5)
    }

    func testJitteredBoxesStayWithinTheJitterAndFollowTheSeed() throws {
        let h = 64, w = 64
        var plane = [Float](repeating: 0, count: h * w)
        for y in 20...40 { for x in 25...35 { plane[y * w + x] = 1 } }
        var seen = Set<[Float]>()
        for seed in UInt64(0)..<20 {
            let m = PromptSampler.margin(.boxJitter(max: 5), seed: seed)!
            let b = LabelBoxes.boxes(labels: plane, height: h, width: w, margin: m, key: "case#3")[0].box
            XCTAssertTrue((20...25).contains(b[0]) && (15...20).contains(b[1]) && (35...40).contains(b[2]) && (40...45).contains(b[3]), "\(b)")
            let again = LabelBoxes.boxes(labels: plane, height: h, width: w, margin: m, key: "case#3")[0].box
            XCTAssertEqual(b, again, "the same seed and key give the same box")
            seen.insert(b)
        }
        XCTAssertGreaterThan(seen.count, 10, "20 seeds should give many different boxes")
        XCTAssertEqual(PromptSampler.margin(.box, seed: 9), .fixed(0))
        XCTAssertEqual(PromptSampler.margin(.boxMargin(7), seed: 9), .fixed(7))
        XCTAssertNil(PromptSampler.margin(.point5, seed: 9))
    }

    func testModeNamesParseAndUnknownOnesAreNamed() throws {
        XCTAssertEqual(try EvaluationMode(name: "point5+5", jitter: 20, margin: 5), .point5plus5)
        XCTAssertEqual(try EvaluationMode(name: "box-jitter", jitter: 7, margin: 5), .boxJitter(max: 7))
        XCTAssertEqual(try EvaluationMode(name: "box+point1", jitter: 7, margin: 5).description, "box+point1")
        XCTAssertThrowsError(try EvaluationMode(name: "everything2", jitter: 0, margin: 0)) {
            XCTAssertTrue("\($0)".contains("'everything2'"), "\($0)")
        }
        XCTAssertThrowsError(try SliceSelection(parsing: "every:0"))
        XCTAssertEqual(try SliceSelection(parsing: "every:3"), .every(3))
    }

    // MARK: Metrics of known masks

    func evaluator(medsamRules: Bool = false) throws -> Evaluator {
        var o = EvaluationOptions()
        o.medsamRules = medsamRules
        return Evaluator(predictor: try predictor(), options: o)
    }

    func testScoresOfKnownPredictions() throws {
        let h = 30, w = 30
        let c = EvaluationCase(id: "c", image: "i", labels: "l", origin: "test")
        let gt = mask(h, w) { x, y in (5..<15).contains(x) && (5..<15).contains(y) }         // 100 px
        let shifted = mask(h, w) { x, y in (7..<17).contains(x) && (5..<15).contains(y) }    // 80 px overlap
        let e = try evaluator()
        let r = try e.score(c, label: 1, name: "a", slice: nil, mode: .box, choice: .single, groundTruth: gt, prediction: shifted,
                            height: h, width: w, spacing: (1, 1), predictedIoU: 0.5)
        XCTAssertEqual(r.dice, 0.8, accuracy: 1e-12)
        XCTAssertEqual(r.iou, 80.0 / 120.0, accuracy: 1e-12)
        XCTAssertEqual(r.smoothedDice, 160.1 / 200.1, accuracy: 1e-12)
        XCTAssertEqual(r.hd95!, 2, accuracy: 1e-9, "a 2-pixel shift")
        XCTAssertGreaterThan(r.nsd, 0.7)
        // Far away: Dice 0; NSD 0 both ways here, and MedSAM's rule agrees.
        let far = mask(h, w) { x, y in (22..<28).contains(x) && (22..<28).contains(y) }
        let rf = try e.score(c, label: 1, name: "a", slice: nil, mode: .box, choice: .single, groundTruth: gt, prediction: far,
                             height: h, width: w, spacing: (1, 1), predictedIoU: 0.5)
        XCTAssertEqual(rf.dice, 0)
        // Touching within the tolerance but Dice <= 0.2: NSD > 0 without the rule, 0 with it.
        let thin = mask(h, w) { x, y in x == 15 && (5..<15).contains(y) }
        let plain = try e.score(c, label: 1, name: "a", slice: nil, mode: .box, choice: .single, groundTruth: gt, prediction: thin,
                                height: h, width: w, spacing: (1, 1), predictedIoU: 0)
        XCTAssertLessThanOrEqual(plain.dice, 0.2)
        XCTAssertGreaterThan(plain.nsd, 0)
        let ruled = try evaluator(medsamRules: true).score(c, label: 1, name: "a", slice: nil, mode: .box, choice: .single,
                                                           groundTruth: gt, prediction: thin, height: h, width: w,
                                                           spacing: (1, 1), predictedIoU: 0)
        XCTAssertEqual(ruled.nsd, 0)
        // An empty prediction: Dice 0, no surface distance, counted as empty.
        let empty = try e.score(c, label: 1, name: "a", slice: nil, mode: .box, choice: .single, groundTruth: gt,
                                prediction: [Bool](repeating: false, count: h * w), height: h, width: w, spacing: (1, 1), predictedIoU: 0)
        XCTAssertEqual(empty.dice, 0)
        XCTAssertNil(empty.hd95)
        XCTAssertNil(empty.asd)
        XCTAssertTrue(empty.emptyPrediction)
        XCTAssertEqual(empty.nsd, 0)
    }

    func testStatisticsAreNumPys() throws {
        let s = try XCTUnwrap(MetricStatistics([3, 0, 2, 1]))
        XCTAssertEqual(s.mean, 1.5)
        XCTAssertEqual(s.std, 1.25.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(s.median, 1.5)
        XCTAssertEqual(s.q1, 0.75)
        XCTAssertEqual(s.q3, 2.25)
        XCTAssertNil(MetricStatistics([]))
    }

    // MARK: Datasets

    func write(_ text: String, _ name: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    func assertError(_ body: @autoclosure () throws -> Any, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { e in
            for p in parts { XCTAssertTrue("\(e)".contains(p), "'\(e)' lacks '\(p)'", file: file, line: line) }
        }
    }

    func testNNUNetLayoutErrorsNameTheFileAndField() throws {
        let root = dir.appendingPathComponent("Dataset001").path
        _ = try write("x", "Dataset001/imagesTs/a_0000.nii.gz")
        assertError(try EvaluationDataset.open(root, format: .nnunet), contains: ["dataset.json"])
        _ = try write(#"{"name": "x"}"#, "Dataset001/dataset.json")
        assertError(try EvaluationDataset.open(root), contains: ["dataset.json", "'labels'"])
        _ = try write(#"{"labels": {"background": 0, "liver": 1, "tumour": 2}, "file_ending": ".nii.gz"}"#, "Dataset001/dataset.json")
        assertError(try EvaluationDataset.open(root), contains: ["labelsTs"])
        _ = try write("x", "Dataset001/labelsTs/b.nii.gz")
        assertError(try EvaluationDataset.open(root), contains: ["imagesTs/a_0000.nii.gz", "labelsTs/a.nii.gz"])
        _ = try write("x", "Dataset001/labelsTs/a.nii.gz")
        _ = try write("x", "Dataset001/imagesTs/a_0001.nii.gz")
        let d = try EvaluationDataset.open(root)
        XCTAssertEqual(d.format, .nnunet)
        XCTAssertEqual(d.cases.map(\.id), ["a"], "the second channel is not a case")
        XCTAssertEqual(d.labelNames, [1: "liver", 2: "tumour"])
        // MSD spells labels the other way round.
        XCTAssertEqual(try EvaluationDataset.labelNames(json: ["0": "background", "1": "spleen"], source: "x"), [1: "spleen"])
    }

    func testManifestErrorsNameRowAndField() throws {
        let csv = try write("image,mask\na.png,b.png\n", "m.csv")
        assertError(try EvaluationDataset.open(csv), contains: [csv, "column 2", "'mask'"])
        let csv2 = try write("image,label\na.png,\n", "m2.csv")
        assertError(try EvaluationDataset.open(csv2), contains: [csv2, "row 1", "'label'"])
        let jsonl = try write(#"{"image": "a.png", "label": "b.png"}"# + "\n" + #"{"image": "c.png", "lable": "d.png"}"#, "m.jsonl")
        assertError(try EvaluationDataset.open(jsonl), contains: [jsonl, "line 2", "'lable'"])
        let ok = try write("image,label,id\nimg/a.png,lab/a.png,first\nb.npz,,\n", "ok.csv")
        let d = try EvaluationDataset.open(ok)
        XCTAssertEqual(d.cases.map(\.id), ["first", "b"])
        XCTAssertEqual(d.cases[0].labels, dir.appendingPathComponent("lab/a.png").path)
        XCTAssertNil(d.cases[1].labels)
    }

    func testLabelMapOfAnotherShapeOrGeometryIsAnError() throws {
        let img = PredictorTests.image(height: 40, width: 30)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("p/images"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("p/labels"), withIntermediateDirectories: true)
        try PNGCodec.write(img, to: dir.appendingPathComponent("p/images/a.png"))
        try PNGCodec.write(Image(pixels: [Float](repeating: 0, count: 30 * 40), height: 30, width: 40, channels: 1),
                           to: dir.appendingPathComponent("p/labels/a.png"))
        let d = try EvaluationDataset.open(dir.appendingPathComponent("p").path)
        XCTAssertEqual(d.format, .png)
        assertError(try EvaluationInput.load(d.cases[0], mapping: nil), contains: ["labels/a.png", "30x40", "40x30"])

        let v = Volume(voxels: [Float](repeating: 1, count: 8 * 8 * 4), dims: [8, 8, 4], spacing: [1, 1, 2],
                       affine: Affine(columns: [[1, 0, 0], [0, 1, 0], [0, 0, 2]], origin: [0, 0, 0]), frame: .ras,
                       sourceType: .float32, source: "t")
        var moved = v
        moved.affine = Affine(columns: [[1, 0, 0], [0, 1, 0], [0, 0, 2]], origin: [5, 0, 0])
        try NIfTIWriter.write(v, to: dir.appendingPathComponent("v.nii"))
        try NIfTIWriter.write(moved, to: dir.appendingPathComponent("l.nii"))
        let c = EvaluationCase(id: "v", image: dir.appendingPathComponent("v.nii").path, labels: dir.appendingPathComponent("l.nii").path, origin: "t")
        assertError(try EvaluationInput.load(c, mapping: nil), contains: ["l.nii", "affine"])

        let npz = dir.appendingPathComponent("n.npz")
        try NPZWriter.write([("imgs", NPZWriter.uint8Array([UInt8](repeating: 9, count: 12), shape: [3, 4]))], to: npz)
        assertError(try EvaluationInput.load(EvaluationCase(id: "n", image: npz.path, labels: nil, origin: "t"), mapping: nil),
                    contains: ["n.npz", "'gts'"])
    }

    func testMedSAMNPZGroundTruthIsTheLabelMap() throws {
        // 2-D: imgs H x W, gts H x W.
        let gts: [UInt8] = [0, 1, 1, 0, 2, 2, 0, 0, 0, 0, 0, 3]
        let npz = dir.appendingPathComponent("two.npz")
        try NPZWriter.write([("imgs", NPZWriter.uint8Array((0..<12).map { UInt8($0 * 20) }, shape: [3, 4])),
                             ("gts", NPZWriter.uint8Array(gts, shape: [3, 4]))], to: npz)
        let d = try EvaluationDataset.open(npz.path)
        XCTAssertEqual(d.format, .npz)
        let input = try EvaluationInput.load(d.cases[0], mapping: nil)
        XCTAssertEqual(input.labelPlane, gts.map(Float.init))
        XCTAssertEqual(input.image?.pixels, (0..<12).map { Float($0 * 20) }, "npz images are kept as they are")
        // 3-D: imgs D x H x W; slice k of the label volume is gts[k].
        let vol: [UInt8] = (0..<24).map { UInt8($0 % 3) }
        let npz3 = dir.appendingPathComponent("three.npz")
        try NPZWriter.write([("imgs", NPZWriter.uint8Array([UInt8](repeating: 7, count: 24), shape: [2, 3, 4])),
                             ("gts", NPZWriter.uint8Array(vol, shape: [2, 3, 4]))], to: npz3)
        let v = try EvaluationInput.load(EvaluationCase(id: "three", image: npz3.path, labels: nil, origin: "t"), mapping: nil)
        XCTAssertEqual(try v.slice(.axial, 1).labels, vol[12..<24].map(Float.init))
    }

    // MARK: A whole run

    func predictor() throws -> Predictor {
        Predictor(model: try SAMModel.random(PredictorTests.config(.sam), seed: 7), backend: ReferenceBackend())
    }

    /// A 2-D case (label 1 a block, label 2 a disc, label 3 a 4-pixel speck) as image/label PNGs.
    func pairs() throws -> EvaluationDataset {
        let h = 72, w = 64
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("d/images"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("d/labels"), withIntermediateDirectories: true)
        var labels = [Float](repeating: 0, count: h * w)
        for y in 0..<h {
            for x in 0..<w {
                if (8...30).contains(x) && (10...40).contains(y) { labels[y * w + x] = 1 }
                if (x - 45) * (x - 45) + (y - 50) * (y - 50) <= 100 { labels[y * w + x] = 2 }
                if (55...56).contains(x) && (5...6).contains(y) { labels[y * w + x] = 3 }
            }
        }
        var img = PredictorTests.image(height: h, width: w, seed: 3)
        for i in 0..<(h * w) where labels[i] > 0 { img.pixels[i] = 200 }
        try PNGCodec.write(img, to: dir.appendingPathComponent("d/images/case1.png"))
        try PNGCodec.write(Image(pixels: labels, height: h, width: w, channels: 1), to: dir.appendingPathComponent("d/labels/case1.png"))
        var d = try EvaluationDataset.open(dir.appendingPathComponent("d").path)
        d.labelNames = [1: "block", 2: "disc", 3: "speck", 4: "missing"]
        return d
    }

    func testAWholeRunScoresEveryObjectOnceEncodedAndIsReproducible() throws {
        let d = try pairs()
        var o = EvaluationOptions()
        o.modes = [.point1, .point5, .point5plus5, .box, .boxPoint1, .boxJitter(max: 5)]
        o.seed = 11
        func run() throws -> (CaseEvaluation, String, String) {
            let e = Evaluator(predictor: try predictor(), options: o)
            let r = try e.evaluate(d.cases[0], names: d.labelNames)
            let s = EvaluationSummary(rows: r.rows, skips: r.skips, modes: o.modes.map(\.description), choices: o.maskChoices,
                                      cases: 1, failedCases: [:], settings: [:])
            return (r, EvaluationCSV.perCase(r.rows), EvaluationCSV.summary(s))
        }
        let (r, csv, summary) = try run()
        XCTAssertEqual(r.encodedSlices, 1, "one encoder run for every mode and mask choice")
        XCTAssertEqual(r.rows.count, 2 * 6 * 3, "labels 1 and 2 x 6 modes x 3 mask choices")
        XCTAssertEqual(Set(r.skips.map { "\($0.label) \($0.reason)" }), ["3 small", "4 absent"])
        XCTAssertEqual(r.skips.first { $0.label == 3 }?.area, 4)
        for row in r.rows { XCTAssertEqual(row.groundTruthArea, row.label == 1 ? 23 * 31 : 317, "\(row)") }
        // The oracle picks the highest smoothed Dice of the same three masks the best-IoU choice picks from.
        for mode in o.modes.map(\.description) {
            for l in [1, 2] {
                let best = r.rows.first { $0.label == l && $0.mode == mode && $0.maskChoice == .best }!
                let oracle = r.rows.first { $0.label == l && $0.mode == mode && $0.maskChoice == .oracle }!
                XCTAssertGreaterThanOrEqual(oracle.smoothedDice, best.smoothedDice - 1e-12, "\(mode) label \(l)")
            }
        }
        let (_, csv2, summary2) = try run()
        XCTAssertEqual(csv, csv2, "per_case.csv is byte-identical between runs")
        XCTAssertEqual(summary, summary2)
        XCTAssertTrue(csv.hasPrefix("case,label,name,slice,mode,mask_choice,dice,"))
        XCTAssertEqual(summary.split(separator: "\n").count, 1 + 2 * 6 * 3)

        // The report: self-contained, with its tables, SVG figures and overlays.
        let s = EvaluationSummary(rows: r.rows, skips: r.skips, modes: o.modes.map(\.description), choices: o.maskChoices,
                                  cases: 1, failedCases: [:], settings: ["seed": "11"])
        let g = GalleryCollector(count: 2, maskChoice: .single)
        let e = Evaluator(predictor: try predictor(), options: o)
        e.gallery = { g.offer($0) }
        _ = try e.evaluate(d.cases[0], names: d.labelNames)
        XCTAssertEqual(g.best.count, 2)
        XCTAssertGreaterThanOrEqual(g.best[0].row.dice, g.worst[0].row.dice)
        let html = try EvaluationReport.html(summary: s, rows: r.rows, gallery: g)
        XCTAssertEqual(html.components(separatedBy: "data:image/png;base64,").count - 1, 4)
        XCTAssertGreaterThanOrEqual(html.components(separatedBy: "<svg").count - 1, 7)
        XCTAssertFalse(html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "").contains("http"),
                       "nothing is fetched from the network")
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try EvaluationOutput.write(to: out.path, rows: r.rows, skips: r.skips, summary: s, timings: ["total": 1],
                                   caseTimings: [EvaluationCaseTiming(caseID: "a,b", status: .evaluated, encodedSlices: 2, scores: 3,
                                                                      readMilliseconds: 1.5, encodeMilliseconds: 20, decodeMilliseconds: 4.25),
                                                 EvaluationCaseTiming(caseID: "c", status: .failed)],
                                   html: html)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted(), EvaluationOutput.files.sorted(),
                       "only the final files, no temporaries")
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("timings.csv"), encoding: .utf8),
                       "case,status,encoded_slices,scores,read_ms,encode_ms,decode_ms,total_ms\n"
                       + "\"a,b\",evaluated,2,3,1.500,20.000,4.250,25.750\nc,failed,0,0,0.000,0.000,0.000,0.000\n")
    }

    private static let steppedVolumeSize = (nx: 16, ny: 16, nz: 6)
    /// A 16x16x6 NIfTI volume (spacing 1x1x3 mm) and its label map, written to `dir`: label 1 on
    /// slices 1...4 as rectangles of 60, 80, 100 and 70 px; the image is the label scaled, with one
    /// dark voxel so that the intensity range is not flat.
    private func writeSteppedVolumeCase() throws -> EvaluationCase {
        let (nx, ny, nz) = Self.steppedVolumeSize
        var labels = [Float](repeating: 0, count: nx * ny * nz)
        for (k, side) in [(1, (6, 10)), (2, (8, 10)), (3, (10, 10)), (4, (7, 10))] {
            for j in 0..<side.0 { for i in 0..<side.1 { labels[k * nx * ny + (j + 2) * nx + i + 3] = 1 } }
        }
        var image = labels.map { $0 * 150 + 30 }
        image[0] = 0
        let affine = Affine(columns: [[1, 0, 0], [0, 1, 0], [0, 0, 3]], origin: [0, 0, 0])
        try NIfTIWriter.write(Volume(voxels: image, dims: [nx, ny, nz], spacing: [1, 1, 3], affine: affine, frame: .ras,
                                     sourceType: .float32, source: "v"), to: dir.appendingPathComponent("v.nii"))
        try NIfTIWriter.write(Volume(voxels: labels, dims: [nx, ny, nz], spacing: [1, 1, 3], affine: affine, frame: .ras,
                                     sourceType: .float32, source: "l"), to: dir.appendingPathComponent("l.nii"))
        return EvaluationCase(id: "v", image: dir.appendingPathComponent("v.nii").path, labels: dir.appendingPathComponent("l.nii").path, origin: "t")
    }

    func testSliceSelectionOnAVolume() throws {
        let c = try writeSteppedVolumeCase()
        for (sel, minArea, expected, skipped) in [(SliceSelection.all, 65, [2, 3, 4], [1]), (.largest, 50, [3], []), (.every(2), 50, [1, 3], [])] {
            var o = EvaluationOptions()
            o.modes = [.box]
            o.maskChoices = [.single]
            o.slices = sel
            o.minArea = minArea
            o.batchSize = 2
            let r = try Evaluator(predictor: try predictor(), options: o).evaluate(c, names: [:])
            XCTAssertEqual(r.rows.compactMap(\.slice), expected, "\(sel)")
            XCTAssertEqual(r.skips.compactMap(\.slice), skipped, "\(sel)")
            XCTAssertEqual(r.encodedSlices, expected.count)
        }
    }

    /// `--dimensions 3d`: one 3-D score per label and box mode, from the label's 3-D box
    /// propagated by the challenge method (the same masks as `ChallengeInference.propagate` run
    /// directly), scored with the 3-D metrics at the volume's spacing; no 2-D rows; point modes
    /// have no 3-D form; a 2-D case is skipped as not-3d.
    func testThreeDEvaluationPropagatesTheGroundTruthBox() throws {
        let c = try writeSteppedVolumeCase()
        let (nx, ny, nz) = Self.steppedVolumeSize
        let lite = Predictor(model: try SAMModel.random(PredictorTests.config(.liteMedSAM), seed: 7), backend: ReferenceBackend())
        var o = EvaluationOptions()
        o.modes = [.point1, .box, .boxJitter(max: 3)]
        o.dimensions = [.threeD]
        o.seed = 5
        XCTAssertEqual(o.modeNames, ["3d-box", "3d-box-jitter"])
        let r = try Evaluator(predictor: lite, options: o).evaluate(c, names: [:])
        XCTAssertEqual(r.rows.map(\.mode), ["3d-box", "3d-box-jitter"])
        XCTAssertEqual(r.encodedSlices, 4, "the label's four slices are encoded once for both modes")
        let box = r.rows[0]
        XCTAssertNil(box.slice)
        XCTAssertEqual(box.maskChoice, .single)
        XCTAssertEqual(box.groundTruthArea, 60 + 80 + 100 + 70)
        XCTAssertEqual(box.prompt, "box3d 3 2 1 12 11 4")
        // The jittered box widens x and y only, within the jitter, and keeps the slice range.
        let j = r.rows[1].prompt.split(separator: " ").dropFirst().map { Int($0)! }
        XCTAssertTrue(j[0] <= 3 && j[0] >= 0 && j[1] <= 2 && j[3] >= 12 && j[3] <= 15 && j[4] >= 11 && j[4] <= 14, "\(j)")
        XCTAssertEqual([j[2], j[5]], [1, 4])
        // The same masks as the challenge walk run directly, scored in 3-D with spacing (3, 1, 1) mm.
        let input = try EvaluationInput.load(c, mapping: nil)
        var stack: [Float] = [], gt: [UInt8] = []
        for k in 0..<nz {
            let s = try input.slice(.axial, k)
            stack += s.image.pixels
            gt += s.labels.map { $0 == 1 ? 1 : 0 }
        }
        let direct = try ChallengeInference.propagate(stack, depth: nz, height: ny, width: nx, boxes: [[3, 2, 1, 12, 11, 4]],
                                                      origin: "t", predictor: lite, batch: 4)
        let cmp = try MaskComparison(groundTruth: gt, prediction: direct.segs.map { $0 == 1 ? 1 : 0 }, depth: nz, height: ny, width: nx,
                                     spacing: (3, 1, 1))
        XCTAssertEqual(box.predictionArea, cmp.predictionArea)
        XCTAssertEqual(box.dice, cmp.dice ?? 0, accuracy: 1e-12)
        XCTAssertEqual(box.nsd, cmp.surfaceDice(tolerance: 2) ?? 0, accuracy: 1e-12)
        // The jittered mode, walked together with box, gives what its box gives in a walk of its own.
        let alone = try ChallengeInference.propagate(stack, depth: nz, height: ny, width: nx, boxes: [j.map(Float.init)],
                                                     origin: "t", predictor: lite, batch: 4)
        let cmpJ = try MaskComparison(groundTruth: gt, prediction: alone.segs.map { $0 == 1 ? 1 : 0 }, depth: nz, height: ny, width: nx,
                                      spacing: (3, 1, 1))
        XCTAssertEqual(r.rows[1].predictionArea, cmpJ.predictionArea)
        XCTAssertEqual(r.rows[1].nsd, cmpJ.surfaceDice(tolerance: 2) ?? 0, accuracy: 1e-12)
        XCTAssertTrue(EvaluationCSV.perCase(r.rows).contains("\nv,1,label1,,3d-box,single,"), "slice column empty for 3-D")

        // A 2-D case under 3-D evaluation alone is skipped, by name.
        let d = try pairs()
        let r2 = try Evaluator(predictor: lite, options: o).evaluate(d.cases[0], names: [:])
        XCTAssertTrue(r2.rows.isEmpty)
        XCTAssertEqual(Set(r2.skips.map(\.reason)), [.notVolume])
        XCTAssertTrue(EvaluationCSV.skipped(r2.skips).contains(",3d,not-3d,"))
    }

    /// `--dimensions 2d,3d`: the 3-D walk reuses the embeddings of the slices the 2-D pass
    /// encoded (each slice encoded once), up to `sharedEmbeddings` of them, and its rows equal
    /// those of a 3-D evaluation alone, as the 2-D rows equal those of a 2-D evaluation alone.
    func testTwoAndThreeDShareEmbeddingsWithoutChangingAScore() throws {
        let c = try writeSteppedVolumeCase()
        let lite = Predictor(model: try SAMModel.random(PredictorTests.config(.liteMedSAM), seed: 7), backend: ReferenceBackend())
        func run(_ dimensions: Set<EvaluationDimension>, shared: Int = 64) throws -> CaseEvaluation {
            var o = EvaluationOptions()
            o.modes = [.box, .boxJitter(max: 3)]
            o.maskChoices = [.single]
            o.dimensions = dimensions
            o.batchSize = 3
            o.sharedEmbeddings = shared
            return try Evaluator(predictor: lite, options: o).evaluate(c, names: [:])
        }
        let twoD = try run([.twoD]), threeD = try run([.threeD])
        XCTAssertEqual(twoD.encodedSlices, 4)
        XCTAssertEqual(threeD.encodedSlices, 4)
        for (shared, encoded) in [(64, 4), (1, 7), (0, 8)] {
            let both = try run([.twoD, .threeD], shared: shared)
            XCTAssertEqual(both.encodedSlices, encoded, "at most \(shared) embeddings shared")
            XCTAssertEqual(both.rows, threeD.rows + twoD.rows, "3-D rows first, each as when run alone (shared \(shared))")
            XCTAssertEqual(both.skips, twoD.skips + threeD.skips)
        }
    }
}

/// The evaluation journal: cases come back exactly (so resumed CSVs are byte-identical), a line
/// cut short by a kill is ignored and the next one still lands on a line of its own, other
/// settings are refused by name, failed cases are not reused.
final class EvaluationJournalTests: XCTestCase {
    func testJournalResumesExactlyAndRefusesOtherSettings() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let row = EvaluationRow(caseID: "a", label: 1, name: "liver, left", slice: 3, mode: "box", maskChoice: .oracle,
                                groundTruthArea: 100, predictionArea: 0, dice: 0.1 + 0.2, smoothedDice: 1.0 / 3.0, iou: 0,
                                nsd: 2.0 / 7.0, hd95: nil, asd: nil, predictedIoU: 0.912345678901234, prompt: "box 1 2 3 4")
        var done = CaseEvaluation(caseID: "a")
        done.rows = [row]
        done.skips = [EvaluationSkip(caseID: "a", label: 2, name: "x", slice: nil, reason: .absent, area: 0)]
        done.encodedSlices = 1
        let settings = ["seed": "0", "modes": "box"]
        do {
            let j = try EvaluationJournal(directory: dir.path, settings: settings, fresh: false)
            try j.append(JournalCase(done))
            try j.append(JournalCase(caseID: "b", error: "broken"))
        }
        // A kill in the middle of a third line.
        let path = dir.appendingPathComponent(EvaluationJournal.fileName).path
        let h = FileHandle(forWritingAtPath: path)!
        h.seekToEndOfFile()
        h.write(Data(#"{"caseID":"c","rows":[{"#.utf8))
        try h.close()
        let j = try EvaluationJournal(directory: dir.path, settings: settings, fresh: false)
        XCTAssertEqual(Set(j.done.keys), ["a"], "the failed case and the cut line are not reused")
        XCTAssertEqual(j.done["a"]?.rows, [row], "rows come back bit for bit")
        XCTAssertEqual(EvaluationCSV.perCase(j.done["a"]!.rows!), EvaluationCSV.perCase([row]))
        XCTAssertEqual(j.done["a"]?.skips, done.skips)
        var c = CaseEvaluation(caseID: "c")
        c.rows = [row]
        try j.append(JournalCase(c))
        XCTAssertEqual(Set(try EvaluationJournal(directory: dir.path, settings: settings, fresh: false).done.keys), ["a", "c"])
        XCTAssertThrowsError(try EvaluationJournal(directory: dir.path, settings: ["seed": "1", "modes": "box"], fresh: false)) {
            XCTAssertTrue("\($0)".contains("other settings (seed)"), "\($0)")
        }
        XCTAssertTrue(try EvaluationJournal(directory: dir.path, settings: ["seed": "1"], fresh: true).done.isEmpty)
    }
}

/// The `everything` mode: each object gets the automatic mask with the highest Dice against it.
final class EvaluationEverythingTests: XCTestCase {
    func testEverythingMatchesEachObjectToItsBestAutomaticMask() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("eval-everything-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("images"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("labels"), withIntermediateDirectories: true)
        let h = 64, w = 60
        var labels = [Float](repeating: 0, count: h * w)
        for y in 10..<40 { for x in 8..<30 { labels[y * w + x] = 1 } }
        for y in 30..<55 { for x in 35..<55 { labels[y * w + x] = 2 } }
        var img = PredictorTests.image(height: h, width: w, seed: 5)
        for i in 0..<(h * w) where labels[i] > 0 { img.pixels[i] = 220 }
        try PNGCodec.write(img, to: dir.appendingPathComponent("images/a.png"))
        try PNGCodec.write(Image(pixels: labels, height: h, width: w, channels: 1), to: dir.appendingPathComponent("labels/a.png"))
        let predictor = Predictor(model: try SAMModel.random(PredictorTests.config(.sam), seed: 7), backend: ReferenceBackend())
        var o = EvaluationOptions()
        o.modes = [.box, .everything]
        o.maskChoices = [.single]
        o.everything.pointsPerSide = 4
        o.everything.predIoUThresh = 0
        o.everything.stabilityScoreThresh = 0
        o.everything.boxNMSThresh = 1
        let d = try EvaluationDataset.open(dir.path)
        let r = try Evaluator(predictor: predictor, options: o).evaluate(d.cases[0], names: [:])
        XCTAssertEqual(r.rows.map { "\($0.label) \($0.mode) \($0.maskChoice.rawValue)" },
                       ["1 box single", "2 box single", "1 everything oracle", "2 everything oracle"])
        // The generator's own masks on the same image: the row's Dice is the best of them.
        let input = try EvaluationInput.load(d.cases[0], mapping: nil)
        let masks = try EverythingGenerator(predictor: predictor, parameters: o.everything).generate(input.image!)
        XCTAssertFalse(masks.isEmpty)
        for l in [1, 2] {
            let gt = labels.map { Int($0) == l }
            let best = masks.map { m -> Double in
                let p = m.rle.decode()
                let both = (0..<(h * w)).filter { p[$0] != 0 && gt[$0] }.count
                return 2 * Double(both) / Double(gt.filter { $0 }.count + m.area)
            }.max()!
            let row = r.rows.first { $0.label == l && $0.mode == "everything" }!
            XCTAssertEqual(row.dice, best, accuracy: 1e-12, "label \(l)")
        }
        // The summary keeps the everything rows although only `single` was asked for.
        let s = EvaluationSummary(rows: r.rows, skips: r.skips, modes: o.modes.map(\.description), choices: o.maskChoices,
                                  cases: 1, failedCases: [:], settings: [:])
        XCTAssertEqual(s.groups.map { "\($0.label) \($0.mode) \($0.maskChoice)" },
                       ["1 box single", "1 everything oracle", "2 box single", "2 everything oracle"])
    }
}
