// The seam for facts about one request that a capability inside the pipeline knows and a reader outside it wants
// (the access log). The reader sets its implementation on HttpContext.Features only while it is on; a capability fills
// what it knows when one is present, so with no reader the cost is one feature lookup.
namespace Gateway.Foundation;

/// <summary>
/// Per-request facts, found with <c>context.Features.Get&lt;IRequestFacts&gt;()</c>; null when nobody reads them.
/// Values are fixed strings (never request data), so a reader can use them as they are.
/// </summary>
internal interface IRequestFacts
{
    /// <summary>
    /// Session affinity's outcome for a cluster with affinity on: <c>pinned</c> (cookie honoured), <c>new</c> (no
    /// cookie), <c>redistributed</c> (cookie not honoured, re-pinned) or <c>failed</c> (answered by the failure policy).
    /// </summary>
    string? AffinityOutcome { get; set; }
}
