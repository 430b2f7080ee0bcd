// Unknown keys under `Gateway`: the binder ignores them, so a misspelled setting (ReadinesDelay) silently keeps its
// default. Every options registration and block defaults section says which keys exist.
using Gateway.Foundation;

namespace Gateway.Configuration;

internal static class GatewaySectionKeys
{
    private const string Root = "Gateway";

    public static void Collect(IConfiguration candidate, IReadOnlyList<OptionsSection> sections, IReadOnlyList<ExtensionBlock> blocks, ICollection<UnknownKey> unknown)
    {
        var topLevel = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var byPath = new Dictionary<string, List<OptionsSection>>(StringComparer.OrdinalIgnoreCase);
        foreach (var section in sections)
        {
            Add(section);
        }

        foreach (var block in blocks)
        {
            if (block.DefaultsSectionPath is { } path)
            {
                Add(new OptionsSection(path, block.OptionsType));
            }
        }

        UnknownKeys.Collect(candidate.GetSection(Root), topLevel, unknown);

        foreach (var (path, types) in byPath)
        {
            // A key is unknown only when no type bound from this section knows it (Gateway:Affinity has two).
            List<UnknownKey>? common = null;
            foreach (var type in types)
            {
                var found = new List<UnknownKey>();
                UnknownKeys.CollectForType(candidate.GetSection(path), type.OptionsType, found);
                common = common is null ? found : common.FindAll(k => found.Exists(f => f.Path == k.Path));
            }

            foreach (var key in common ?? [])
            {
                unknown.Add(key);
            }
        }

        void Add(OptionsSection section)
        {
            var segments = section.Path.Split(':');
            if (segments.Length < 2 || !string.Equals(segments[0], Root, StringComparison.OrdinalIgnoreCase))
            {
                return;
            }

            topLevel.Add(segments[1]);
            if (!byPath.TryGetValue(section.Path, out var types))
            {
                byPath[section.Path] = types = [];
            }

            if (!types.Exists(t => t.OptionsType == section.OptionsType))
            {
                types.Add(section);
            }
        }
    }
}
