import ArgumentParser
import Foundation
import Logging
import SegmentationServer

/// `medsam serve`: the interactive segmentation server (docs/cli.md, docs/openapi.yaml).
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve interactive segmentation over HTTP: upload, click or box, get masks; propagate; download labels.",
        discussion: """
        Each slice is encoded once and kept in an embedding cache bounded by --cache-mb; clicks are \
        answered by the mask decoder alone. Listens on loopback unless --host says otherwise, which \
        needs --token (or MEDSAM_SERVE_TOKEN): every request must then carry 'Authorization: Bearer TOKEN'. \
        SIGTERM or Ctrl-C stops it after the requests in flight. The API is in docs/openapi.yaml.
        """)

    @Option(help: "Address to listen on (loopback by default; any other needs --token).")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port, printed at start).")
    var port = 8000

    @Option(help: "Bearer token every request must carry (default: MEDSAM_SERVE_TOKEN, if set). Never logged.")
    var token: String?

    @Option(help: "Embedding cache bound in MiB.")
    var cacheMb = 1024

    @Option(help: "Largest upload in MiB (and the most a DICOM zip may inflate to).")
    var maxUploadMb = 1024

    @Option(help: "Per-request time limit in seconds.")
    var timeout = 120.0

    @Option(help: "Folder for unpacking uploads and writing label files (default: a new folder in the system's temporary folder, removed at exit).")
    var tempDir: String?

    @OptionGroup var modelOptions: ModelOptions

    func validate() throws {
        guard cacheMb > 0 else { throw ValidationError("--cache-mb \(cacheMb) must be positive") }
        guard maxUploadMb > 0 else { throw ValidationError("--max-upload-mb \(maxUploadMb) must be positive") }
        guard timeout > 0, timeout.isFinite else { throw ValidationError("--timeout \(timeout) must be a positive number of seconds") }
    }

    func run() throws {
        let token = self.token ?? ProcessInfo.processInfo.environment["MEDSAM_SERVE_TOKEN"]
        let config = ServerConfiguration(host: host, port: port, token: token, maxUploadBytes: maxUploadMb << 20,
                                         requestTimeout: .milliseconds(Int64(timeout * 1000)))
        do { try config.validate() } catch let e as ServiceError { throw CLIError(e.message) }
        let loaded = try modelOptions.load()
        let backend = try modelOptions.makeBackend()
        let ownFolder = tempDir == nil
        let folder = tempDir.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("medsam-serve-\(UUID().uuidString)")
        defer { if ownFolder { try? FileManager.default.removeItem(at: folder) } }
        let service = try SegmentationService(
            model: loaded.model, backend: backend, modelName: loaded.kind.rawValue,
            options: .init(cacheBytes: cacheMb << 20, maxUploadBytes: maxUploadMb << 20, temporaryFolder: folder))
        var logger = Logger(label: "medsam.serve")
        logger.logLevel = .info
        let host = self.host
        let model = loaded.kind.rawValue, backendName = backend.info.name
        // ArgumentParser's run is synchronous; the server runs in a task while this thread waits.
        let metrics = ServerMetrics()
        metrics.bootstrapProcessMetrics()
        let done = DispatchSemaphore(value: 0)
        let outcome = ServeOutcome()
        Task {
            do {
                try await SegmentationServer.run(service: service, configuration: config, logger: logger, metrics: metrics) { port in
                    FileHandle.standardError.write("medsam serve: \(model) on \(backendName), listening on http://\(host):\(port)\n".data(using: .utf8)!)
                }
            } catch {
                outcome.error = error
            }
            done.signal()
        }
        done.wait()
        if let failure = outcome.error { throw CLIError("serve: \(failure)") }
    }
}

/// The server task's failure, read by the waiting thread after the semaphore (so no race).
private final class ServeOutcome: @unchecked Sendable {
    var error: Error?
}
