// Fuzz targets for every file reader the CLI uses (docs/fuzzing.md).
//
//   ReaderFuzz <reader> FILE...            replays files (the normal build): prints what each
//                                          gave, so a crash found by the fuzzer reproduces
//                                          without it
//   MEDSAM_FUZZ_READER=<reader> ReaderFuzz [libFuzzer flags] CORPUS...
//                                          the -DFUZZING build (scripts/tests/fuzz.sh): libFuzzer's
//                                          own main with this reader as its target
//
// <reader> is one of `Reader.allCases`. A thrown error is the reader doing its job (refusing bad
// input); anything else (a trap, a sanitizer report, a hang, runaway memory) ends the process, and
// nothing here catches signals or traps, so libFuzzer sees every one.
import ArchiveIO
import Checkpoints
import Foundation
import MedicalImaging

/// The readers, each called the way the CLI calls it, on bytes in memory.
enum Reader: String, CaseIterable {
    case nifti, dicom, nrrd, metaimage, png, jpeg, npy, npz, pth, safetensors
    /// The JPEG-LS codec on raw streams (.jls): DICOM carries it, but reaching it through the
    /// DICOM reader costs most inputs on the data set around the frame.
    case jpegls

    /// Reads `bytes` as a file of this kind; throws what the reader throws.
    func read(_ bytes: [UInt8]) throws {
        switch self {
        case .jpegls:
            _ = try JPEGLSCodec.decode(bytes)
        case .pth, .safetensors:
            // `medsam` opens checkpoints by their first bytes, whatever the name; then loads
            // every tensor (converting each to float32).
            let source = try Checkpoint.open(bytes: bytes, path: "fuzz-input.\(rawValue)")
            for key in source.keys { _ = try source.load(key) }
        case .png:
            // libpng refuses a chunk whose CRC does not match, so almost every mutation of a
            // seed would stop at the first changed chunk; the harness rewrites the CRCs (the
            // replay mode too, so a finding reproduces) and the mutations reach the decoder.
            _ = try MedicalImageFile.decode(PNGChunks.withValidCRCs(bytes), format: .png,
                                            url: URL(fileURLWithPath: "/nonexistent-medsam-fuzz/input.png"))
        default:
            // A path in a folder that does not exist: the name only picks messages (and `.gz`
            // handling), and a relative detached data file (NRRD, MetaImage) is never found.
            let url = URL(fileURLWithPath: "/nonexistent-medsam-fuzz/input.\(fileExtension)")
            // Without a volume index, as `medsam` runs by default; with index 0, the path that
            // picks one volume or frame of a 4-D image or multi-frame file.
            var first: Error?
            do { _ = try MedicalImageFile.decode(bytes, format: format, url: url) } catch { first = error }
            if [.nifti, .dicom, .nrrd, .metaimage].contains(self) {
                _ = try MedicalImageFile.decode(bytes, format: format, url: url, options: .init(volumeIndex: 0))
            }
            if let first { throw first }
        }
    }

    private var format: MedicalImageFormat {
        switch self {
        case .nifti: .nifti
        case .dicom: .dicom
        case .nrrd: .nrrd
        case .metaimage: .metaimage
        case .png: .png
        case .jpeg: .jpeg
        case .npy: .npy
        case .npz: .npz
        case .pth, .safetensors, .jpegls: fatalError("not read through MedicalImageFile")
        }
    }

    private var fileExtension: String {
        switch self {
        case .nifti: "nii"
        case .dicom: "dcm"
        case .metaimage: "mha"
        case .jpeg: "jpg"
        default: rawValue
        }
    }
}

/// PNG chunk walking for the harness: length, type, data, CRC-32 of type and data (PNG spec 5.3).
enum PNGChunks {
    /// `bytes` with each whole chunk's CRC recomputed; anything that is not a chunk is left as is.
    static func withValidCRCs(_ bytes: [UInt8]) -> [UInt8] {
        var out = bytes
        var p = 8  // after the signature
        while p + 12 <= out.count {
            let length = Int(out[p]) << 24 | Int(out[p + 1]) << 16 | Int(out[p + 2]) << 8 | Int(out[p + 3])
            guard length <= out.count - p - 12 else { break }
            let c = out.withUnsafeBytes { Zlib.crc32(UnsafeRawBufferPointer(rebasing: $0[(p + 4)..<(p + 8 + length)])) }
            for k in 0..<4 { out[p + 8 + length + k] = UInt8(truncatingIfNeeded: c >> (24 - 8 * k)) }
            p += 12 + length
        }
        return out
    }
}

/// Environment variable naming the reader in the fuzzing build, where libFuzzer owns the command
/// line (and runs this program again with its own arguments in its -fork, -merge and
/// -minimize_crash modes).
let readerVariable = "MEDSAM_FUZZ_READER"

func usage() -> Never {
    let names = Reader.allCases.map(\.rawValue).joined(separator: "|")
    FileHandle.standardError.write(Data("""
        usage: ReaderFuzz <\(names)> FILE...                                (replay build)
               \(readerVariable)=<\(names)> ReaderFuzz [libFuzzer flags] CORPUS...  (-DFUZZING build)

        """.utf8))
    exit(2)
}

#if FUZZING
/// The reader under test, from the environment (read once, on the first input).
let fuzzedReader: Reader = {
    guard let name = ProcessInfo.processInfo.environment[readerVariable], let r = Reader(rawValue: name) else { usage() }
    return r
}()

/// libFuzzer's target (its own `main` drives it); returns 0, the only value libFuzzer allows.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = size == 0 ? [] : [UInt8](UnsafeBufferPointer(start: data, count: size))
    _ = try? fuzzedReader.read(bytes)
    return 0
}
#else
@main
enum ReaderFuzz {
    static func main() {
        let arguments = CommandLine.arguments
        guard arguments.count > 1, let reader = Reader(rawValue: arguments[1]) else { usage() }
        for path in arguments.dropFirst(2) {
            guard let data = FileManager.default.contents(atPath: path) else {
                print("\(path): cannot read")
                exit(1)
            }
            do {
                try reader.read([UInt8](data))
                print("\(path): read")
            } catch {
                print("\(path): refused: \(error)")
            }
        }
    }
}
#endif
