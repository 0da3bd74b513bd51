import Foundation
import Hummingbird
import Logging
import NIOCore

/// Turns every failure into a JSON error body with the right status, so a client never has to
/// parse an HTML page or an empty 500: `{"error": {"status": S, "message": M}}`.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let (status, message) = Self.describe(error)
            var response = APIResponse.json(ErrorBody(error: .init(status: status, message: message)),
                                            status: HTTPResponse.Status(code: status))
            if let http = error as? HTTPError { for field in http.headers { response.headers.append(field) } }
            return response
        }
    }

    static func describe(_ error: Error) -> (Int, String) {
        switch error {
        case let e as ServiceError: return (e.status, e.message)
        case is NIOTooManyBytesError: return (413, "the request body exceeds the server's upload limit")
        case let e as HTTPError:
            let message = e.body ?? (e.status == .notFound ? "no such route" : e.status.reasonPhrase)
            return (e.status.code, message)
        case let e as DecodingError: return (400, "the JSON body does not match the schema: \(APIResponse.describe(e))")
        default: return (500, "\(error)")
        }
    }
}

/// Requires `Authorization: Bearer TOKEN` on every request when a token is set. The token is
/// compared in constant time and never logged or echoed.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if ViewerRoutes<Context>.isPublic(request.uri.path) { return try await next(request, context) }
        let given = request.headers[.authorization].map { Array($0.utf8) } ?? []
        let expected = Array("Bearer ".utf8) + token
        guard Self.constantTimeEqual(given, expected) else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"],
                            message: "this server needs 'Authorization: Bearer <token>' (the --token it was started with)")
        }
        return try await next(request, context)
    }

    /// Equal bytes, in time that depends only on the lengths.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}

/// Answers 503 with a JSON error when a request takes longer than `timeout`. Work already on
/// the model thread finishes there (a running encoder cannot be interrupted); the client is not
/// kept waiting for it.
struct TimeoutMiddleware<Context: RequestContext>: RouterMiddleware {
    let timeout: Duration

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let timeout = self.timeout
        return try await withoutActuallyEscaping(next) { next in
            try await withThrowingTaskGroup(of: Response.self) { group in
                group.addTask { try await next(request, context) }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    throw ServiceError(503, "the request took longer than the server's \(timeout.seconds) s limit (--timeout)")
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        }
    }
}

/// One log line per request: method, path (without the query), status, milliseconds. Headers
/// are never logged, so neither is the bearer token.
struct AccessLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let ms = (ContinuousClock.now - start).seconds * 1000
        logger.info("\(request.method) \(request.uri.path) \(response.status.code) \(String(format: "%.1f", ms)) ms")
        return response
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
