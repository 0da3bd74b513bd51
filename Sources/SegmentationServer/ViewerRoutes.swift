import Hummingbird
import NIOCore

/// The web viewer (Web/viewer/, embedded by scripts/web/embed-viewer.py): `/` redirects to
/// `/viewer/`, which serves the page, and `/viewer/NAME` its files. They hold no data, so they are public even when the
/// server has a token; the page asks for the token and sends it with every API request.
struct ViewerRoutes<Context: RequestContext> {
    /// Paths served without the bearer token.
    static func isPublic(_ path: String) -> Bool { path == "/" || path == "/viewer" || path.hasPrefix("/viewer/") }

    func register(on router: Router<Context>) {
        router.get("/") { _, _ in Self.redirect() }
        // Hummingbird's router treats `/viewer` and `/viewer/` as one path, so both serve the
        // page; it names its files by absolute paths so that either URL finds them.
        router.get("/viewer") { _, _ in try Self.file("index.html") }
        router.get("/viewer/:file") { _, context in try Self.file(try context.parameters.require("file")) }
    }

    static func redirect() -> Response { Response(status: .seeOther, headers: [.location: "/viewer/"]) }

    static func file(_ name: String) throws -> Response {
        guard let asset = ViewerAssets.files[name] else {
            throw ServiceError.notFound("the viewer has no file '\(name)'")
        }
        return Response(status: .ok,
                        headers: [.contentType: asset.contentType, .cacheControl: "no-cache"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: asset.text)))
    }
}
