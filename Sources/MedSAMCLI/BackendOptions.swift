import ArgumentParser
import TensorRuntime

/// `--backend`, `--device`, `--fp16`, `--threads`: shared by every command that computes.
struct BackendOptions: ParsableArguments {
    @Option(help: ArgumentHelp(BackendOptions.backendHelp),
            completion: .list([BackendRequest.auto] + BackendRegistry.shared.names))
    var backend: String = BackendRequest.auto

    @Option(help: "Device index within the backend (see `medsam devices`).")
    var device: Int = 0

    @Flag(help: "Store tensors as float16 on GPU backends that support it.")
    var fp16 = false

    @Option(help: "Threads for the cpu backend (default: all cores).")
    var threads: Int?

    var request: BackendRequest {
        BackendRequest(name: backend, deviceIndex: device, float16: fp16, threads: threads)
    }

    /// Builds the requested backend through the registry.
    func makeBackend() throws -> any Backend {
        try BackendRegistry.shared.make(request)
    }

    /// An unknown name fails before any model is loaded.
    func validate() throws {
        do {
            try BackendRegistry.shared.validate(name: backend)
        } catch {
            throw ValidationError("--backend: \(error)")
        }
    }

    /// "Backend: auto, reference, cpu, opencl or vulkan (auto: ...)", from the registry.
    static var backendHelp: String {
        let registry = BackendRegistry.shared
        let names = [BackendRequest.auto] + registry.names
        let list = names.count > 1 ? names.dropLast().joined(separator: ", ") + " or " + names.last! : names[0]
        let autoOrder = registry.autoCandidates.map(\.name)
        let auto = autoOrder.isEmpty ? "no linked backend is chosen automatically"
            : "the first hardware device of \(autoOrder.joined(separator: ", then "))"
        return "Backend: \(list) (auto: \(auto); see `medsam devices`)."
    }
}
