// Misspelled keys are the commonest config mistake, and the binder ignores them silently. These helpers find the keys
// a section holds that its schema does not know, and name the closest known one.
using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace Gateway.Foundation;

/// <summary>A config key the schema does not know, with the closest known sibling when one is near.</summary>
internal sealed record UnknownKey(string Path, string? Suggestion)
{
    public override string ToString() => Suggestion is null
        ? $"{Path}: unknown key (ignored)"
        : $"{Path}: unknown key (ignored); did you mean {Suggestion}?";
}

/// <summary>An options type bound from a config section; the unknown-key check walks every registration.</summary>
internal sealed record OptionsSection(
    string Path,
    [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)]
    [property: DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)]
    Type OptionsType);

internal static class UnknownKeys
{
    /// <summary>Reports every child of <paramref name="section"/> whose key is not in <paramref name="known"/>.</summary>
    public static void Collect(IConfigurationSection section, IReadOnlyCollection<string> known, ICollection<UnknownKey> unknown)
    {
        foreach (var child in section.GetChildren())
        {
            if (!Contains(known, child.Key))
            {
                unknown.Add(new UnknownKey(child.Path, Closest(child.Key, known)));
            }
        }
    }

    /// <summary>
    /// Walks <paramref name="section"/> against the public properties of <paramref name="type"/> (what the binder
    /// would set), into nested objects, dictionaries and lists; reports every key the binder would ignore.
    /// </summary>
    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "Property types of options records are kept by their own registration.")]
    public static void CollectForType(
        IConfigurationSection section,
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] Type type,
        ICollection<UnknownKey> unknown)
    {
        if (IsLeaf(type))
        {
            return;
        }

        if (ElementType(type) is { } element)
        {
            // Dictionary keys and list indexes are the user's; their values follow the element type.
            foreach (var child in section.GetChildren())
            {
                CollectForType(child, element, unknown);
            }

            return;
        }

        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance);
        var names = new List<string>(properties.Length);
        foreach (var property in properties)
        {
            if (property.GetIndexParameters().Length == 0)
            {
                names.Add(property.Name);
            }
        }

        foreach (var child in section.GetChildren())
        {
            var property = Find(properties, child.Key);
            if (property is null)
            {
                unknown.Add(new UnknownKey(child.Path, Closest(child.Key, names)));
            }
            else
            {
                CollectForType(child, property.PropertyType, unknown);
            }
        }
    }

    /// <summary>The known name nearest to <paramref name="key"/> (case-insensitive edit distance), if near enough to be a typo.</summary>
    public static string? Closest(string key, IEnumerable<string> known)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            var distance = Distance(key, candidate);
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }

        // One edit in three characters is a typo; more is a different word.
        var allowed = Math.Max(1, Math.Min(key.Length, best?.Length ?? 0) / 3);
        if (best is not null && bestDistance <= allowed)
        {
            return best;
        }

        // A longer or shorter form of a known key ("Matches" for "Match", "Destination" for "Destinations").
        foreach (var candidate in known)
        {
            if (Math.Min(key.Length, candidate.Length) >= 4
                && (key.StartsWith(candidate, StringComparison.OrdinalIgnoreCase) || candidate.StartsWith(key, StringComparison.OrdinalIgnoreCase)))
            {
                return candidate;
            }
        }

        return null;
    }

    private static bool Contains(IReadOnlyCollection<string> known, string key)
    {
        foreach (var name in known)
        {
            if (string.Equals(name, key, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static PropertyInfo? Find(PropertyInfo[] properties, string key)
    {
        foreach (var property in properties)
        {
            if (string.Equals(property.Name, key, StringComparison.OrdinalIgnoreCase) && property.GetIndexParameters().Length == 0)
            {
                return property;
            }
        }

        return null;
    }

    private static bool IsLeaf(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
            || type == typeof(Uri) || type == typeof(Version) || type == typeof(DateTime) || type == typeof(DateTimeOffset)
            || type == typeof(Guid) || type == typeof(object);
    }

    [UnconditionalSuppressMessage("Trimming", "IL2073", Justification = "Element types of options collections are options types themselves.")]
    [UnconditionalSuppressMessage("Trimming", "IL2063", Justification = "Element types of options collections are options types themselves.")]
    [return: DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)]
    private static Type? ElementType(Type type)
    {
        if (type.IsArray)
        {
            return type.GetElementType();
        }

        if (!type.IsGenericType)
        {
            return null;
        }

        var arguments = type.GetGenericArguments();
        var definition = type.GetGenericTypeDefinition();
        if (arguments.Length == 2 && (definition == typeof(Dictionary<,>) || definition == typeof(IDictionary<,>) || definition == typeof(IReadOnlyDictionary<,>)))
        {
            return arguments[1];
        }

        if (arguments.Length == 1 && (definition == typeof(List<>) || definition == typeof(IList<>) || definition == typeof(IReadOnlyList<>)
            || definition == typeof(ICollection<>) || definition == typeof(IEnumerable<>) || definition == typeof(IReadOnlyCollection<>)
            || definition == typeof(HashSet<>) || definition == typeof(ISet<>)))
        {
            return arguments[0];
        }

        return null;
    }

    private static int Distance(string a, string b)
    {
        // Levenshtein, case-insensitive; keys are short, so two rows suffice.
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = char.ToUpperInvariant(a[i - 1]) == char.ToUpperInvariant(b[j - 1]) ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
