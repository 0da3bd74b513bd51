import CLibCrypto

/// SHA-256 through OpenSSL's libcrypto, the system's well-kept implementation (with the CPU's
/// SHA extensions where it has them). The default-weights check is the only digest the engine
/// computes; linking the system library keeps a second copy of a TLS stack's C sources out of
/// the build.
enum SHA256Digest {
    /// Why a digest could not be computed (libcrypto refused the call).
    struct Failure: Error, CustomStringConvertible {
        var description: String { "OpenSSL's EVP_Digest(SHA-256) failed" }
    }

    /// The digest of `bytes` as 64 lower-case hexadecimal digits.
    static func hex(of bytes: UnsafeRawBufferPointer) throws -> String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = digest.withUnsafeMutableBufferPointer { out in
            EVP_Digest(bytes.baseAddress, bytes.count, out.baseAddress, &length, EVP_sha256(), nil)
        }
        guard ok == 1, length == 32 else { throw Failure() }
        return digest[0..<32].map { String(format: "%02x", $0) }.joined()
    }
}
