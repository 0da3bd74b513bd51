import MedicalImaging
import SAMModels
@testable import Segmentation
import TensorRuntime
import XCTest

/// The batch pipeline on a small random SAM (PredictorTests' configuration) on the reference
/// backend: masks equal the predictor's one image at a time, for any encoder batch size and
/// thread counts; a corrupt case among good ones fails alone; boxes from labels; a rerun resumes.
final class BatchRunnerTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("batch-runner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("out"), withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func predictor() throws -> Predictor {
        Predictor(model: try SAMModel.random(PredictorTests.config(.sam), seed: 7), backend: ReferenceBackend())
    }

    /// Five 8-bit PNG images of different sizes and one file that is not a PNG.
    func cohort() throws -> [String] {
        var paths: [String] = []
        for i in 0..<5 {
            let img = PredictorTests.image(height: 80 + 4 * i, width: 70 - 2 * i, seed: i)
            let url = dir.appendingPathComponent("img\(i).png")
            try PNGCodec.write(img, to: url)
            paths.append(url.path)
        }
        let bad = dir.appendingPathComponent("img9.png")
        try Data([0x89, 0x50, 0x4E, 0x47, 1, 2, 3]).write(to: bad)
        paths.append(bad.path)
        return paths
    }

    let boxes: [ImagePrompt] = [ImagePrompt(box: [5, 6, 40, 50]), ImagePrompt(box: [20, 30, 60, 70])]

    func cases(_ inputs: [String], format: MaskFormat = .png) throws -> [BatchCase] {
        var d = CaseDefaults(outputDirectory: dir.appendingPathComponent("out").path, format: format)
        d.prompts = .explicit(boxes)
        return try CasePlanner.check(try inputs.map {
            try CasePlanner.make(input: $0, selection: nil, prompts: nil, labels: nil, output: nil, defaults: d, origin: "--input \($0)")
        })
    }

    /// What `medsam segment` computes for one image: labels 1, 2 for the two boxes, later over
    /// earlier, and the bytes of the PNG it writes (a palette PNG of the labels).
    func expectedLabels(_ path: String, _ p: Predictor) throws -> (labels: [UInt8], png: Data) {
        let img = try PNGCodec.read(URL(fileURLWithPath: path))
        try p.setImage(IntensityMapping.automatic(for: img).apply(img))
        let pred = try p.predict(boxes)
        let hw = img.height * img.width
        var labels = [UInt8](repeating: 0, count: hw)
        for k in 0..<2 { for i in 0..<hw where pred.masks.data[k * hw + i] > 0 { labels[i] = UInt8(k + 1) } }
        return (labels, Data(try PNGCodec.encodeMask(labels, singlePrompt: false, height: img.height, width: img.width)))
    }

    func testMasksEqualOneImageAtATimeAndACorruptCaseFailsAlone() throws {
        let inputs = try cohort()
        let all = try cases(inputs)
        let p = try predictor()
        let expected = try inputs.dropLast().map { try expectedLabels($0, p) }
        XCTAssertTrue(expected.allSatisfy { Set($0.labels).count > 2 }, "every image has both masks, so a comparison means something")
        var first: [Data]?
        for (batch, readers, writers) in [(1, 1, 1), (3, 2, 2), (8, 3, 1)] {
            for c in all { try? FileManager.default.removeItem(atPath: c.output) }
            let journalPath = dir.appendingPathComponent("j-\(batch).jsonl").path
            var options = BatchOptions()
            options.batchSize = batch
            options.readers = readers
            options.writers = writers
            let stats = BatchRunner(predictor: try predictor(), options: options, journal: try BatchJournal(path: journalPath),
                                    progress: nil).run(all)
            XCTAssertEqual(stats.done, 5)
            XCTAssertEqual(stats.failed, 1)
            XCTAssertEqual(stats.failures.map(\.id), [inputs[5]])
            XCTAssertEqual(stats.images, 5)
            XCTAssertEqual(stats.prompts, 10)
            let outputs = try all.dropLast().map { try Data(contentsOf: URL(fileURLWithPath: $0.output)) }
            for (i, c) in all.dropLast().enumerated() {
                XCTAssertEqual(outputs[i], expected[i].png, "batch \(batch): \(c.id) is segment's palette PNG of the labels")
            }
            if let first { XCTAssertEqual(outputs, first, "batch \(batch) writes the same bytes as batch 1") }
            first = outputs
            XCTAssertFalse(FileManager.default.fileExists(atPath: all[5].output), "no output for the failed case")
            let entries = BatchJournal.latest(try BatchJournal.read(path: journalPath).entries)
            XCTAssertEqual(entries.count, 6)
            XCTAssertEqual(entries[inputs[5]]?.status, "failed")
            XCTAssertTrue(entries[inputs[5]]?.error?.contains("img9.png") ?? false, entries[inputs[5]]?.error ?? "")
            XCTAssertEqual(entries[inputs[0]]?.areas?.count, 2)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("out").path).filter { $0.hasPrefix(".") }
            XCTAssertEqual(leftovers, [], "no temporary files left")
        }
    }

    func testBoxesFromLabelsOnAVolumeWriteTheLabelValues() throws {
        // A 3-slice volume (60 x 50) with label 2 on slices 0 and 2 and label 5 on slice 2.
        let nx = 60, ny = 50, nz = 3
        var voxels = [Float](repeating: 10, count: nx * ny * nz)
        var labels = [Float](repeating: 0, count: nx * ny * nz)
        for k in [0, 2] {
            for j in 10..<30 { for i in 12..<40 { voxels[k * nx * ny + j * nx + i] = 200; labels[k * nx * ny + j * nx + i] = 2 } }
        }
        for j in 35..<45 { for i in 5..<15 { labels[2 * nx * ny + j * nx + i] = 5; voxels[2 * nx * ny + j * nx + i] = 120 } }
        let affine = Affine([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
        let vol = Volume(voxels: voxels, dims: [nx, ny, nz], spacing: [1, 1, 1], affine: affine, frame: .ras, sourceType: .uint8, source: "v")
        let lab = Volume(voxels: labels, dims: [nx, ny, nz], spacing: [1, 1, 1], affine: affine, frame: .ras, sourceType: .uint8, source: "l")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("labels"), withIntermediateDirectories: true)
        try NIfTIWriter.write(vol, to: dir.appendingPathComponent("v.nii"), as: .uint8)
        try NIfTIWriter.write(lab, to: dir.appendingPathComponent("labels/v.nii"), as: .uint8)
        var d = CaseDefaults(outputDirectory: dir.appendingPathComponent("out").path)
        d.labelsDirectory = dir.appendingPathComponent("labels").path
        let c = try CasePlanner.make(input: dir.appendingPathComponent("v.nii").path, selection: nil, prompts: nil, labels: nil,
                                     output: nil, defaults: d, origin: "test")
        XCTAssertEqual(c.format, .nifti)
        let stats = BatchRunner(predictor: try predictor(), options: BatchOptions(), journal: nil, progress: nil).run([c])
        XCTAssertEqual(stats.done, 1, "\(stats.failures)")
        XCTAssertEqual(stats.images, 3)
        XCTAssertEqual(stats.prompts, 3, "label 2 on slices 0 and 2, label 5 on slice 2; slice 1 has none")
        let out = try NIfTIReader.read(URL(fileURLWithPath: c.output))
        XCTAssertEqual(out.dims, [nx, ny, nz])
        XCTAssertTrue(Set(out.voxels).isSubset(of: [0, 2, 5]), "\(Set(out.voxels))")
        XCTAssertTrue(out.voxels[(nx * ny)..<(2 * nx * ny)].allSatisfy { $0 == 0 }, "no prompt on slice 1, no mask")
    }

    /// `--orientation radiological`: a box given on the display of a RAS volume's axial slice
    /// (mirrored both ways) segments what the mirrored box does in array order, and the one-slice
    /// PNG (0/255, one prompt) and NPY outputs are laid out on the display.
    func testRadiologicalDisplayForPromptsAndOneSliceOutputs() throws {
        let nx = 60, ny = 50, nz = 3
        var voxels = [Float](repeating: 10, count: nx * ny * nz)
        for j in 5..<20 { for i in 8..<30 { voxels[1 * nx * ny + j * nx + i] = 200 } }   // top-left of slice 1
        let affine = Affine([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
        let vol = Volume(voxels: voxels, dims: [nx, ny, nz], spacing: [1, 1, 1], affine: affine, frame: .ras, sourceType: .uint8, source: "v")
        try NIfTIWriter.write(vol, to: dir.appendingPathComponent("v.nii"), as: .uint8)
        let display = SliceOrientation.radiological(for: vol, axis: .axial)
        XCTAssertEqual(display, SliceOrientation(flipX: true, flipY: true))
        let arrayBox: [Float] = [6, 3, 32, 22]
        let shownBox = display.boxToDisplay(arrayBox.map(Double.init), arrayWidth: nx, arrayHeight: ny).map(Float.init)
        XCTAssertEqual(shownBox, [27, 27, 53, 46])   // x -> 59 - x, y -> 49 - y

        // What segment computes: the array-order slice with the array box, then laid out.
        let p = try predictor()
        try p.setImage(IntensityMapping.automatic(for: vol).apply(vol).slice(.axial, 1))
        let pred = try p.predict([ImagePrompt(box: arrayBox)])
        let arrayLabels = pred.masks.data.map { UInt8($0 > 0 ? 1 : 0) }
        XCTAssertTrue(arrayLabels.contains(1) && arrayLabels.contains(0))
        let shown = display.toDisplay(arrayLabels, arrayWidth: nx, arrayHeight: ny)
        XCTAssertNotEqual(shown, arrayLabels, "the display differs from array order here")

        var outputs: [Data] = []
        for format in [MaskFormat.png, .npy] {
            var d = CaseDefaults(outputDirectory: dir.appendingPathComponent("out").path, format: format)
            d.prompts = .explicit([ImagePrompt(box: shownBox)])
            d.selection = .slice(.axial, 1)
            let c = try CasePlanner.make(input: dir.appendingPathComponent("v.nii").path, selection: nil, prompts: nil, labels: nil,
                                         output: nil, defaults: d, origin: "test")
            var options = BatchOptions()
            options.display = .radiological
            let stats = BatchRunner(predictor: try predictor(), options: options, journal: nil, progress: nil).run([c])
            XCTAssertEqual(stats.done, 1, "\(stats.failures)")
            outputs.append(try Data(contentsOf: URL(fileURLWithPath: c.output)))
        }
        XCTAssertEqual(outputs[0], Data(try PNGCodec.encodeMask(shown, singlePrompt: true, height: ny, width: nx)))
        XCTAssertEqual(outputs[1], NPY.encode(Tensor(shape: [1, ny, nx], data: shown.map(Float.init)), asUInt8: true))
    }

    func testRerunSkipsDoneCasesAndRedoesMissingOutputs() throws {
        let inputs = Array(try cohort().prefix(3))
        let all = try cases(inputs)
        let journalPath = dir.appendingPathComponent("j.jsonl").path
        _ = BatchRunner(predictor: try predictor(), options: BatchOptions(), journal: try BatchJournal(path: journalPath), progress: nil).run(all)
        try FileManager.default.removeItem(atPath: all[1].output)
        let plan = ResumePlan(cases: all, journal: BatchJournal.latest(try BatchJournal.read(path: journalPath).entries),
                              force: false, retryFailed: false)
        XCTAssertEqual(plan.done.map(\.id), [all[0].id, all[2].id])
        XCTAssertEqual(plan.toRun.map(\.id), [all[1].id])
        let again = BatchRunner(predictor: try predictor(), options: BatchOptions(), journal: try BatchJournal(path: journalPath), progress: nil)
            .run(plan.toRun)
        XCTAssertEqual(again.done, 1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: all[1].output))
    }

    /// `--save-embeddings`: each encoded image's embedding, batched with others or not, is the
    /// `.npy` `medsam embed` writes for that image alone (the same bytes), named after the case's
    /// output (with the slice for a multi-slice case) and listed in the journal in slice order.
    func testSavedEmbeddingsAreWhatEmbedWritesForTheImageAlone() throws {
        let pngs = Array(try cohort().prefix(2))
        let nx = 40, ny = 36, nz = 3
        var voxels = [Float](repeating: 0, count: nx * ny * nz)
        for i in voxels.indices { voxels[i] = Float((i * 37) % 251) }
        let affine = Affine([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
        let vol = Volume(voxels: voxels, dims: [nx, ny, nz], spacing: [1, 1, 1], affine: affine, frame: .ras, sourceType: .uint8, source: "v")
        let volPath = dir.appendingPathComponent("v.nii").path
        try NIfTIWriter.write(vol, to: URL(fileURLWithPath: volPath), as: .uint8)
        var d = CaseDefaults(outputDirectory: dir.appendingPathComponent("out").path)
        d.prompts = .explicit([ImagePrompt(box: [2, 3, 30, 25])])
        let all = try CasePlanner.check(try pngs.map {
            try CasePlanner.make(input: $0, selection: nil, prompts: nil, labels: nil, output: nil, defaults: d, origin: "--input \($0)")
        } + [CasePlanner.make(input: volPath, selection: .range(.axial, 0...2), prompts: nil, labels: nil, output: nil,
                              defaults: d, origin: "--input v")])
        try EmbeddingFiles.checkNames(all)
        let embDir = dir.appendingPathComponent("emb").path
        try FileManager.default.createDirectory(atPath: embDir, withIntermediateDirectories: true)
        // A temporary file a killed run left for one of these cases, and another shard's.
        try Data([1]).write(to: URL(fileURLWithPath: embDir + "/.v_axial0-2.axial1.embedding.npy.tmp-1-abc"))
        try Data([1]).write(to: URL(fileURLWithPath: embDir + "/.other.embedding.npy.tmp-1-abc"))

        var options = BatchOptions()
        options.batchSize = 4
        options.embeddings = EmbeddingFiles(directory: embDir)
        let journalPath = dir.appendingPathComponent("j.jsonl").path
        let stats = BatchRunner(predictor: try predictor(), options: options, journal: try BatchJournal(path: journalPath),
                                progress: nil).run(all)
        XCTAssertEqual(stats.done, 3, "\(stats.failures)")

        let p = try predictor()
        func alone(_ image: Image) throws -> Data {
            try p.setImage(image)
            return NPY.encode(try p.downloadEmbedding())
        }
        for png in pngs {
            let img = try PNGCodec.read(URL(fileURLWithPath: png))
            let name = (png as NSString).lastPathComponent.replacingOccurrences(of: ".png", with: ".embedding.npy")
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: embDir + "/" + name)),
                           try alone(IntensityMapping.automatic(for: img).apply(img)), name)
        }
        let mapped = IntensityMapping.automatic(for: vol).apply(vol)
        var volumeFiles: [String] = []
        for k in 0..<nz {
            let path = embDir + "/v_axial0-2.axial\(k).embedding.npy"
            volumeFiles.append(path)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), try alone(try mapped.slice(.axial, k)), path)
        }
        let entries = BatchJournal.latest(try BatchJournal.read(path: journalPath).entries)
        XCTAssertEqual(entries[all.first { $0.input == volPath }!.id]?.embeddings, volumeFiles)
        let left = try FileManager.default.contentsOfDirectory(atPath: embDir).filter { $0.hasPrefix(".") }
        XCTAssertEqual(left, [".other.embedding.npy.tmp-1-abc"], "this run's stale temporary removed, another shard's kept")
    }

    /// Cases that would write the same embedding file, or whose images the batch does not
    /// encode itself, are refused before anything runs, naming the case.
    func testSavedEmbeddingNamesMustNotClash() throws {
        let out = dir.appendingPathComponent("out").path
        var d = CaseDefaults(outputDirectory: out)
        d.prompts = .explicit(boxes)
        func make(_ input: String, _ output: String?, _ sel: CaseSelection? = nil, origin: String) throws -> BatchCase {
            try CasePlanner.make(input: input, selection: sel, prompts: nil, labels: nil, output: output, defaults: d, origin: origin)
        }
        func refused(_ cases: [BatchCase], _ text: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try EmbeddingFiles.checkNames(try CasePlanner.check(cases)), file: file, line: line) {
                XCTAssertTrue("\($0)".contains(text), "\($0)", file: file, line: line)
            }
        }
        refused([try make("/d/a.png", out + "/a.png", origin: "row 1"), try make("/d/b.png", out + "/a.npy", origin: "row 2")],
                "would both write a.embedding.npy")
        refused([try make("/d/a.png", out + "/x/a.png", origin: "row 1"), try make("/d/b.png", out + "/y/a.png", origin: "row 2")],
                "would both write a.embedding.npy")
        refused([try make("/d/v.nii", out + "/v.nii.gz", .volume(.axial), origin: "row 1"),
                 try make("/d/w.png", out + "/v.axial3.png", origin: "row 2")],
                "row 2, field 'output': with --save-embeddings, \(out)/v.axial3.png would write v.axial3.embedding.npy, the name of \(out)/v.nii.gz's axial3 slice (row 1)")
        refused([try CasePlanner.make(input: "/d/c.npz", selection: nil, prompts: nil, labels: nil, output: nil,
                                      defaults: CaseDefaults(outputDirectory: out), origin: "row 4")],
                "row 4: --save-embeddings writes the embeddings of box, point and label-map cases")
        XCTAssertNoThrow(try EmbeddingFiles.checkNames(try CasePlanner.check([
            try make("/d/v.nii", out + "/v.nii.gz", .volume(.axial), origin: "row 1"),
            try make("/d/w.png", out + "/v.axial.png", origin: "row 2"),
            try make("/d/u.png", out + "/v.axial3x.png", origin: "row 3"),
        ])))
    }
}
