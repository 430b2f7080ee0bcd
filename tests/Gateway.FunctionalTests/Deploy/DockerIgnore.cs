// .dockerignore semantics (Go filepath.Match plus `**`, `!` exceptions, last match wins; an excluded directory
// excludes everything below it), so a test can tell whether a path the Dockerfile COPYs reaches the build.
using System.Text.RegularExpressions;

namespace Gateway.FunctionalTests.Deploy;

public sealed class DockerIgnore(IReadOnlyList<(bool Exclude, Regex Pattern)> rules)
{
    public static DockerIgnore Load(string path)
    {
        var rules = new List<(bool, Regex)>();
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var exclude = !line.StartsWith('!');
            var pattern = (exclude ? line : line[1..]).Trim().Trim('/');
            var regex = "^" + Regex.Escape(pattern).Replace(@"\*\*/", "(.*/)?").Replace(@"\*\*", ".*").Replace(@"\*", "[^/]*").Replace(@"\?", "[^/]") + "$";
            rules.Add((exclude, new Regex(regex)));
        }

        return new DockerIgnore(rules);
    }

    /// <summary>True when <paramref name="relativePath"/> (forward slashes) or one of its parent directories is excluded.</summary>
    public bool IsExcluded(string relativePath)
    {
        var segments = relativePath.Trim('/').Split('/');
        for (var n = 1; n <= segments.Length; n++)
        {
            var prefix = string.Join('/', segments.Take(n));
            var excluded = false;
            foreach (var (exclude, pattern) in rules)
            {
                if (pattern.IsMatch(prefix))
                {
                    excluded = exclude;
                }
            }

            if (excluded)
            {
                return true;
            }
        }

        return false;
    }
}
