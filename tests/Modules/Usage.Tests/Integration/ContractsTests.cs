using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Ops.Modules.Usage.Contracts;
using Ops.Testing;
using Shouldly;
using Xunit;
using static Ops.Modules.Usage.Tests.Integration.EventRequests;
using static Ops.Testing.UsageEvents;

namespace Ops.Modules.Usage.Tests.Integration;

/// <summary>What the Alerts and KillSwitch modules get: a hook after each committed batch, and recent spend.</summary>
public sealed class ContractsTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    [Fact]
    public async Task Observers_hear_each_committed_batch_with_its_cost_per_user_and_agent_and_never_duplicates()
    {
        var observer = new RecordingObserver();
        await using var instance = host.Factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<IUsageBatchObserver>(observer)));
        var tenant = await host.CreateTenantAsync();
        var client = instance.CreateClient();
        client.DefaultRequestHeaders.Authorization = tenant.Ingest.DefaultRequestHeaders.Authorization;

        var at = OpsTestHost.Epoch.AddMinutes(-3);
        var batch = new[]
        {
            Event("o-1", at, new { user_id = "loop", agent_id = "bot", model = "claude-opus-4-7", tokens_in = 1_000_000, tokens_out = 0 }),
            Event("o-2", at.AddSeconds(10), new { user_id = "loop", agent_id = "bot", model = "claude-opus-4-7", tokens_in = 1_000_000, tokens_out = 0 }),
            Event("o-3", at, new { user_id = "calm", model = "gpt-9" }),
        };
        (await client.PostEventsAsync(batch)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await client.PostEventsAsync(batch)).StatusCode.ShouldBe(HttpStatusCode.OK);

        var committed = observer.Batches.ShouldHaveSingleItem("the retry stored nothing, so nothing is told");
        committed.TenantId.ShouldBe(tenant.Id);
        committed.Events.ShouldBe(3);
        var loop = committed.Spend.Single(s => s.UserId == "loop");
        (loop.AgentId, loop.CostUsd, loop.Events, loop.FirstEventAt, loop.LastEventAt).ShouldBe(("bot", 30m, 2, at, at.AddSeconds(10)));
        committed.Spend.Single(s => s.UserId == "calm").ShouldSatisfyAllConditions(s => s.CostUsd.ShouldBe(0m), s => s.UnpricedEvents.ShouldBe(1));

        var reader = host.Factory.Services.GetRequiredService<IUsageSpendReader>();
        (await reader.GetSpendAsync(tenant.Id, SpendSubject.User, "loop", OpsTestHost.Epoch.AddMinutes(-5), CancellationToken.None)).ShouldBe(new SubjectSpend("loop", 30m, 2));
        (await reader.GetSpendAsync(tenant.Id, SpendSubject.Agent, "bot", OpsTestHost.Epoch.AddMinutes(-1), CancellationToken.None)).ShouldBe(new SubjectSpend("bot", 0m, 0));
        (await reader.GetTopSpendAsync(tenant.Id, SpendSubject.User, OpsTestHost.Epoch.AddMinutes(-5), 10, CancellationToken.None))
            .ShouldBe([new SubjectSpend("loop", 30m, 2), new SubjectSpend("calm", 0m, 1)]);
        (await reader.GetTopSpendAsync("someone-else", SpendSubject.User, OpsTestHost.Epoch.AddMinutes(-5), 10, CancellationToken.None)).ShouldBeEmpty();
        await host.FoldAsync();
        (await reader.GetUnpricedModelsAsync(tenant.Id, OpsTestHost.Epoch.AddHours(-1), CancellationToken.None)).ShouldBe([new UnpricedModel("gpt-9", "unknown", 1)]);
    }

    private sealed class RecordingObserver : IUsageBatchObserver
    {
        public ConcurrentQueue<UsageBatchCommitted> Batches { get; } = new();

        public void OnBatchCommitted(UsageBatchCommitted batch) => Batches.Enqueue(batch);
    }
}
