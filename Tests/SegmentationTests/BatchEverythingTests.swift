import MedicalImaging
import SAMModels
@testable import Segmentation
import TensorRuntime
import XCTest

/// `medsam batch --everything` in the library: Everything cases through the batch pipeline
/// write the records and label map the generator and `EverythingOutputs` (what `medsam
/// everything` calls) write for the image alone, byte for byte, also when they share a batch
/// with box-prompted cases; cases Everything mode cannot take are refused naming the field.
final class BatchEverythingTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("batch-everything-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("out"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("ref"), withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    static var parameters: EverythingParameters {
        var p = EverythingParameters()
        p.pointsPerSide = 3
        p.predIoUThresh = 0
        p.stabilityScoreThresh = 0
        return p
    }

    func predictor() throws -> Predictor {
        Predictor(model: try SAMModel.random(PredictorTests.config(.sam), seed: 7), backend: ReferenceBackend())
    }

    func testEverythingCasesWriteWhatTheGeneratorWritesAlone() throws {
        var inputs: [String] = []
        for i in 0..<3 {
            let url = dir.appendingPathComponent("img\(i).png")
            try PNGCodec.write(PredictorTests.image(height: 60 + 4 * i, width: 50 - 2 * i, seed: i), to: url)
            inputs.append(url.path)
        }
        let out = dir.appendingPathComponent("out").path
        var everything = CaseDefaults(outputDirectory: out)
        everything.prompts = .everything
        var boxed = CaseDefaults(outputDirectory: out)
        boxed.prompts = .explicit([ImagePrompt(box: [5, 6, 30, 40])])
        let cases = try CasePlanner.check([
            try CasePlanner.make(input: inputs[0], selection: nil, prompts: nil, labels: nil, output: nil, defaults: everything, origin: "a"),
            try CasePlanner.make(input: inputs[1], selection: nil, prompts: nil, labels: nil, output: "\(out)/img1.nii.gz",
                                 defaults: everything, origin: "b"),
            // A box case between them: its batched encoder call and the generator's runs share the predictor.
            try CasePlanner.make(input: inputs[2], selection: nil, prompts: nil, labels: nil, output: nil, defaults: boxed, origin: "c"),
        ])
        XCTAssertEqual(cases.map(\.recordsPath), ["\(out)/img0.json", "\(out)/img1.json", nil])

        // The reference: the generator on each image alone, written by EverythingOutputs.
        let p = try predictor()
        var expectedMasks = 0
        for (i, name) in [(0, "img0.png"), (1, "img1.nii.gz")] {
            let img = try PNGCodec.read(URL(fileURLWithPath: inputs[i]))
            let image = IntensityMapping.automatic(for: img).apply(img)
            let masks = try EverythingGenerator(predictor: p, parameters: Self.parameters).generate(image)
            expectedMasks += masks.count
            let outputs = EverythingOutputs(masks: masks, image: image)
            try outputs.writeJSON(to: dir.appendingPathComponent("ref/img\(i).json").path, compressed: true)
            try outputs.writeLabelMap(to: dir.appendingPathComponent("ref/\(name)").path, volume: nil, axis: .axial, slice: 0,
                                      source: inputs[i])
        }
        XCTAssertGreaterThan(expectedMasks, 0, "some masks, so the comparison means something")

        var options = BatchOptions()
        options.batchSize = 2
        options.everything = Self.parameters
        let journal = dir.appendingPathComponent("journal.jsonl").path
        let stats = BatchRunner(predictor: try predictor(), options: options, journal: try BatchJournal(path: journal), progress: nil)
            .run(cases)
        XCTAssertEqual(stats.done, 3, "\(stats.failures)")
        for name in ["img0.json", "img0.png", "img1.json", "img1.nii.gz"] {
            let got = try Data(contentsOf: dir.appendingPathComponent("out/\(name)"))
            XCTAssertEqual(got, try Data(contentsOf: dir.appendingPathComponent("ref/\(name)")), "\(name) differs from the generator's own")
        }
        // The box case is segmented as ever (a 0/255 PNG of one prompt's mask).
        let boxPNG = try PNGCodec.read(dir.appendingPathComponent("out/img2.png"))
        XCTAssertTrue(boxPNG.pixels.contains(255))
        let entries = try BatchJournal.read(path: journal).entries.filter { $0.kind == "case" }
        XCTAssertEqual(entries.filter { $0.status == "done" }.count, 3)
        let first = try XCTUnwrap(entries.first { $0.id == inputs[0] })
        XCTAssertEqual(first.prompts, 9, "the 3 x 3 grid's points")
    }

    func testCasesEverythingModeCannotTakeAreRefused() throws {
        var d = CaseDefaults(outputDirectory: dir.path)
        d.prompts = .everything
        func error(_ selection: CaseSelection?, output: String?) -> String {
            do {
                _ = try CasePlanner.make(input: "/data/ct.nii.gz", selection: selection, prompts: nil, labels: nil, output: output,
                                         defaults: d, origin: "cases.csv row 4")
                return ""
            } catch { return "\(error)" }
        }
        XCTAssertTrue(error(.range(.axial, 2...5), output: nil).contains("cases.csv row 4, field 'slices': Everything mode segments one slice per case"))
        XCTAssertTrue(error(.slice(.axial, 3), output: "/tmp/x.npy").contains("field 'output': an Everything case writes a label map"))
        XCTAssertEqual(error(.slice(.axial, 3), output: nil), "")
        // Two cases whose label maps differ only in extension would share one records file.
        let a = try CasePlanner.make(input: "/d/a.png", selection: nil, prompts: nil, labels: nil, output: "/o/a.png", defaults: d, origin: "row 1")
        let b = try CasePlanner.make(input: "/d/b.png", selection: nil, prompts: nil, labels: nil, output: "/o/a.nii", defaults: d, origin: "row 2")
        XCTAssertThrowsError(try CasePlanner.check([a, b])) { XCTAssertTrue("\($0)".contains("/o/a.json is also the output of row 1"), "\($0)") }

        // A volume of several slices without a slice: refused when read.
        let volume = Volume(voxels: [Float](repeating: 1, count: 8 * 8 * 3), dims: [8, 8, 3], spacing: [1, 1, 1],
                            affine: Affine([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), frame: .ras,
                            sourceType: .float32, source: "v")
        let url = dir.appendingPathComponent("v.nii")
        try NIfTIWriter.write(volume, to: url)
        let c = try CasePlanner.make(input: url.path, selection: nil, prompts: nil, labels: nil, output: nil, defaults: d, origin: "--input v.nii")
        XCTAssertThrowsError(try LoadedCase(c, index: 0, mapping: nil)) {
            XCTAssertTrue("\($0)".contains("has 3 axial slices; Everything mode segments one slice per case"), "\($0)")
        }
    }
}
