// swift-tools-version:6.0
// The cpu backend's threading tests under ThreadSanitizer, as a package of their own so that
// the sanitizer build compiles only what they exercise (TensorRuntime, CPUVectorKernels,
// CPUBackend and swift-numerics) instead of every target of medsam-swift (the server's NIO and
// BoringSSL among them: about 6.5 minutes of CI's 2 cores). The test files are symbolic links
// to Tests/CPUBackendTests, so `swift test` in the main package runs the same tests without the
// sanitizer. Run through scripts/tests/tsan.sh.
import PackageDescription

let package = Package(
    name: "medsam-tsan",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "medsam-swift", path: "../../..")],
    targets: [
        .testTarget(name: "ThreadingTests",
                    dependencies: [.product(name: "CPUBackend", package: "medsam-swift"),
                                   .product(name: "TensorRuntime", package: "medsam-swift")]),
    ],
    // The same language mode as the main package, whose test files these are.
    swiftLanguageModes: [.v5]
)
