import Foundation
import TensorRuntime
import XCTest
@testable import Checkpoints

/// Locates fixtures written by `scripts/reference/checkpoints.py` and their expected values.
enum Fixtures {
    static func url(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name)
    }

    static func path(_ name: String) -> String { url(name).path }

    static func bytes(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: url(name))) }

    /// The expected tensors of `stem` (from `<stem>_expected.tsv` and `.npy`), in file order.
    static func expected(_ stem: String) throws -> [(key: String, tensor: Tensor)] {
        let values = try NPY.read(url(stem + "_expected.npy")).values
        let table = try String(contentsOf: url(stem + "_expected.tsv"), encoding: .utf8)
        return try table.split(separator: "\n").map { line in
            let fields = line.split(separator: "\t").map(String.init)
            guard fields.count >= 3, let offset = Int(fields[2]) else {
                throw CheckpointError(path: stem, problem: .malformedPickle("bad expected-values row \(line)"))
            }
            let dims = fields[1].trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
                .split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            let shape = Shape(dims)
            return (fields[0], Tensor(shape: shape, data: Array(values[offset..<(offset + shape.count)])))
        }
    }

    static let temporaryDirectory = FileManager.default.temporaryDirectory
        .appendingPathComponent("checkpoints-tests-\(ProcessInfo.processInfo.processIdentifier)")

    static func removeTemporaryFiles() { try? FileManager.default.removeItem(at: temporaryDirectory) }

    /// Writes `bytes` to a fresh temporary file and returns its path.
    static func temporaryFile(_ bytes: [UInt8], name: String = "case.pth") throws -> String {
        let dir = temporaryDirectory
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(UUID().uuidString + "-" + name)
        try Data(bytes).write(to: url)
        return url.path
    }
}

/// Asserts `body` throws a `CheckpointError` for `path` whose problem satisfies `match`.
func assertCheckpointError(_ path: String, file: StaticString = #filePath, line: UInt = #line,
                           _ body: () throws -> Void, where match: (CheckpointProblem) -> Bool) {
    do {
        try body()
        XCTFail("expected a CheckpointError", file: file, line: line)
    } catch let error as CheckpointError {
        XCTAssertEqual(error.path, path, file: file, line: line)
        XCTAssertTrue(match(error.problem), "unexpected problem: \(error)", file: file, line: line)
        XCTAssertTrue(error.description.hasPrefix(path), file: file, line: line)
    } catch {
        XCTFail("expected a CheckpointError, got \(error)", file: file, line: line)
    }
}
