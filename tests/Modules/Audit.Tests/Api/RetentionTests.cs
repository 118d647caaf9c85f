using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Ops.Modules.Audit.Contracts;
using Ops.Modules.Audit.Jobs;
using Ops.Testing;
using Shouldly;
using Xunit;

namespace Ops.Modules.Audit.Tests.Api;

/// <summary>
/// Retention with a fake clock. Tenants keep 90 (the default), 30 and 365 days; partitions hold all of them,
/// so the run must drop exactly the days expired for everyone, delete exactly the other expired rows, and
/// touch nothing else.
/// </summary>
public sealed class RetentionHost : OpsTestHost
{
    /// <summary>The run gives up on a locked partition after 1 s instead of 5, so the lock test is quick.</summary>
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Modules:Audit:Retention:LockTimeoutSeconds"] = "1",
    };
}

public sealed class RetentionTests(RetentionHost host) : IClassFixture<RetentionHost>
{
    private static readonly int[] DayOffsets = [0, 1, 29, 30, 31, 60, 89, 90, 91, 200, 364, 365];

    [Fact]
    public async Task The_daily_run_drops_exactly_the_expired_days_and_deletes_exactly_the_expired_rows()
    {
        var start = host.Time.GetUtcNow();
        var today = DateOnly.FromDateTime(start.UtcDateTime);
        var standard = await host.CreateTenantAsync();
        var brief = await host.CreateTenantAsync();
        var archive = await host.CreateTenantAsync();
        await SetRetentionAsync(brief, 30);
        await SetRetentionAsync(archive, 365);

        var change = (await brief.Read.ListAllAsync("action=retention.changed")).Single();
        change["before"]!["retention_days"]!.GetValue<int>().ShouldBe(90);
        change["after"]!["retention_days"]!.GetValue<int>().ShouldBe(30);

        // One event per listed day, written while still within each tenant's retention (older ones are not stored at all).
        var tenants = new[] { (standard, 90), (brief, 30), (archive, 365) };
        foreach (var (tenant, days) in tenants)
        {
            await WriteDaysAsync(tenant.Id, today, DayOffsets);
            (await StoredOffsetsAsync(tenant.Id, today)).ShouldBe(DayOffsets.Where(d => d <= days));
        }

        // Ten days later: expired events are hidden at once, before any purge runs.
        host.Time.Advance(TimeSpan.FromDays(10));
        var later = DateOnly.FromDateTime(host.Time.GetUtcNow().UtcDateTime);
        var listed = await brief.Read.ListAllAsync("action=day.event");
        listed.Select(e => e["request_id"]!.GetValue<string>()).Order().ShouldBe(["d0", "d1"]);

        var report = await RunRetentionAsync();

        // Only the days older than the longest retention in force (365) lose their partition...
        report.PartitionsDropped.ShouldBe([Partition(today, 365), Partition(today, 364)], ignoreOrder: true);
        report.PartitionsDeferred.ShouldBeEmpty();
        // ...the other expired rows go one by one, and nothing else is touched.
        foreach (var (tenant, days) in tenants)
        {
            var expected = DayOffsets.Where(d => d <= days && d + 10 <= days).ToArray();
            (await StoredOffsetsAsync(tenant.Id, today)).ShouldBe(expected, tenant.Id);
            (await KeyCountAsync(tenant.Id)).ShouldBe(expected.Length, tenant.Id);
            report.DeletedByTenant[tenant.Id].ShouldBe((DayOffsets.Count(d => d <= days) - expected.Length, DayOffsets.Count(d => d <= days) - expected.Length));
        }

        var partitions = await PartitionsAsync();
        partitions.ShouldNotContain(Partition(today, 364));
        DayOffsets.Where(d => d <= 355).ShouldAllBe(d => partitions.Contains(Partition(today, d)));
        Enumerable.Range(0, 8).ShouldAllBe(ahead => partitions.Contains(PartitionName(later.AddDays(ahead))), "the coming days exist ahead of time");

        var retention = (await (await brief.Read.GetAsync("/v1/audit/retention")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        retention["retention_days"]!.GetValue<int>().ShouldBe(30);
        retention["retention_is_default"]!.GetValue<bool>().ShouldBeFalse();
        retention["expires_before"]!.GetValue<DateTimeOffset>().ShouldBe(new DateTimeOffset(later.AddDays(-30).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero));
        retention["oldest_event_at"]!.GetValue<DateTimeOffset>().ShouldBe(EventTime(today, 1));
        retention["last_purge"]!["events_deleted"]!.GetValue<long>().ShouldBe(2);
        retention["last_purge"]!["started_at"]!.GetValue<DateTimeOffset>().ShouldBe(host.Time.GetUtcNow());
        retention["next_purge_at"]!.GetValue<DateTimeOffset>().ShouldBeGreaterThan(host.Time.GetUtcNow());

        // The archive shortens its retention: the longest in force is now the default, so more whole days go.
        await SetRetentionAsync(archive, 30);
        var second = await RunRetentionAsync();
        second.PartitionsDropped.ShouldBe([Partition(today, 89), Partition(today, 90), Partition(today, 91), Partition(today, 200)], ignoreOrder: true);
        (await StoredOffsetsAsync(archive.Id, today)).ShouldBe([0, 1]);
        (await StoredOffsetsAsync(standard.Id, today)).ShouldBe([0, 1, 29, 30, 31, 60]);
        (await StoredOffsetsAsync(brief.Id, today)).ShouldBe([0, 1]);
        second.DeletedByTenant.Keys.ShouldBe([archive.Id]);
        second.DeletedByTenant[archive.Id].ShouldBe((8L, 8L)); // days 29, 30, 31, 60 by row; 89, 90, 91, 200 with their partitions

        var archiveRetention = (await (await archive.Read.GetAsync("/v1/audit/retention")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        archiveRetention["last_purge"]!["events_deleted"]!.GetValue<long>().ShouldBe(8);
        (await (await standard.Read.GetAsync("/v1/audit/retention")).ShouldHaveStatusAsync(HttpStatusCode.OK))!["last_purge"]!["events_deleted"]!.GetValue<long>().ShouldBe(0);
    }

    [Fact]
    public async Task The_run_happens_once_across_instances()
    {
        var job = host.Factory.Services.GetRequiredService<RetentionJob>();
        await using var other = new NpgsqlConnection(host.ConnectionString);
        await other.OpenAsync();
        await other.ExecuteAsync("SELECT pg_advisory_lock(hashtextextended(@name, 0))", new { name = RetentionJob.LockName });

        (await job.RunExclusiveAsync(CancellationToken.None)).ShouldBeNull("another instance holds the lock");

        await other.ExecuteAsync("SELECT pg_advisory_unlock(hashtextextended(@name, 0))", new { name = RetentionJob.LockName });
        (await RunRetentionAsync()).ShouldNotBeNull();
    }

    [Fact]
    public async Task A_partition_locked_by_a_long_reader_is_left_for_the_next_run()
    {
        var tenant = await host.CreateTenantAsync();
        var today = DateOnly.FromDateTime(host.Time.GetUtcNow().UtcDateTime);
        await WriteDaysAsync(tenant.Id, today, [80]);
        await SetRetentionAsync(tenant, 85);
        host.Time.Advance(TimeSpan.FromDays(400)); // past every retention in force
        var name = PartitionName(today.AddDays(-80));

        await using (var reader = new NpgsqlConnection(host.ConnectionString))
        {
            await reader.OpenAsync();
            await using var transaction = await reader.BeginTransactionAsync();
            await reader.ExecuteAsync($"SELECT count(*) FROM audit.{name}", transaction: transaction);
            var blocked = await RunRetentionAsync();
            blocked.PartitionsDeferred.ShouldContain(name);
            (await PartitionsAsync()).ShouldContain(name);
        }

        (await RunRetentionAsync()).PartitionsDropped.ShouldContain(name);
    }

    private async Task SetRetentionAsync(TestTenant tenant, int days) =>
        (await tenant.Admin.PutAsJsonAsync("/v1/settings/audit", new { retention_days = days })).StatusCode.ShouldBe(HttpStatusCode.OK);

    private async Task WriteDaysAsync(string tenantId, DateOnly today, IEnumerable<int> offsets)
    {
        var writer = host.Factory.Services.GetRequiredService<IAuditWriter>();
        foreach (var offset in offsets)
        {
            await writer.WriteAsync(new AuditEvent { TenantId = tenantId, Action = "day.event", Timestamp = EventTime(today, offset), RequestId = $"d{offset}", UserId = "u_1" }, CancellationToken.None);
        }
    }

    private static DateTimeOffset EventTime(DateOnly today, int offset) =>
        new(today.AddDays(-offset).ToDateTime(new TimeOnly(10, 0)), TimeSpan.Zero);

    private static string Partition(DateOnly today, int offset) => PartitionName(today.AddDays(-offset));

    private static string PartitionName(DateOnly day) => "events_" + day.ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    /// <summary>The retention run, as the scheduler calls it (retrying if the scheduler itself happens to hold the lock).</summary>
    private async Task<PurgeReport> RunRetentionAsync()
    {
        var job = host.Factory.Services.GetRequiredService<RetentionJob>();
        for (var attempt = 0; ; attempt++)
        {
            if (await job.RunExclusiveAsync(CancellationToken.None) is { } report)
            {
                return report;
            }

            attempt.ShouldBeLessThan(50);
            await Task.Delay(100);
        }
    }

    private async Task<int[]> StoredOffsetsAsync(string tenantId, DateOnly today)
    {
        await using var connection = new NpgsqlConnection(host.ConnectionString);
        var times = await connection.QueryAsync<DateTime>(
            "SELECT ts FROM audit.events WHERE tenant_id = @tenantId AND action = 'day.event'", new { tenantId });
        return times.Select(t => today.DayNumber - DateOnly.FromDateTime(t).DayNumber).Order().ToArray();
    }

    private async Task<int> KeyCountAsync(string tenantId)
    {
        await using var connection = new NpgsqlConnection(host.ConnectionString);
        return await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM audit.event_keys WHERE tenant_id = @tenantId AND action = 'day.event'", new { tenantId });
    }

    private async Task<List<string>> PartitionsAsync()
    {
        await using var connection = new NpgsqlConnection(host.ConnectionString);
        return (await connection.QueryAsync<string>("SELECT name FROM audit.day_partitions()")).ToList();
    }
}
