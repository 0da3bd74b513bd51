import ArgumentParser
import Foundation

/// Refuses a single-value option given more than once (`--input a --input b`).
///
/// ArgumentParser keeps the last value of a repeated single-value option without a word, so
/// `--slice 10 --slice 40` would silently segment slice 40. The command tree's own description
/// (`_dumpHelp`, the JSON that `--experimental-dump-help` prints) says which options take one
/// value, so the rule follows every command and option without a list kept by hand.
enum RepeatedOptionCheck {
    /// Throws a `CLIError` naming the first option of the chosen subcommand that appears twice.
    static func check(_ arguments: [String], root: ParsableCommand.Type) throws {
        guard let data = root._dumpHelp().data(using: .utf8),
              let dump = try? JSONDecoder().decode(Dump.self, from: data) else { return }
        // The subcommand path: leading words that name subcommands.
        var command = dump.command
        var rest = arguments[...]
        while let word = rest.first, let sub = command.subcommands?.first(where: { $0.commandName == word }) {
            command = sub
            rest = rest.dropFirst()
        }
        let single = (command.arguments ?? []).filter { $0.kind == "option" && !$0.isRepeating }
        let tokens = rest.prefix { $0 != "--" }   // after "--" everything is positional
        for option in single {
            let spellings = (option.names ?? []).map { $0.kind == "long" ? "--\($0.name)" : "-\($0.name)" }
            let uses = tokens.filter { token in spellings.contains { token == $0 || token.hasPrefix($0 + "=") } }
            if uses.count > 1, let name = spellings.first {
                let repeatable = (command.arguments ?? []).filter { $0.kind == "option" && $0.isRepeating }
                    .compactMap { $0.names?.first.map { "--\($0.name)" } }
                let hint = repeatable.isEmpty ? "" : " (of this command's options only \(repeatable.joined(separator: ", ")) may repeat)"
                throw CLIError("\(name) is given \(uses.count) times; it takes one value\(hint)")
            }
        }
    }

    // The parts of ArgumentParser's tool-info JSON (ToolInfoV0) this check reads.
    private struct Dump: Decodable { var command: Command }
    private struct Command: Decodable {
        var commandName: String
        var subcommands: [Command]?
        var arguments: [Argument]?
    }
    private struct Argument: Decodable {
        var kind: String
        var isRepeating: Bool
        var names: [Name]?
    }
    private struct Name: Decodable {
        var kind: String
        var name: String
    }
}
