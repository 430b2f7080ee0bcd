// A small Dockerfile reader (enough for our own Dockerfile): instructions with line continuations, exec-form JSON
// arrays, flags, and ENV key=value pairs. No engine runs here, so tests check the Dockerfile by reading it.
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Gateway.TestSupport;

public sealed record DockerInstruction(string Keyword, string Arguments, int Line, int Stage)
{
    /// <summary>Exec form (`["a", "b"]`) or whitespace-separated words, with leading `--flag=value` options split off.</summary>
    public (IReadOnlyDictionary<string, string> Flags, IReadOnlyList<string> Words) Parse()
    {
        var flags = new Dictionary<string, string>();
        var rest = Arguments.Trim();
        while (rest.StartsWith("--", StringComparison.Ordinal))
        {
            var end = rest.IndexOfAny([' ', '\t']);
            var flag = end < 0 ? rest : rest[..end];
            var eq = flag.IndexOf('=');
            flags[eq < 0 ? flag[2..] : flag[2..eq]] = eq < 0 ? string.Empty : flag[(eq + 1)..];
            rest = end < 0 ? string.Empty : rest[end..].TrimStart();
        }

        var words = rest.StartsWith('[')
            ? JsonSerializer.Deserialize<string[]>(rest)!
            : rest.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        return (flags, words);
    }
}

public sealed partial class Dockerfile
{
    private Dockerfile(IReadOnlyList<DockerInstruction> instructions) => Instructions = instructions;

    public static string PathInRepo => Path.Combine(TestPaths.RepoRoot, "Dockerfile");

    public IReadOnlyList<DockerInstruction> Instructions { get; }

    public int FinalStage => Instructions.Max(i => i.Stage);

    public IEnumerable<DockerInstruction> Final(string keyword) => Instructions.Where(i => i.Stage == FinalStage && i.Keyword == keyword);

    public static Dockerfile Load() => Parse(File.ReadAllText(PathInRepo));

    public static Dockerfile Parse(string text)
    {
        var instructions = new List<DockerInstruction>();
        var lines = text.Replace("\r\n", "\n").Split('\n');
        var stage = -1;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var start = i + 1;
            var logical = line;
            while (logical.EndsWith('\\') && i + 1 < lines.Length)
            {
                logical = logical[..^1];
                var next = lines[++i].Trim();
                if (!next.StartsWith('#'))
                {
                    logical += " " + next;
                }
            }

            var match = Instruction().Match(logical);
            if (!match.Success)
            {
                // Not an xunit assertion: the benchmark harness uses this reader too (the image's ENV for its targets).
                throw new InvalidDataException($"Dockerfile line {start}: cannot read '{logical}'");
            }

            var keyword = match.Groups[1].Value.ToUpperInvariant();
            if (keyword == "FROM")
            {
                stage++;
            }

            instructions.Add(new DockerInstruction(keyword, match.Groups[2].Value.Trim(), start, stage));
        }

        return new Dockerfile(instructions);
    }

    /// <summary>ENV of the final stage: `KEY=value` pairs (value may be empty) or the legacy `KEY value` form.</summary>
    public IReadOnlyDictionary<string, string> FinalEnvironment()
    {
        var env = new Dictionary<string, string>();
        foreach (var instruction in Final("ENV"))
        {
            if (!instruction.Arguments.Contains('='))
            {
                var parts = instruction.Arguments.Split(' ', 2);
                env[parts[0]] = parts.Length > 1 ? parts[1].Trim() : string.Empty;
                continue;
            }

            foreach (Match pair in EnvPair().Matches(instruction.Arguments))
            {
                env[pair.Groups[1].Value] = pair.Groups[2].Value.Trim('"');
            }
        }

        return env;
    }

    [GeneratedRegex(@"^([A-Za-z]+)\s*(.*)$")]
    private static partial Regex Instruction();

    [GeneratedRegex(@"([A-Za-z_][A-Za-z0-9_]*)=(""[^""]*""|\S*)")]
    private static partial Regex EnvPair();
}
