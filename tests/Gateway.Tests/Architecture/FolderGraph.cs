// Which folder of src/Gateway refers to which, read from the source text: `using Gateway.X;` and qualified names
// `Gateway.X.Y` outside comments and string literals. The layering rules in docs/architecture.md are checked on it.
using System.Text.RegularExpressions;

namespace Gateway.Tests.Architecture;

internal sealed partial class FolderGraph
{
    private readonly Dictionary<string, SortedDictionary<string, SortedSet<string>>> _edges = new(StringComparer.Ordinal);

    public FolderGraph(IEnumerable<string> folders)
    {
        foreach (var folder in folders)
        {
            _edges[folder] = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        }
    }

    public IReadOnlyCollection<string> Folders => _edges.Keys;

    /// <summary>Namespace problems found while reading: a file whose namespace is not its folder's.</summary>
    public List<string> NamespaceErrors { get; } = [];

    /// <summary>Every folder directly under <paramref name="srcGateway"/> that holds C# files (bin, obj, Properties excluded).</summary>
    public static FolderGraph Read(string srcGateway)
    {
        var folders = Directory.GetDirectories(srcGateway)
            .Select(Path.GetFileName)
            .Where(name => name is not ("bin" or "obj" or "Properties"))
            .Select(name => name!)
            .ToList();
        var graph = new FolderGraph(folders);
        foreach (var folder in folders)
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(srcGateway, folder), "*.cs", SearchOption.AllDirectories))
            {
                var code = StripCommentsAndStrings(File.ReadAllText(file));
                var name = Path.GetRelativePath(srcGateway, file);
                var declared = Namespace().Match(code);
                if (!declared.Success || declared.Groups["ns"].Value != $"Gateway.{folder}")
                {
                    graph.NamespaceErrors.Add($"{name}: namespace '{(declared.Success ? declared.Groups["ns"].Value : "none")}' is not 'Gateway.{folder}'");
                }

                foreach (Match reference in Reference().Matches(code))
                {
                    graph.Add(folder, reference.Groups["folder"].Value, name);
                }
            }
        }

        return graph;
    }

    /// <summary>Records that <paramref name="file"/> in <paramref name="from"/> refers to <paramref name="to"/>.</summary>
    public void Add(string from, string to, string file)
    {
        if (from == to || !_edges.ContainsKey(to))
        {
            return;
        }

        if (!_edges[from].TryGetValue(to, out var files))
        {
            _edges[from][to] = files = new SortedSet<string>(StringComparer.Ordinal);
        }

        files.Add(file);
    }

    public IEnumerable<string> Imports(string folder) => _edges[folder].Keys;

    /// <summary>"A -> B (A/x.cs)" for every reference of <paramref name="folder"/>, to name the files in a failure.</summary>
    public string Describe(string from, string to) => $"{from} -> {to} ({string.Join(", ", _edges[from][to])})";

    /// <summary>Each folder that can reach itself, with one path that shows how, e.g. "A -> B -> A".</summary>
    public List<string> Cycles()
    {
        var cycles = new List<string>();
        foreach (var start in _edges.Keys.Order(StringComparer.Ordinal))
        {
            if (PathBack(start) is { } path)
            {
                cycles.Add(string.Join(" -> ", path));
            }
        }

        return cycles;
    }

    // Breadth-first from start's imports back to start: the shortest loop through it.
    private List<string>? PathBack(string start)
    {
        var cameFrom = new Dictionary<string, string>(StringComparer.Ordinal);
        var queue = new Queue<string>();
        foreach (var next in _edges[start].Keys)
        {
            cameFrom.TryAdd(next, start);
            queue.Enqueue(next);
        }

        while (queue.Count > 0)
        {
            var current = queue.Dequeue();
            if (current == start)
            {
                var path = new List<string> { start };
                for (var step = cameFrom[start]; step != start; step = cameFrom[step])
                {
                    path.Insert(0, step);
                }

                path.Insert(0, start);
                return path;
            }

            foreach (var next in _edges[current].Keys)
            {
                if (cameFrom.TryAdd(next, current))
                {
                    queue.Enqueue(next);
                }
            }
        }

        return null;
    }

    private static string StripCommentsAndStrings(string code) => CommentOrString().Replace(code, match =>
        match.Value.StartsWith("//", StringComparison.Ordinal) || match.Value.StartsWith("/*", StringComparison.Ordinal) ? " " : "\"\"");

    // Raw and verbatim strings first, then regular strings and chars, then comments.
    [GeneratedRegex("\"\"\"[\\s\\S]*?\"\"\"|@\"(?:[^\"]|\"\")*\"|\"(?:[^\"\\\\\\n]|\\\\.)*\"|'(?:[^'\\\\\\n]|\\\\.)'|//[^\\n]*|/\\*[\\s\\S]*?\\*/")]
    private static partial Regex CommentOrString();

    [GeneratedRegex(@"^\s*namespace\s+(?<ns>[\w.]+)", RegexOptions.Multiline)]
    private static partial Regex Namespace();

    [GeneratedRegex(@"(?<![\w.])Gateway\.(?<folder>[A-Z]\w*)")]
    private static partial Regex Reference();
}
