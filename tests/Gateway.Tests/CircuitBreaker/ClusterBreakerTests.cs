using Gateway.CircuitBreaker;

namespace Gateway.Tests.CircuitBreaker;

public sealed class ClusterBreakerTests
{
    [Fact]
    public void UpToTheLimit_RequestsAreAdmitted_ThenUpToPendingWait_ThenTheRestAreRejected()
    {
        var breaker = new ClusterBreaker("c");
        breaker.SetLimits(maxConcurrent: 2, maxPending: 1);

        Assert.Equal(Admission.Admitted, breaker.TryEnter(out _));
        Assert.Equal(Admission.Admitted, breaker.TryEnter(out _));
        Assert.Equal(Admission.Queued, breaker.TryEnter(out var waiter));
        Assert.Equal(Admission.Rejected, breaker.TryEnter(out var none));

        Assert.Null(none);
        Assert.False(waiter!.Task.IsCompleted);
        Assert.Equal((2, 1), (breaker.Active, breaker.Pending));
    }

    [Fact]
    public void AFinishedRequest_HandsItsPlaceToTheOldestWaiter()
    {
        var breaker = new ClusterBreaker("c");
        breaker.SetLimits(maxConcurrent: 1, maxPending: 2);
        breaker.TryEnter(out _);
        breaker.TryEnter(out var first);
        breaker.TryEnter(out var second);

        breaker.Exit();

        Assert.True(first!.Task.IsCompletedSuccessfully && first.Task.Result);
        Assert.False(second!.Task.IsCompleted);
        Assert.Equal((1, 1), (breaker.Active, breaker.Pending));

        breaker.Exit();
        breaker.Exit();
        Assert.True(second.Task.Result);
        Assert.Equal((0, 0), (breaker.Active, breaker.Pending));
        Assert.Equal(Admission.Admitted, breaker.TryEnter(out _));
    }

    [Fact]
    public void ACancelledWaiter_FreesItsPendingPlace_AndIsSkipped()
    {
        var breaker = new ClusterBreaker("c");
        breaker.SetLimits(maxConcurrent: 1, maxPending: 1);
        breaker.TryEnter(out _);
        breaker.TryEnter(out var gone);

        Assert.True(breaker.Cancel(gone!));
        Assert.False(gone!.Task.Result);
        Assert.Equal(0, breaker.Pending);

        Assert.Equal(Admission.Queued, breaker.TryEnter(out var next));
        breaker.Exit();
        Assert.True(next!.Task.Result);
        Assert.False(breaker.Cancel(next), "a waiter that holds a place cannot be cancelled");
        Assert.Equal(1, breaker.Active);
    }

    [Fact]
    public void RaisedLimits_AdmitWaitersAtOnce_LoweredLimits_AreReachedAsRequestsFinish()
    {
        var breaker = new ClusterBreaker("c");
        breaker.SetLimits(maxConcurrent: 1, maxPending: 5);
        breaker.TryEnter(out _);
        breaker.TryEnter(out var a);
        breaker.TryEnter(out var b);

        breaker.SetLimits(maxConcurrent: 3, maxPending: 5);
        Assert.True(a!.Task.Result && b!.Task.Result);
        Assert.Equal(3, breaker.Active);

        breaker.SetLimits(maxConcurrent: 1, maxPending: 0);
        Assert.Equal(Admission.Rejected, breaker.TryEnter(out _));
        breaker.Exit();
        breaker.Exit();
        Assert.Equal(Admission.Rejected, breaker.TryEnter(out _));
        breaker.Exit();
        Assert.Equal(Admission.Admitted, breaker.TryEnter(out _));
    }

    [Fact]
    public void ConcurrentRequests_NeverHoldMoreThanTheLimit()
    {
        var breaker = new ClusterBreaker("c");
        breaker.SetLimits(maxConcurrent: 4, maxPending: 0);
        var holding = 0;
        var most = 0;
        Parallel.For(0, 50_000, i =>
        {
            if (breaker.TryEnter(out _) != Admission.Admitted)
            {
                return;
            }

            var now = Interlocked.Increment(ref holding);
            int seen;
            while ((seen = Volatile.Read(ref most)) < now && Interlocked.CompareExchange(ref most, now, seen) != seen)
            {
            }

            Interlocked.Decrement(ref holding);
            breaker.Exit();
        });

        Assert.InRange(most, 1, 4);
        Assert.Equal(0, breaker.Active);
    }

    [Fact]
    public void Rejections_AreReportedAtMostOncePerInterval_WithTheirCount()
    {
        var breaker = new ClusterBreaker("c");
        breaker.SetLimits(maxConcurrent: 1, maxPending: 0);
        breaker.TryEnter(out _);

        breaker.TryEnter(out _);
        Assert.Equal(1, breaker.TakeRejectionsToReport(now: 100, interval: 10));
        breaker.TryEnter(out _);
        breaker.TryEnter(out _);
        Assert.Equal(0, breaker.TakeRejectionsToReport(now: 105, interval: 10));
        Assert.Equal(2, breaker.TakeRejectionsToReport(now: 110, interval: 10));
    }
}
