import ArgumentParser
import Segmentation

extension BackendName: ExpressibleByArgument {}

/// `--backend`, `--device`, `--fp16`, `--threads`: shared by every command that computes.
struct BackendOptions: ParsableArguments {
    @Option(help: "Backend: auto, reference, cpu, opencl or vulkan.")
    var backend: BackendName = .auto

    @Option(help: "Device index within the backend (see `medsam devices`).")
    var device: Int = 0

    @Flag(help: "Store tensors as float16 on GPU backends that support it.")
    var fp16 = false

    @Option(help: "Threads for the cpu backend (default: all cores).")
    var threads: Int?

    var request: BackendRequest {
        BackendRequest(name: backend, deviceIndex: device, float16: fp16, threads: threads)
    }
}
