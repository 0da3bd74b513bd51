import Foundation
import Hummingbird
import Logging

/// How `medsam serve` listens.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// When set, every request needs `Authorization: Bearer <token>`. Required to listen on
    /// anything but loopback.
    public var token: String?
    public var maxUploadBytes: Int
    public var requestTimeout: Duration

    public init(host: String = "127.0.0.1", port: Int = 8000, token: String? = nil,
                maxUploadBytes: Int = 1 << 30, requestTimeout: Duration = .seconds(120)) {
        self.host = host
        self.port = port
        self.token = token
        self.maxUploadBytes = maxUploadBytes
        self.requestTimeout = requestTimeout
    }

    /// Names that only reach this machine.
    public static let loopbackHosts: Set<String> = ["127.0.0.1", "::1", "localhost"]

    /// Refuses settings that would expose the model to the network without a token.
    public func validate() throws {
        guard (1...65535).contains(port) || port == 0 else {
            throw ServiceError.badRequest("--port \(port) is not in 1...65535")
        }
        if let t = token, t.isEmpty { throw ServiceError.badRequest("--token is empty") }
        if !Self.loopbackHosts.contains(host) && token == nil {
            throw ServiceError.badRequest("--host \(host) is not loopback: binding to it needs --token TOKEN (clients send 'Authorization: Bearer TOKEN')")
        }
        guard maxUploadBytes > 0 else { throw ServiceError.badRequest("the upload limit must be positive") }
    }
}

/// `medsam serve`: builds the Hummingbird application around a `SegmentationService`.
public enum SegmentationServer {
    /// The router with every route and middleware (what tests drive directly).
    ///
    /// - Parameter metrics: what `GET /metrics` reports. HTTP request metrics reach its registry
    ///   only when the process has bootstrapped swift-metrics with a `PrometheusMetricsFactory`
    ///   on it (`medsam serve` does; a process can do that once).
    public static func makeRouter(service: SegmentationService, configuration: ServerConfiguration,
                                  logger: Logger, metrics: ServerMetrics = ServerMetrics()) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        // Outermost first: the access log and the request metrics see the final status; errors
        // from every layer below (a wrong token, a timeout, an unknown route) become JSON.
        router.middlewares.add(AccessLogMiddleware(logger: logger))
        router.middlewares.add(MetricsMiddleware())
        router.middlewares.add(JSONErrorMiddleware())
        if let token = configuration.token { router.middlewares.add(BearerTokenMiddleware(token: Array(token.utf8))) }
        router.middlewares.add(TimeoutMiddleware(timeout: configuration.requestTimeout))
        ServerRoutes(service: service, metrics: metrics, maxUploadBytes: configuration.maxUploadBytes).register(on: router)
        MONAILabelRoutes(service: service, maxUploadBytes: configuration.maxUploadBytes).register(on: router)
        ViewerRoutes().register(on: router)
        return router
    }

    public static func makeApplication(service: SegmentationService, configuration: ServerConfiguration,
                                       logger: Logger, metrics: ServerMetrics = ServerMetrics(),
                                       onRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        -> some ApplicationProtocol {
        Application(router: makeRouter(service: service, configuration: configuration, logger: logger, metrics: metrics),
                    configuration: .init(address: .hostname(configuration.host, port: configuration.port),
                                         serverName: "medsam"),
                    onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? configuration.port) },
                    logger: logger)
    }

    /// Serves until SIGTERM or SIGINT, then lets requests in flight finish and stops the model thread.
    public static func run(service: SegmentationService, configuration: ServerConfiguration, logger: Logger,
                           metrics: ServerMetrics = ServerMetrics(),
                           onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try configuration.validate()
        let app = makeApplication(service: service, configuration: configuration, logger: logger, metrics: metrics,
                                  onRunning: onRunning)
        defer { service.shutdown() }
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}
