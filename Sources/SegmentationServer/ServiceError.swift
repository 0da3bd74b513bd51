import Foundation

/// An error a client caused or can act on, with the HTTP status the API answers it with.
///
/// Every failure of the native API reaches the client as `{"error": {"status": S, "message": M}}`;
/// the message names the field and the value expected, as the CLI's `error:` lines do.
public struct ServiceError: Error, CustomStringConvertible, Equatable, Sendable {
    public var status: Int
    public var message: String

    public init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { message }

    public static func badRequest(_ m: String) -> ServiceError { ServiceError(400, m) }
    public static func notFound(_ m: String) -> ServiceError { ServiceError(404, m) }
    public static func tooLarge(_ m: String) -> ServiceError { ServiceError(413, m) }
    public static func unsupported(_ m: String) -> ServiceError { ServiceError(415, m) }
    public static func unprocessable(_ m: String) -> ServiceError { ServiceError(422, m) }
    public static let shuttingDown = ServiceError(503, "the server is shutting down")
}
