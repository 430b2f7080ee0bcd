// Options types read themselves from config, so every bind is a call the config binding source generator can see.
// Gap: the generator skips generic calls (Get<TOptions>() inside ExtensionBlock<TOptions> and friends) and leaves them to
// the reflection binder, which Native AOT cannot run safely; a concrete call per type gets generated code instead.
// The generated binder never sets init-only properties (only constructor parameters), so options properties are `set`.
namespace Gateway.Foundation;

internal interface IConfigBindable<TSelf>
    where TSelf : class, IConfigBindable<TSelf>, new()
{
    /// <summary>A new instance from <paramref name="section"/> (defaults where it is empty or missing); throws InvalidOperationException for a bad value, as the binder does.</summary>
    static abstract TSelf Read(IConfiguration section);
}
