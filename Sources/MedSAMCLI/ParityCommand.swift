import ArgumentParser
import Foundation
import TensorRuntime

extension ParitySuiteSize: ExpressibleByArgument {}

struct Parity: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every op of a backend against the reference (and the reference against PyTorch).",
        discussion: """
        Each GPU/CPU backend runs the standard op suite with random inputs in [-1, 1] and is compared \
        with the reference backend (NMSE per op class, NaN/Inf and guard-region checks). The reference \
        backend itself is compared with outputs recorded from PyTorch (scripts/reference/ops.py). \
        With --backend all, a linked backend without a device is reported and skipped; with \
        --require-all, or when the environment sets CI=true, it is an error.
        """)

    @Option(help: ArgumentHelp("Backend to check: \(BackendRegistry.shared.names.joined(separator: ", ")), "
                               + "or all (every linked backend)."))
    var backend: String = "all"

    @Flag(help: "With --backend all, fail when a linked backend has no device (the default when CI=true).")
    var requireAll = false

    @Option(help: "Device index within the backend.")
    var device: Int = 0

    @Option(help: "Only ops whose name starts with this (e.g. attention, conv2d, matmul).")
    var op: String?

    @Option(help: "Suite size: quick (odd and small shapes) or full (adds SAM's real layer shapes).")
    var suite: ParitySuiteSize = .quick

    @Flag(help: "Also time every case and report GFLOP/s and GB/s.")
    var perf = false

    @Flag(help: "Use the float16 storage path (GPU backends) with its own thresholds.")
    var fp16 = false

    @Option(help: "Folder of PyTorch op fixtures (default: Tests/TensorRuntimeTests/Fixtures/ops of this source tree).")
    var fixtures: String?

    @Flag(help: "Print a JSON list of results.")
    var json = false

    func run() throws {
        let registry = BackendRegistry.shared
        let registrations: [BackendRegistration]
        if backend == "all" {
            registrations = registry.registrations
        } else if let r = registry.registrations.first(where: { $0.name == backend }) {
            registrations = [r]
        } else {
            throw CLIError("--backend: unknown backend '\(backend)' (expected all or one of: \(registry.names.joined(separator: ", ")))")
        }
        var results: [ParityResult] = []
        var missing: [String] = []
        for registration in registrations {
            let name = registration.name
            let b: any Backend
            do {
                b = try registration.make(BackendRequest(name: name, deviceIndex: device, float16: fp16))
            } catch {
                // With `all`, a backend without a device is reported and skipped (an error at the
                // end under --require-all / CI=true); named, it is an error at once.
                if backend == "all" {
                    let line = "\(name): not run (\(error))\n"
                    if json { FileHandle.standardError.write(line.data(using: .utf8)!) } else { print(line, terminator: "") }
                    missing.append("\(name) (\(error))")
                    continue
                }
                throw error
            }
            if !json { FileHandle.standardError.write("running \(name) on \(b.info.name)...\n".data(using: .utf8)!) }
            if b is ReferenceBackend {
                let cases = try PyTorchFixtures.load(directory: fixtureDirectory()).filter(matches)
                results += ParityHarness(backend: b).run(fixtures: cases)
            } else {
                let thresholds = ParityThresholds.standard(for: b.info)
                let cases = ParityCase.standard(suite).filter { matches($0.op) }
                results += ParityHarness(backend: b, thresholds: thresholds).run(cases, perf: perf)
            }
        }
        if json {
            try printJSON(results)
        } else {
            print(ParityResult.table(results, perf: perf), terminator: "")
        }
        if !missing.isEmpty && (requireAll || Self.isCI) {
            throw CLIError("\(missing.count) linked backend(s) could not run"
                           + " (\(requireAll ? "--require-all" : "CI=true") needs every one): \(missing.joined(separator: "; "))")
        }
        if results.isEmpty { throw CLIError("no parity cases matched --op \(op ?? "") on backend \(backend)") }
        if results.contains(where: { !$0.pass }) { throw ExitCode(1) }
    }

    /// CI services set CI=true; there a backend that silently lost its device (no lavapipe,
    /// no PoCL) must fail the run instead of shrinking it.
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"]?.lowercased() == "true" }

    private func matches(_ c: FixtureCase) -> Bool { matches(c.op) }
    private func matches(_ o: Op) -> Bool { op.map { o.name.hasPrefix($0) } ?? true }

    private func fixtureDirectory() throws -> URL {
        if let f = fixtures { return URL(fileURLWithPath: f) }
        let relative = "Tests/TensorRuntimeTests/Fixtures/ops"
        let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(relative)
        if FileManager.default.fileExists(atPath: here.path) { return here }
        // The source tree this binary was built from.
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(relative)
        if FileManager.default.fileExists(atPath: source.path) { return source }
        throw CLIError("PyTorch op fixtures not found at \(here.path) or \(source.path); pass --fixtures DIR")
    }
}
