using System.Text;
using System.Text.RegularExpressions;

namespace Gateway.Tests.Docs;

/// <summary>
/// The README is a front door and every topic has its page under docs/; these tests keep the links between them
/// (files and #anchors) from rotting, and docs/architecture.md in step with the folders under src/Gateway.
/// </summary>
public sealed partial class DocsTests
{
    /// <summary>The topic pages README.md must link to (repository-relative).</summary>
    private static readonly string[] TopicPages =
    [
        "docs/configuration.md",
        "docs/connection-pools.md",
        "docs/discovery.md",
        "docs/shutdown-and-drain.md",
        "docs/affinity.md",
        "docs/rate-limiting.md",
        "docs/authentication.md",
        "docs/cors.md",
        "docs/resilience.md",
        "docs/observability.md",
        "docs/access-log.md",
        "docs/security.md",
        "docs/protocols.md",
        "docs/deploy.md",
        "docs/benchmarks.md",
        "docs/benchmark-results.md",
    ];

    private static readonly string[] NotSourceFolders = ["bin", "obj", "Properties"];

    private static readonly Lazy<string> Root = new(FindRepositoryRoot);

    [Fact]
    public void EveryRelativeLink_InReadmeAndDocs_ResolvesToAFileAndAnchor()
    {
        var root = Root.Value;
        var broken = new List<string>();
        var files = MarkdownFiles(root).ToList();
        Assert.NotEmpty(files);

        foreach (var file in files)
        {
            foreach (var link in Markdown.Links(File.ReadAllLines(file)))
            {
                if (Describe(root, file, link) is { } problem)
                {
                    broken.Add($"{Relative(root, file)}:{link.Line}: [{link.Text}]({link.Target}): {problem}");
                }
            }
        }

        Assert.True(broken.Count == 0, $"{broken.Count} broken link(s):{Environment.NewLine}{string.Join(Environment.NewLine, broken)}");
    }

    [Fact]
    public void Readme_IsAFrontDoor_OfAtMost200Lines_AndEveryTopicItLinksHasItsPage()
    {
        var root = Root.Value;
        var readme = Path.Combine(root, "README.md");
        var lines = File.ReadAllLines(readme);
        Assert.True(lines.Length <= 200, $"README.md has {lines.Length} lines; the front door keeps to 200 at most (move the detail to a page under docs/)");

        var linked = Markdown.Links(lines)
            .Select(link => Resolve(root, readme, link.Target).Path)
            .Where(path => path is not null)
            .Select(path => Relative(root, path!))
            .ToHashSet(StringComparer.Ordinal);

        var problems = new List<string>();
        foreach (var page in TopicPages)
        {
            if (!File.Exists(Path.Combine(root, page)))
            {
                problems.Add($"{page} does not exist");
            }

            if (!linked.Contains(page))
            {
                problems.Add($"{page} is not linked from README.md");
            }
        }

        foreach (var page in linked.Where(p => p.StartsWith("docs/", StringComparison.Ordinal) && p.EndsWith(".md", StringComparison.Ordinal)))
        {
            if (!File.Exists(Path.Combine(root, page)))
            {
                problems.Add($"README.md links {page}, which does not exist");
            }
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void ArchitectureDoc_NamesEveryFolderUnderSrcGateway()
    {
        var root = Root.Value;
        var folders = Directory.GetDirectories(Path.Combine(root, "src", "Gateway"))
            .Select(Path.GetFileName)
            .Where(name => name is not null && !NotSourceFolders.Contains(name, StringComparer.Ordinal))
            .Select(name => name!)
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.NotEmpty(folders);

        var expected = string.Join(", ", folders.Select(f => $"`{f}/`"));
        var architecture = Path.Combine(root, "docs", "architecture.md");
        Assert.True(File.Exists(architecture), $"docs/architecture.md does not exist; it must name every folder under src/Gateway: {expected}");

        var text = File.ReadAllText(architecture);
        var missing = folders.Where(f => !text.Contains($"`{f}/`", StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0,
            $"docs/architecture.md does not name {missing.Count} folder(s) under src/Gateway (as `Name/`, backticked, trailing slash): " +
            string.Join(", ", missing.Select(f => $"`{f}/`")));
    }

    /// <summary>Null when the link is fine (or leaves the repository through a URL); otherwise what is wrong.</summary>
    private static string? Describe(string root, string file, MarkdownLink link)
    {
        var target = link.Target;
        if (IsExternal(target))
        {
            return null;
        }

        var (path, anchor) = Resolve(root, file, target);
        if (path is null)
        {
            return "points outside the repository";
        }

        if (!File.Exists(path))
        {
            return $"{Relative(root, path)} does not exist";
        }

        if (string.IsNullOrEmpty(anchor))
        {
            return null;
        }

        if (!path.EndsWith(".md", StringComparison.OrdinalIgnoreCase))
        {
            return $"#{anchor} on a file that is not markdown";
        }

        var slugs = Markdown.HeadingSlugs(File.ReadAllLines(path));
        return slugs.Contains(anchor)
            ? null
            : $"no heading in {Relative(root, path)} has the slug '{anchor}' (headings: {string.Join(", ", slugs.Select(s => "#" + s))})";
    }

    private static bool IsExternal(string target) =>
        target.StartsWith("http:", StringComparison.OrdinalIgnoreCase)
        || target.StartsWith("https:", StringComparison.OrdinalIgnoreCase)
        || target.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase);

    /// <summary>The absolute file a relative link names (null when it leaves the repository), and its anchor.</summary>
    private static (string? Path, string? Anchor) Resolve(string root, string file, string target)
    {
        if (IsExternal(target))
        {
            return (null, null);
        }

        var hash = target.IndexOf('#', StringComparison.Ordinal);
        var pathPart = hash < 0 ? target : target[..hash];
        var anchor = hash < 0 ? null : Uri.UnescapeDataString(target[(hash + 1)..]);
        var query = pathPart.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0)
        {
            pathPart = pathPart[..query];
        }

        var resolved = pathPart.Length == 0
            ? file
            : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, Uri.UnescapeDataString(pathPart)));
        var inside = resolved.StartsWith(root.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal);
        return (inside ? resolved : null, anchor);
    }

    private static IEnumerable<string> MarkdownFiles(string root)
    {
        yield return Path.Combine(root, "README.md");
        var docs = Path.Combine(root, "docs");
        if (Directory.Exists(docs))
        {
            foreach (var file in Directory.EnumerateFiles(docs, "*.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                yield return file;
            }
        }
    }

    private static string Relative(string root, string path) => Path.GetRelativePath(root, path).Replace('\\', '/');

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Gateway.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No directory above {AppContext.BaseDirectory} contains Gateway.sln");
    }

    internal sealed record MarkdownLink(int Line, string Text, string Target);

    /// <summary>The little of CommonMark these checks need: fenced code blocks, code spans, inline links, ATX headings.</summary>
    internal static partial class Markdown
    {
        /// <summary>
        /// Every inline link and image <c>[text](target)</c> outside fenced code blocks and code spans, with the line
        /// its <c>[</c> is on. Link text may wrap onto the next line of its paragraph.
        /// </summary>
        public static IEnumerable<MarkdownLink> Links(IReadOnlyList<string> lines)
        {
            foreach (var (firstLine, block) in Paragraphs(lines))
            {
                var text = string.Join('\n', block.Select(BlankCodeSpans));
                foreach (Match match in InlineLink().Matches(text))
                {
                    var line = firstLine + text.AsSpan(0, match.Index).Count('\n');
                    yield return new MarkdownLink(line, match.Groups["text"].Value.Replace('\n', ' '), match.Groups["target"].Value);
                }
            }
        }

        /// <summary>Runs of consecutive non-blank lines outside fenced code blocks, with the first one's number.</summary>
        private static IEnumerable<(int FirstLine, List<string> Lines)> Paragraphs(IReadOnlyList<string> lines)
        {
            var block = new List<string>();
            var first = 0;
            var previous = -1;
            foreach (var (number, line) in OutsideFences(lines))
            {
                if (line.Trim().Length == 0 || number != previous + 1)
                {
                    if (block.Count > 0)
                    {
                        yield return (first, block);
                        block = [];
                    }
                }

                previous = number;
                if (line.Trim().Length > 0)
                {
                    if (block.Count == 0)
                    {
                        first = number;
                    }

                    block.Add(line);
                }
            }

            if (block.Count > 0)
            {
                yield return (first, block);
            }
        }

        /// <summary>
        /// GitHub's anchors for the ATX headings outside fenced code blocks: the heading's text (link syntax reduced
        /// to its text), lower-cased, every character but letters, digits, spaces, '-' and '_' dropped, each space a
        /// '-'; a repeated slug gets -1, -2, ...
        /// </summary>
        public static HashSet<string> HeadingSlugs(IReadOnlyList<string> lines)
        {
            var slugs = new HashSet<string>(StringComparer.Ordinal);
            var seen = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var (_, line) in OutsideFences(lines))
            {
                var heading = AtxHeading().Match(line);
                if (!heading.Success)
                {
                    continue;
                }

                var slug = Slug(heading.Groups["text"].Value);
                if (seen.TryGetValue(slug, out var count))
                {
                    seen[slug] = count + 1;
                    slug = $"{slug}-{count}";
                }
                else
                {
                    seen[slug] = 1;
                }

                slugs.Add(slug);
            }

            return slugs;
        }

        public static string Slug(string headingText)
        {
            var text = InlineLink().Replace(headingText, static m => m.Groups["text"].Value);
            var slug = new StringBuilder(text.Length);
            foreach (var c in text.Trim().ToLowerInvariant())
            {
                if (char.IsLetterOrDigit(c) || c is '-' or '_')
                {
                    slug.Append(c);
                }
                else if (c == ' ')
                {
                    slug.Append('-');
                }
            }

            return slug.ToString();
        }

        /// <summary>Lines (1-based numbers) that are not inside a fenced code block, fences excluded.</summary>
        private static IEnumerable<(int Number, string Line)> OutsideFences(IReadOnlyList<string> lines)
        {
            string? fence = null;
            for (var i = 0; i < lines.Count; i++)
            {
                var open = Fence().Match(lines[i]);
                if (fence is null)
                {
                    if (open.Success)
                    {
                        fence = open.Groups["fence"].Value;
                        continue;
                    }

                    yield return (i + 1, lines[i]);
                }
                else if (open.Success && open.Groups["fence"].Value[0] == fence[0] && open.Groups["fence"].Value.Length >= fence.Length
                         && open.Groups["info"].Value.Trim().Length == 0)
                {
                    fence = null;
                }
            }
        }

        /// <summary>Replaces the inside of every code span with spaces, so a `[x](y)` in code is not a link.</summary>
        private static string BlankCodeSpans(string line) =>
            CodeSpan().Replace(line, static m => m.Groups["ticks"].Value + new string(' ', m.Length - (2 * m.Groups["ticks"].Length)) + m.Groups["ticks"].Value);

        [GeneratedRegex(@"!?\[(?<text>(?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?(?<target>[^()\s<>]*)>?(?:\s+""[^""]*"")?\s*\)")]
        private static partial Regex InlineLink();

        [GeneratedRegex(@"^ {0,3}(?<fence>`{3,}|~{3,})(?<info>.*)$")]
        private static partial Regex Fence();

        [GeneratedRegex(@"(?<ticks>`+)(?!`).*?(?<!`)\k<ticks>(?!`)")]
        private static partial Regex CodeSpan();

        [GeneratedRegex(@"^ {0,3}#{1,6}[ \t]+(?<text>.*?)(?:[ \t]+#+)?[ \t]*$")]
        private static partial Regex AtxHeading();
    }
}
