import MedicalImaging
@testable import Segmentation
import TensorRuntime
import XCTest

/// Batch inputs: manifests (CSV, JSONL) and their errors, folders and globs, boxes from labels,
/// shards, the journal and resume decisions, and the NPZ writer.
final class BatchInputTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("batch-inputs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func write(_ name: String, _ text: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    var defaults: CaseDefaults { CaseDefaults(outputDirectory: dir.appendingPathComponent("out").path) }

    func assertError(_ body: @autoclosure () throws -> Any, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            let text = "\(error)"
            for p in parts { XCTAssertTrue(text.contains(p), "'\(text)' does not name '\(p)'", file: file, line: line) }
        }
    }

    func testCSVManifestWithQuotedBoxesSlicesAndDefaults() throws {
        let path = try write("cases.csv", """
        input,slice,box,point,output
        a.nii.gz,4,"10,20,30,40;1,2,3,4",,
        b.png,,"5,5,50,50","7,8,1",custom/b_mask.npy

        c.nii.gz,,,,
        """)
        var d = defaults
        d.labelsDirectory = dir.appendingPathComponent("labels").path
        let cases = try Manifest.read(path: path, defaults: d)
        XCTAssertEqual(cases.count, 3)
        XCTAssertEqual(cases[0].selection, .slice(.axial, 4))
        XCTAssertEqual(cases[0].prompts, .explicit([ImagePrompt(box: [10, 20, 30, 40]), ImagePrompt(box: [1, 2, 3, 4])]))
        XCTAssertEqual(cases[0].output, dir.appendingPathComponent("out/a_axial4.png").path)
        XCTAssertEqual(cases[0].id, dir.appendingPathComponent("a.nii.gz").path + "#axial4")
        XCTAssertEqual(cases[1].prompts, .explicit([ImagePrompt(points: [.init(x: 7, y: 8, label: 1)], box: [5, 5, 50, 50])]))
        XCTAssertEqual(cases[1].output, dir.appendingPathComponent("custom/b_mask.npy").path)
        XCTAssertEqual(cases[1].format, .npy)
        // No prompts in the row: the label map of the same name from --boxes-from-labels; a whole volume.
        XCTAssertEqual(cases[2].prompts, .labels(path: dir.appendingPathComponent("labels/c.nii.gz").path, margin: .fixed(0)))
        XCTAssertEqual(cases[2].format, .nifti)
    }

    func testJSONLManifest() throws {
        let path = try write("cases.jsonl", """
        {"input": "v.nii", "slices": [2, 5], "axis": "coronal", "boxes": [[1, 2, 3, 4]]}
        {"input": "p.png", "points": [[3, 4], [5, 6, 0]]}
        """)
        let cases = try Manifest.read(path: path, defaults: defaults)
        XCTAssertEqual(cases[0].selection, .range(.coronal, 2...5))
        XCTAssertEqual(cases[0].format, .nifti)
        XCTAssertEqual(cases[1].prompts, .explicit([ImagePrompt(points: [.init(x: 3, y: 4, label: 1), .init(x: 5, y: 6, label: 0)])]))
    }

    func testManifestErrorsNameRowAndField() throws {
        assertError(try Manifest.read(path: try write("m1.csv", "file,box\na.png,\"1,2,3,4\"\n"), defaults: defaults),
                    contains: ["m1.csv", "column", "'file'"])
        assertError(try Manifest.read(path: try write("m2.csv", "box\n\"1,2,3,4\"\n"), defaults: defaults),
                    contains: ["m2.csv", "no 'input' column"])
        assertError(try Manifest.read(path: try write("m3.csv", "input,box\na.png,\"1,2,3,4\"\nb.png,\"1,2,3\"\n"), defaults: defaults),
                    contains: ["m3.csv row 2 (line 3)", "field 'box'", "'1,2,3'"])
        assertError(try Manifest.read(path: try write("m4.csv", "input,box\na.png,\"30,2,3,40\"\n"), defaults: defaults),
                    contains: ["row 1", "field 'box'", "X1 < X0"])
        assertError(try Manifest.read(path: try write("m5.csv", "input,box\na.png\n"), defaults: defaults),
                    contains: ["row 1", "1 fields, the header has 2"])
        assertError(try Manifest.read(path: try write("m6.jsonl", "{\"input\": \"a.png\", \"boxes\": [[1, 2, 3, 4]]}\n{\"input\": \"b.png\", \"boxes\": [[1, 2, 3]]}\n"),
                                      defaults: defaults),
                    contains: ["m6.jsonl row 2 (line 2)", "field 'boxes[0]'"])
        assertError(try Manifest.read(path: try write("m7.jsonl", "{\"input\": \"a.png\"}\n"), defaults: defaults),
                    contains: ["m7.jsonl row 1", "no prompts"])
        assertError(try Manifest.read(path: try write("m8.csv", "input,slice,box\na.nii,x,\"1,2,3,4\"\n"), defaults: defaults),
                    contains: ["row 1", "field 'slice'"])
        assertError(try Manifest.read(path: try write("m9.csv", "input,slices,box,output\na.nii,1-3,\"1,2,3,4\",a.png\n"), defaults: defaults),
                    contains: ["row 1", "field 'output'"])
        assertError(try Manifest.read(path: try write("m10.csv", "input\n"), defaults: defaults), contains: ["no cases"])
    }

    func testDuplicateCasesAndOutputsAreErrors() throws {
        let path = try write("dup.csv", "input,box,output\na.png,\"1,2,3,4\",x.png\nb.png,\"1,2,3,4\",x.png\n")
        assertError(try CasePlanner.check(try Manifest.read(path: path, defaults: defaults)),
                    contains: ["row 2", "field 'output'", "also the output of", "row 1"])
    }

    func testFoldersAndGlobs() throws {
        let empty = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        assertError(try InputExpansion.expand([empty.path]), contains: ["--input \(empty.path)", "no images found"])
        assertError(try InputExpansion.expand([dir.appendingPathComponent("nothing-*.png").path]), contains: ["no images found"])
        assertError(try InputExpansion.expand([dir.appendingPathComponent("missing.png").path]), contains: ["no such file"])
        for n in ["b.png", "a.nii.gz", "notes.txt", ".hidden.png"] { _ = try write(n, "x") }
        XCTAssertEqual(try InputExpansion.expand([dir.path]), [dir.appendingPathComponent("a.nii.gz").path, dir.appendingPathComponent("b.png").path])
        XCTAssertEqual(try InputExpansion.expand([dir.appendingPathComponent("*.png").path]), [dir.appendingPathComponent("b.png").path])
    }

    func testBoxesFromLabels() throws {
        // 6 x 8 slice: label 1 at columns 1...2, rows 1...2; label 3 at (7, 5), the corner.
        var plane = [Float](repeating: 0, count: 6 * 8)
        for (x, y) in [(1, 1), (2, 1), (1, 2), (2, 2)] { plane[y * 8 + x] = 1 }
        plane[5 * 8 + 7] = 3
        let tight = LabelBoxes.boxes(labels: plane, height: 6, width: 8, margin: .fixed(0), key: "k")
        XCTAssertEqual(tight.map(\.label), [1, 3])
        XCTAssertEqual(tight.map(\.box), [[1, 1, 2, 2], [7, 5, 7, 5]])
        let wide = LabelBoxes.boxes(labels: plane, height: 6, width: 8, margin: .fixed(2), key: "k")
        XCTAssertEqual(wide.map(\.box), [[0, 0, 4, 4], [5, 3, 7, 5]], "clipped to the image")
        let r1 = LabelBoxes.boxes(labels: plane, height: 6, width: 8, margin: .random(max: 20, seed: 9), key: "case#3")
        let r2 = LabelBoxes.boxes(labels: plane, height: 6, width: 8, margin: .random(max: 20, seed: 9), key: "case#3")
        XCTAssertEqual(r1.map(\.box), r2.map(\.box), "same seed and key, same margins")
        // Margins 0...1 on a box in the middle of a large image: every draw is one of the two.
        var big = [Float](repeating: 0, count: 100 * 100)
        big[50 * 100 + 50] = 1
        var seen = Set<[Float]>()
        for s in 0..<64 {
            let b = LabelBoxes.boxes(labels: big, height: 100, width: 100, margin: .random(max: 1, seed: UInt64(s)), key: "k")[0].box
            XCTAssertTrue([49, 50].contains(b[0]) && [49, 50].contains(b[1]) && [50, 51].contains(b[2]) && [50, 51].contains(b[3]), "\(b)")
            seen.insert(b)
        }
        XCTAssertGreaterThan(seen.count, 4, "the margins vary with the seed")
    }

    func testShardsCoverEveryCaseOnce() throws {
        let ids = (0..<23).map { "case\($0)" }.sorted()
        for n in [1, 2, 7] {
            var seen: [String] = []
            for k in 0..<n { seen += try Shard(index: k, count: n).select(ids) }
            XCTAssertEqual(seen.sorted(), ids, "\(n) shards")
        }
        XCTAssertEqual(try Shard.resolve(index: nil, count: nil, environment: [:]), try Shard(index: 0, count: 1))
        XCTAssertEqual(try Shard.resolve(index: nil, count: nil,
                                         environment: ["SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "3", "SLURM_ARRAY_TASK_COUNT": "4"]),
                       try Shard(index: 2, count: 4))
        XCTAssertEqual(try Shard.resolve(index: 1, count: 3, environment: ["SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "9"]),
                       try Shard(index: 1, count: 3), "options win over the environment")
        assertError(try Shard.resolve(index: 3, count: 3, environment: [:]), contains: ["--shard-id 3"])
        assertError(try Shard.resolve(index: 1, count: nil, environment: [:]), contains: ["--num-shards"])
        assertError(try Shard.resolve(index: nil, count: nil,
                                      environment: ["SLURM_ARRAY_TASK_ID": "9", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "9", "SLURM_ARRAY_TASK_COUNT": "3"]),
                    contains: ["not consecutive"])
    }

    func testJournalSkipsACutLineAndResumeDecides() throws {
        let path = dir.appendingPathComponent("j.jsonl").path
        let out = dir.appendingPathComponent("a.png").path
        _ = try write("a.png", "x")
        do {
            let j = try BatchJournal(path: path)
            var run = JournalEntry(kind: "run"); run.shard = 0; run.shards = 1; run.total = 4
            try j.append(run)
            var a = JournalEntry(kind: "case"); a.id = "a"; a.status = "done"; a.output = out
            try j.append(a)
            var b = JournalEntry(kind: "case"); b.id = "b"; b.status = "failed"; b.error = "bad"
            try j.append(b)
            var c = JournalEntry(kind: "case"); c.id = "c"; c.status = "done"; c.output = dir.appendingPathComponent("gone.png").path
            try j.append(c)
        }
        // A kill in the middle of a line.
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        h.seekToEndOfFile()
        h.write(Data("{\"kind\":\"case\",\"id\":\"d\",\"sta".utf8))
        h.closeFile()
        do {
            // Reopening ends the cut line, so the next entry is a line of its own.
            let j = try BatchJournal(path: path)
            var d = JournalEntry(kind: "case"); d.id = "e"; d.status = "done"
            try j.append(d)
        }
        let (entries, skipped) = try BatchJournal.read(path: path)
        XCTAssertEqual(skipped, 1)
        XCTAssertEqual(entries.compactMap(\.id), ["a", "b", "c", "e"])
        func make(_ id: String, _ output: String) -> BatchCase {
            BatchCase(id: id, input: id, selection: .image, prompts: .explicit([ImagePrompt(box: [0, 0, 1, 1])]), output: output, format: .png, origin: id)
        }
        let cases = [make("a", out), make("b", "b.png"), make("c", dir.appendingPathComponent("gone.png").path), make("d", "d.png")]
        let latest = BatchJournal.latest(entries)
        let plan = ResumePlan(cases: cases, journal: latest, force: false, retryFailed: false)
        XCTAssertEqual(plan.done.map(\.id), ["a"])
        XCTAssertEqual(plan.failed.map(\.0.id), ["b"])
        XCTAssertEqual(plan.toRun.map(\.id), ["c", "d"], "done without its output, and never run")
        XCTAssertEqual(ResumePlan(cases: cases, journal: latest, force: false, retryFailed: true).toRun.map(\.id), ["b", "c", "d"])
        XCTAssertEqual(ResumePlan(cases: cases, journal: latest, force: true, retryFailed: false).toRun.count, 4)
    }

    func testMergeChecksEveryCaseOnce() throws {
        func journal(_ name: String, shard: Int, of n: Int, total: Int, ids: [String]) throws -> String {
            let path = dir.appendingPathComponent(name).path
            let j = try BatchJournal(path: path)
            var run = JournalEntry(kind: "run"); run.shard = shard; run.shards = n; run.total = total
            try j.append(run)
            for id in ids {
                var e = JournalEntry(kind: "case"); e.id = id; e.status = "done"; e.images = 1; e.prompts = 2
                try j.append(e)
            }
            return path
        }
        let a = try journal("a.jsonl", shard: 0, of: 2, total: 3, ids: ["x", "z"])
        let b = try journal("b.jsonl", shard: 1, of: 2, total: 3, ids: ["y"])
        let m = try MergeSummary.merge(paths: [a, b])
        XCTAssertEqual([m.total, m.done, m.failed, m.images, m.prompts], [3, 3, 0, 3, 6])
        assertError(try MergeSummary.merge(paths: [a]), contains: ["shards 1 (of 2) are missing"])
        let c = try journal("c.jsonl", shard: 1, of: 2, total: 3, ids: ["x"])
        assertError(try MergeSummary.merge(paths: [a, c]), contains: ["case x is in two journals"])
        let short = try journal("d.jsonl", shard: 1, of: 2, total: 3, ids: [])
        assertError(try MergeSummary.merge(paths: [a, short]), contains: ["1 not finished"])
    }

    func testNPZWriterRoundTrip() throws {
        let segs: [UInt8] = [0, 1, 2, 3, 255, 7]
        let url = dir.appendingPathComponent("r.npz")
        try NPZWriter.write([("segs", NPZWriter.uint8Array(segs, shape: [2, 3])),
                             ("other", NPY.encode(Tensor(shape: [2], data: [1.5, -2])))], to: url)
        let back = try NPZArchive.read(url)
        XCTAssertEqual(back["segs"]?.shape, [2, 3])
        XCTAssertEqual(back["segs"]?.dtype, "|u1")
        XCTAssertEqual(back["segs"]?.values, segs.map(Float.init))
        XCTAssertEqual(back["other"]?.values, [1.5, -2])
    }
}
