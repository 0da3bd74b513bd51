import ArgumentParser
import Foundation
import MedicalImaging
import SAMModels

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a checkpoint or a medical image file.")

    @Option(help: "A checkpoint (.pth or .safetensors).")
    var checkpoint: String?

    @Option(help: "A medical image (NIfTI, DICOM file or folder, PNG, JPEG, NPY, NPZ).")
    var input: String?

    @Option(help: "With --checkpoint: the model it must be.")
    var model: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        switch (checkpoint, input) {
        case (let c?, nil):
            let requested = try model.map { name -> ModelKind in
                guard let k = ModelKind(rawValue: name) else { throw CLIError("unknown model '\(name)'") }
                return k
            }
            let summary = try CheckpointSummary.read(path: c, requested: requested)
            if json { try printJSON(summary) } else { print(try summary.json()) }
        case (nil, let i?):
            let info = try MedicalImageInfo.read(URL(fileURLWithPath: i))
            if json { try printJSON(info) } else { print(try info.jsonString()) }
        default:
            throw CLIError("give exactly one of --checkpoint PATH or --input PATH")
        }
    }
}
