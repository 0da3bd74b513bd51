import ArgumentParser
import Foundation
import Segmentation
import TensorRuntime

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Compute an image embedding and save it as .npy.")

    @OptionGroup var inputOptions: InputOptions
    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Embedding output (.npy float32, [1, 256, 64, 64]).")
    var output: String

    @Flag(help: "Overwrite an existing output.")
    var force = false

    func run() throws {
        guard output.hasSuffix(".npy") else { throw CLIError("--output \(output): expected a .npy file name") }
        try checkOutputPath(output, force: force, option: "--output")
        let (image, _) = try inputOptions.image()
        let loaded = try modelOptions.load()
        let predictor = Predictor(model: loaded.model, backend: try modelOptions.makeBackend())
        try predictor.setImage(image)
        let embedding = try predictor.downloadEmbedding()
        try NPY.write(embedding, to: URL(fileURLWithPath: output))
        print("wrote \(output) \(embedding.shape) (" + String(format: "%.0f ms", predictor.lastEncodeMilliseconds) + ")")
    }
}
