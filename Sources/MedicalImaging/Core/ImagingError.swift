import Foundation

/// An error reading or writing a medical image. It always names the file, and where it can the
/// field (header entry, DICOM tag, archive member) and what was expected there.
public struct ImagingError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The broad reason, so callers and tests can react without parsing the message.
    public enum Kind: String, Equatable, Sendable {
        /// The file or folder could not be opened or read at all.
        case unreadable
        /// The file ends before the data its header promises.
        case truncated
        /// A header field holds a value the format does not allow.
        case corrupt
        /// A valid file that uses a feature this reader does not handle (e.g. a compressed transfer syntax).
        case unsupported
        /// A required element or member is absent.
        case missing
        /// Files that should form one image do not agree (two series, differing sizes).
        case inconsistent
        /// An output could not be written.
        case writeFailed
        /// A caller passed an argument outside what the operation accepts.
        case invalidArgument
    }

    public var kind: Kind
    public var path: String
    public var field: String?
    public var message: String

    public init(_ kind: Kind, path: String, field: String? = nil, _ message: String) {
        self.kind = kind
        self.path = path
        self.field = field
        self.message = message
    }

    public var description: String {
        if let field { return "\(path): \(field): \(message)" }
        return "\(path): \(message)"
    }

    public var errorDescription: String? { description }
}
