import ArgumentParser
import Foundation
import TensorRuntime

/// The `medsam` command: Segment Anything models on medical images, on GPU (OpenCL, Vulkan) or CPU.
@main
struct MedSAM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "medsam",
        abstract: "Segment Anything (SAM, MedSAM, LiteMedSAM) inference for medical images on GPU or CPU.",
        version: medsamVersion,
        subcommands: [Segment.self, VolumeSegment.self, Batch.self, Evaluate.self, Everything.self, Serve.self, Embed.self, Info.self,
                      Convert.self, Devices.self, Fetch.self, Parity.self, Bench.self])

    /// Parses and runs a subcommand; any failure prints exactly one `error: ...` line on
    /// standard error and exits non-zero (the contract in CLI.md), help and version still work.
    static func main() {
        do {
            // Before parsing: `--backend` values and help text come from the registry.
            try LinkedBackends.register()
            try RepeatedOptionCheck.check(Array(CommandLine.arguments.dropFirst()), root: MedSAM.self)
            var command = try parseAsRoot()
            try command.run()
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                MedSAM.exit(withError: error)   // --help / --version
            }
            // ArgumentParser's own errors carry usage text after the first line; ours carry
            // details (e.g. every mismatched checkpoint key), indented under the error line.
            let isOurs = code != .validationFailure
            let lines = (isOurs ? "\(error)" : fullMessage(for: error)).split(separator: "\n", omittingEmptySubsequences: true)
            let first = lines.first.map(String.init) ?? "\(error)"
            var text = first.hasPrefix("Error: ") ? String(first.dropFirst(7)) : first
            if !text.hasPrefix("error:") { text = "error: " + text }
            if isOurs { for detail in lines.dropFirst() { text += "\n  " + detail.trimmingCharacters(in: .whitespaces) } }
            FileHandle.standardError.write((text + "\n").data(using: .utf8)!)
            Foundation.exit(code == .success ? 1 : max(code.rawValue, 1))
        }
    }
}

/// The release this build reports with `medsam --version` (one place; bump with each release).
let medsamVersion = "0.5.0"

/// An error for the user: one line that names the file, field or value at fault.
struct CLIError: Error, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// Prints one JSON value on standard output (sorted keys, so output is stable).
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    let data = try encoder.encode(value)
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write("\n".data(using: .utf8)!)
}

/// A folder a command writes into, named by `option`: created if missing, refused (naming the
/// option and path) if it is a file or cannot be created.
func makeOutputFolder(_ path: String, option: String) throws {
    var isDir: ObjCBool = false
    if !FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw CLIError("\(option) \(path): cannot create the folder: \(error.localizedDescription)")
        }
    } else if !isDir.boolValue {
        throw CLIError("\(option) \(path): is a file, expected a folder")
    }
}
