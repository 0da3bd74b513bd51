import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded

/// A response as the server tests read it: status, header fields and the whole body.
struct RouterResponse: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let body: ByteBuffer
}

/// Sends requests straight to an application's responder (its router and middlewares), in
/// process, with no socket.
///
/// The tests need nothing more than this. HummingbirdTesting offers the same through
/// `.test(.router)`, but depending on it builds AsyncHTTPClient, NIOSSL and a second BoringSSL
/// into every debug test build for its live-server client, which these tests never use: about
/// a tenth of CI's 30-minute budget.
struct RouterClient<Responder: HTTPResponder>: Sendable
where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
    let responder: Responder
    let logger: Logger

    /// Sends one request and hands its response to `check`. The body is sent whole, with its
    /// `Content-Length`, as an HTTP client would; an error thrown by the responder becomes a 500,
    /// as the server's HTTP layer answers it.
    @discardableResult
    func execute<Value>(uri: String, method: HTTPRequest.Method, headers: HTTPFields = [:], body: ByteBuffer? = nil,
                        _ check: (RouterResponse) async throws -> Value) async throws -> Value {
        var fields = headers
        if let body { fields[.contentLength] = String(body.readableBytes) }
        let request = Request(head: HTTPRequest(method: method, scheme: "http", authority: "localhost", path: uri,
                                                headerFields: fields),
                              body: RequestBody(buffer: body ?? ByteBuffer()))
        let context = Responder.Context(source: ApplicationRequestContextSource(channel: EmbeddedChannel(), logger: logger))
        let response: Response
        do {
            response = try await responder.respond(to: request, context: context)
        } catch {
            response = Response(status: .internalServerError)
        }
        let collector = BodyCollector()
        try await response.body.write(collector)
        return try await check(RouterResponse(status: response.status, headers: response.headers, body: collector.body))
    }
}

/// Gathers a response body's buffers (a class so that the copy the response writes into is the
/// one read afterwards).
private final class BodyCollector: ResponseBodyWriter, @unchecked Sendable {
    private let buffers = NIOLockedValueBox(ByteBuffer())
    var body: ByteBuffer { buffers.withLockedValue { $0 } }
    func write(_ buffer: ByteBuffer) async throws { buffers.withLockedValue { $0.writeImmutableBuffer(buffer) } }
    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

extension ApplicationProtocol {
    /// Runs `body` with a client that talks to this application's router in process. The
    /// applications under test have no background services to start.
    func withRouterClient<Value>(_ body: (RouterClient<Responder>) async throws -> Value) async throws -> Value {
        try await body(RouterClient(responder: try await responder, logger: logger))
    }
}
