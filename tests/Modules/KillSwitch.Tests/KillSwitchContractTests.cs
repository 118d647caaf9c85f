using System.Text.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Ops.Modules.KillSwitch.Contracts;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Modules.KillSwitch.Tests;

/// <summary>IKillSwitch as another module (the Alerts spend breaker) uses it.</summary>
public sealed class KillSwitchContractTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    private IKillSwitch KillSwitch => host.Factory.Services.GetRequiredService<IKillSwitch>();

    [Fact]
    public async Task A_module_sets_an_expiring_kill_with_a_system_actor_and_it_is_audited()
    {
        var tenant = await host.CreateTenantAsync();
        var until = host.Time.GetUtcNow().AddMinutes(30);
        var change = await KillSwitch.SetFlagAsync(new FlagWrite
        {
            TenantId = tenant.Id,
            Key = FlagKeys.User("u_loop"),
            Value = JsonSerializer.SerializeToElement(true),
            Reason = "spent $12.40 in 5 min (limit $10)",
            ExpiresAt = until,
            Actor = "system:spend-breaker",
        }, CancellationToken.None);

        change.Changed.ShouldBeTrue();
        change.Before.ShouldBeNull();
        KillSwitch.Check(tenant.Id, userId: "u_loop").Killed.ShouldBeTrue("read-your-writes on this instance");
        (await tenant.Ingest.CheckAsync("u_loop"))["reason"]!.GetValue<string>().ShouldBe("spent $12.40 in 5 min (limit $10)");
        KillSwitch.Check(tenant.Id, userId: "u_other").Killed.ShouldBeFalse();
        KillSwitch.GetFlags(tenant.Id).Single().SetBy.ShouldBe("system:spend-breaker");

        await using var connection = new NpgsqlConnection(host.ConnectionString);
        var actor = await connection.QuerySingleAsync<string>(
            "SELECT actor FROM audit.events WHERE tenant_id = @tenant AND action = 'flag.set'", new { tenant = tenant.Id });
        actor.ShouldBe("system:spend-breaker");

        (await KillSwitch.ClearFlagAsync(tenant.Id, FlagKeys.User("u_loop"), "false positive", "system:spend-breaker", CancellationToken.None)).ShouldNotBeNull();
        KillSwitch.Check(tenant.Id, userId: "u_loop").Killed.ShouldBeFalse();
        (await KillSwitch.ClearFlagAsync(tenant.Id, FlagKeys.User("u_loop"), "again", "system:spend-breaker", CancellationToken.None)).ShouldBeNull();
    }

    [Fact]
    public async Task EnsureKilled_never_shortens_an_operators_kill_and_extends_a_shorter_one()
    {
        var tenant = await host.CreateTenantAsync();
        await tenant.Admin.SetFlagAsync("kill:agent:bot", true, reason: "operator: until further notice");

        var noop = await KillSwitch.EnsureKilledAsync(tenant.Id, FlagKeys.Agent("bot"), host.Time.GetUtcNow().AddMinutes(10), "breaker", "system:spend-breaker", CancellationToken.None);
        noop.Changed.ShouldBeFalse();
        KillSwitch.Check(tenant.Id, agentId: "bot").Reason.ShouldBe("operator: until further notice");

        var first = await KillSwitch.EnsureKilledAsync(tenant.Id, FlagKeys.User("u_1"), host.Time.GetUtcNow().AddMinutes(10), "breaker 1", "system:spend-breaker", CancellationToken.None);
        first.Changed.ShouldBeTrue();
        (await KillSwitch.EnsureKilledAsync(tenant.Id, FlagKeys.User("u_1"), host.Time.GetUtcNow().AddMinutes(5), "breaker 2", "system:spend-breaker", CancellationToken.None)).Changed.ShouldBeFalse();
        var extended = await KillSwitch.EnsureKilledAsync(tenant.Id, FlagKeys.User("u_1"), host.Time.GetUtcNow().AddMinutes(20), "breaker 3", "system:spend-breaker", CancellationToken.None);
        extended.Changed.ShouldBeTrue();
        extended.Before!.Reason.ShouldBe("breaker 1");
        KillSwitch.Check(tenant.Id, userId: "u_1").ExpiresAt.ShouldBe(host.Time.GetUtcNow().AddMinutes(20));
    }

    [Fact]
    public async Task A_kill_set_inside_a_callers_transaction_applies_only_if_it_commits()
    {
        var tenant = await host.CreateTenantAsync();
        var write = new FlagWrite
        {
            TenantId = tenant.Id,
            Key = FlagKeys.Agent("a1"),
            Value = JsonSerializer.SerializeToElement(true),
            Reason = "breaker",
            Actor = "system:spend-breaker",
        };
        var dataSource = host.Factory.Services.GetRequiredService<NpgsqlDataSource>();
        await using (var connection = await dataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await KillSwitch.SetFlagAsync(write, connection, transaction, CancellationToken.None);
            await transaction.RollbackAsync();
        }

        await Task.Delay(200);
        KillSwitch.Check(tenant.Id, agentId: "a1").Killed.ShouldBeFalse();

        await using (var connection = await dataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await KillSwitch.SetFlagAsync(write, connection, transaction, CancellationToken.None);
            KillSwitch.Check(tenant.Id, agentId: "a1").Killed.ShouldBeFalse("not committed yet");
            await transaction.CommitAsync();
        }

        await FlagApi.EventuallyAsync(() => Task.FromResult(KillSwitch.Check(tenant.Id, agentId: "a1").Killed), TimeSpan.FromSeconds(1), "the commit's notification reaches this instance");
    }

    [Fact]
    public async Task Invalid_writes_throw_naming_the_field()
    {
        var tenant = await host.CreateTenantAsync();
        var bad = new FlagWrite { TenantId = tenant.Id, Key = "kill:team:x", Value = JsonSerializer.SerializeToElement(true), Reason = "r", Actor = "system:test" };
        (await Should.ThrowAsync<FlagValidationException>(() => KillSwitch.SetFlagAsync(bad, CancellationToken.None))).Field.ShouldBe("key");
        (await Should.ThrowAsync<FlagValidationException>(() => KillSwitch.SetFlagAsync(bad with { Key = "killall", Reason = "" }, CancellationToken.None))).Field.ShouldBe("reason");
        (await Should.ThrowAsync<FlagValidationException>(() => KillSwitch.EnsureKilledAsync(tenant.Id, "read_only", null, "r", "system:test", CancellationToken.None))).Field.ShouldBe("key");
        Should.Throw<ArgumentException>(() => FlagKeys.User("has space"));
    }
}
