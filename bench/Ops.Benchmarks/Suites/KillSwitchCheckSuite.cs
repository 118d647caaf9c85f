using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Microsoft.Extensions.Options;
using Microsoft.FeatureManagement;
using Npgsql;
using Ops.Benchmarks.Infrastructure;
using Ops.Modules.KillSwitch;
using Ops.Modules.KillSwitch.Contracts;
using Ops.Modules.KillSwitch.Flags;
using Ops.Modules.Shared.Notifications;

namespace Ops.Benchmarks.Suites;

/// <summary>
/// The kill-switch check: nanoseconds per in-memory check (BenchmarkDotNet) next to a naive scan and the seed's
/// database query per check; the end-to-end HTTP check next to the bare HTTP floor; propagation between two Api
/// processes; memory for the flag set.
/// </summary>
public sealed class KillSwitchCheckSuite : IBenchSuite
{
    public string Name => "killswitch-check";

    public string Title => "Kill switch: the check agents call before every LLM call";

    public async Task<string> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        var tenants = context.IntOption("tenants", 1000);
        var usersPerTenant = context.IntOption("users", 200);
        var requests = context.IntOption("requests", 5000);
        var seconds = context.IntOption("seconds", 10);
        var connectionString = await context.CreateDatabaseAsync("killswitch");
        var fixture = FlagFixture.Create(tenants, usersPerTenant);
        var report = new StringBuilder();

        // The Api migrates the database; its memory is read before and after the flags are loaded.
        await using var api = await ApiServer.StartAsync(connectionString);
        using var admin = api.CreateClient(ApiServer.AdminKey);
        (await admin.PostAsJsonAsync("/v1/admin/tenants", new { id = "bench", name = "Bench" }, cancellationToken)).EnsureSuccessStatusCode();
        var ingestKey = await CreateKeyAsync(admin, "ingest", cancellationToken);
        var tenantAdminKey = await CreateKeyAsync(admin, "admin", cancellationToken);
        var emptyRss = api.Memory().RssMiB;
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await fixture.InsertAsync(dataSource, cancellationToken);
        using var tenantAdmin = api.CreateClient(tenantAdminKey);
        using var ingest = api.CreateClient(ingestKey);
        // One real change publishes a notification; the flags written behind the Api's back arrive with the periodic refresh.
        await SetFlagAsync(tenantAdmin, "kill:user:bench-killed", true, null, cancellationToken);
        await WaitAsync(async () => (await CheckAsync(ingest, $"{FlagFixture.Tenant(0)}-user-1", cancellationToken)) is not null, TimeSpan.FromSeconds(5));
        await WaitAsync(async () => await KilledAsync(ingest, "bench-killed", cancellationToken), TimeSpan.FromSeconds(5));
        Console.WriteLine("Waiting for the Api's periodic refresh to load the bulk-inserted flags…");
        await Task.Delay(TimeSpan.FromSeconds(32), cancellationToken);
        GC.Collect();
        var loadedRss = api.Memory().RssMiB;

        // The cache's own footprint: the same flags loaded into a fresh FlagCache in this process.
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var footprint = FlagFixture.Create(tenants, usersPerTenant).BuildCache();
        var cacheBytes = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
        GC.KeepAlive(footprint);

        // 1. Micro-benchmarks, in this process.
        KillSwitchCheckBenchmarks.Fixture = fixture;
        KillSwitchCheckBenchmarks.DataSource = dataSource;
        var summary = BenchmarkRunner.Run<KillSwitchCheckBenchmarks>(
            ManualConfig.CreateMinimumViable()
                .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(3).WithIterationCount(12))
                .AddDiagnoser(BenchmarkDotNet.Diagnosers.MemoryDiagnoser.Default)
                .WithOptions(ConfigOptions.DisableLogFile | ConfigOptions.JoinSummary));
        var micro = summary.Reports.ToDictionary(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name, r => (Mean: r.ResultStatistics!.Mean, Allocated: r.GcStats.GetBytesAllocatedPerOperation(r.BenchmarkCase) ?? 0));
        var inMemory = micro[nameof(KillSwitchCheckBenchmarks.InMemoryCheck)].Mean;
        report.AppendLine($"Flag set: {tenants:N0} tenants × ({usersPerTenant} user + 20 agent + 5 model kills, half of them expiring) = {fixture.Rows.Count:N0} flags.")
            .AppendLine()
            .AppendLine("**Per check, in process** (BenchmarkDotNet, in-process toolchain, mean of 12 iterations):")
            .AppendLine()
            .AppendLine("| Check | Mean | Allocated | vs. in-memory |")
            .AppendLine("|---|---:|---:|---:|");
        foreach (var (name, label) in new[]
        {
            (nameof(KillSwitchCheckBenchmarks.InMemoryCheck), "**Ops: in-memory check** (user not killed: 3 lookups + 2 field reads)"),
            (nameof(KillSwitchCheckBenchmarks.InMemoryCheckKilledWithExpiry), "Ops: in-memory check, user killed with an expiry (reads the clock)"),
            (nameof(KillSwitchCheckBenchmarks.NaiveScan), "Baseline: scan the tenant's flag rows, building each key string"),
            (nameof(KillSwitchCheckBenchmarks.DatabaseQueryPerCheck), "Baseline (the seed's way): one `SELECT` on the flags table per check"),
        })
        {
            var (mean, allocated) = micro[name];
            report.AppendLine(CultureInfo.InvariantCulture, $"| {label} | {FormatNs(mean)} | {allocated:N0} B | {mean / inMemory:N1}× |");
        }

        // 2. End to end over HTTP (Kestrel on loopback, API key auth, JSON), sequential and concurrent.
        using var anonymous = new HttpClient { BaseAddress = api.BaseAddress };
        var checkUrl = $"/v1/killswitch/check?user_id=bench-user&agent_id=bench-agent&model=claude-opus-4-7";
        var aliveLatency = await LatencyAsync(anonymous, "/alive", requests, cancellationToken);
        var checkLatency = await LatencyAsync(ingest, checkUrl, requests, cancellationToken);
        var dbLatency = await DatabaseLatencyAsync(dataSource, fixture, requests, cancellationToken);
        var aliveThroughput = await ThroughputAsync(anonymous, "/alive", seconds, cancellationToken);
        var checkThroughput = await ThroughputAsync(ingest, checkUrl, seconds, cancellationToken);
        report.AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"**End to end over HTTP** ({requests:N0} sequential requests after warm-up; throughput with 16 concurrent clients for {seconds} s; client, Api and Postgres on the same 2 cores):")
            .AppendLine()
            .AppendLine("| Request | p50 | p95 | p99 | Throughput |")
            .AppendLine("|---|---:|---:|---:|---:|")
            .AppendLine(CultureInfo.InvariantCulture, $"| **`GET /v1/killswitch/check`** (API key, from memory) | {FormatMs(checkLatency, 0.50)} | {FormatMs(checkLatency, 0.95)} | {FormatMs(checkLatency, 0.99)} | {checkThroughput:N0} req/s |")
            .AppendLine(CultureInfo.InvariantCulture, $"| Baseline: `GET /alive` (no auth, no work: the HTTP floor) | {FormatMs(aliveLatency, 0.50)} | {FormatMs(aliveLatency, 0.95)} | {FormatMs(aliveLatency, 0.99)} | {aliveThroughput:N0} req/s |")
            .AppendLine(CultureInfo.InvariantCulture, $"| Baseline: the seed's flag query alone (one DB round trip, no HTTP) | {FormatMs(dbLatency, 0.50)} | {FormatMs(dbLatency, 0.95)} | {FormatMs(dbLatency, 0.99)} | |");

        // 3. Propagation between two Api processes on the same database.
        await using var second = await ApiServer.StartAsync(connectionString);
        using var secondIngest = second.CreateClient(ingestKey);
        await PropagationAsync(tenantAdmin, secondIngest, 2, cancellationToken);
        var propagation = await PropagationAsync(tenantAdmin, secondIngest, 20, cancellationToken);
        report.AppendLine()
            .AppendLine("**Propagation** (a `PUT /v1/admin/flags/…` answered by instance A, until instance B's check reflects it; 20 sets and 20 clears after 2 warm-up rounds, B polled every 2 ms):")
            .AppendLine()
            .AppendLine("| | p50 | p95 | max | Target |")
            .AppendLine("|---|---:|---:|---:|---:|")
            .AppendLine(CultureInfo.InvariantCulture, $"| Ops (LISTEN/NOTIFY) | {FormatMs(propagation, 0.50)} | {FormatMs(propagation, 0.95)} | {FormatMs(propagation, 1.0)} | 1 s |")
            .AppendLine("| Baseline: the seed's 30 s cache | up to 30 s | | | |");

        report.AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"**Memory**: the in-memory flags take {cacheBytes / 1048576.0:N0} MiB of managed heap ({cacheBytes / (double)fixture.Rows.Count:N0} bytes per flag, indexes included). ")
            .AppendLine(CultureInfo.InvariantCulture, $"The Api's RSS went from {emptyRss:N0} MiB with no flags to {loadedRss:N0} MiB with the {fixture.Rows.Count:N0} flags loaded (+{loadedRss - emptyRss:N0} MiB; RSS also keeps what the server GC retained from loading).");
        return report.ToString();
    }

    private static async Task<string> CreateKeyAsync(HttpClient admin, string role, CancellationToken ct)
    {
        var response = await admin.PostAsJsonAsync("/v1/admin/keys", new { tenant_id = "bench", name = $"bench {role}", roles = new[] { role } }, ct);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>(ct))!["key"]!.GetValue<string>();
    }

    private static async Task SetFlagAsync(HttpClient admin, string key, bool value, string? reason, CancellationToken ct)
    {
        var response = await admin.PutAsJsonAsync($"/v1/admin/flags/{key}", new { value, reason = reason ?? "bench" }, ct);
        response.EnsureSuccessStatusCode();
    }

    private static async Task<JsonObject?> CheckAsync(HttpClient client, string user, CancellationToken ct) =>
        await client.GetFromJsonAsync<JsonObject>($"/v1/killswitch/check?user_id={user}", ct);

    private static async Task<bool> KilledAsync(HttpClient client, string user, CancellationToken ct) =>
        (await CheckAsync(client, user, ct))!["killed"]!.GetValue<bool>();

    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException("The Api did not reach the expected state.");
            }

            await Task.Delay(10);
        }
    }

    private static async Task<double[]> LatencyAsync(HttpClient client, string url, int count, CancellationToken ct)
    {
        for (var i = 0; i < 1000; i++)
        {
            using var warm = await client.GetAsync(url, ct);
            warm.EnsureSuccessStatusCode();
        }

        var samples = new double[count];
        for (var i = 0; i < count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            using var response = await client.GetAsync(url, ct);
            await response.Content.ReadAsByteArrayAsync(ct);
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            response.EnsureSuccessStatusCode();
        }

        Array.Sort(samples);
        return samples;
    }

    private static async Task<double> ThroughputAsync(HttpClient client, string url, int seconds, CancellationToken ct)
    {
        var stop = Stopwatch.StartNew();
        var duration = TimeSpan.FromSeconds(seconds);
        long completed = 0;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            while (stop.Elapsed < duration)
            {
                using var response = await client.GetAsync(url, ct);
                await response.Content.ReadAsByteArrayAsync(ct);
                response.EnsureSuccessStatusCode();
                Interlocked.Increment(ref completed);
            }
        }));
        return completed / stop.Elapsed.TotalSeconds;
    }

    private static async Task<double[]> DatabaseLatencyAsync(NpgsqlDataSource dataSource, FlagFixture fixture, int count, CancellationToken ct)
    {
        var samples = new double[count];
        for (var i = -1000; i < count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await KillSwitchCheckBenchmarks.QueryOnceAsync(dataSource, fixture.CheckedTenant, "bench-user", "bench-agent", "claude-opus-4-7", ct);
            if (i >= 0)
            {
                samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        }

        Array.Sort(samples);
        return samples;
    }

    private static async Task<double[]> PropagationAsync(HttpClient adminOnA, HttpClient ingestOnB, int rounds, CancellationToken ct)
    {
        var samples = new List<double>();
        for (var i = 0; i < rounds; i++)
        {
            foreach (var on in new[] { true, false })
            {
                var user = $"prop-{rounds}-{i}";
                if (on)
                {
                    await SetFlagAsync(adminOnA, $"kill:user:{user}", true, "propagation", ct);
                }
                else
                {
                    (await adminOnA.DeleteAsync($"/v1/admin/flags/kill:user:{user}?reason=propagation", ct)).EnsureSuccessStatusCode();
                }

                var start = Stopwatch.GetTimestamp();
                while (await KilledAsync(ingestOnB, user, ct) != on)
                {
                    if (Stopwatch.GetElapsedTime(start) > TimeSpan.FromSeconds(40))
                    {
                        throw new TimeoutException("The change never reached the second instance.");
                    }

                    await Task.Delay(2, ct);
                }

                samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }

        return [.. samples.Order()];
    }

    private static string FormatNs(double nanoseconds) =>
        nanoseconds >= 1_000_000 ? $"{nanoseconds / 1_000_000:N2} ms" : nanoseconds >= 1_000 ? $"{nanoseconds / 1_000:N1} µs" : $"{nanoseconds:N0} ns";

    private static string FormatMs(double[] sorted, double quantile)
    {
        var value = sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1)];
        return value >= 100 ? $"{value:N0} ms" : $"{value:N2} ms";
    }
}

/// <summary>A realistic flag set: many tenants, each with per-user, per-agent and per-model kills, half of them expiring.</summary>
public sealed class FlagFixture
{
    private FlagFixture(List<FlagState> rows, string checkedTenant)
    {
        Rows = rows;
        CheckedTenant = checkedTenant;
    }

    internal List<FlagState> Rows { get; }

    public string CheckedTenant { get; }

    public static string Tenant(int i) => $"tenant-{i:D4}";

    public static FlagFixture Create(int tenants, int usersPerTenant)
    {
        var setAt = DateTimeOffset.UtcNow;
        var rows = new List<FlagState>(tenants * (usersPerTenant + 25));
        var change = 0L;
        for (var t = 0; t < tenants; t++)
        {
            var tenant = Tenant(t);
            void Add(string key, FlagKind kind, int i) => rows.Add(new FlagState
            {
                Key = key,
                Kind = kind,
                Scope = FlagScope.Tenant,
                Value = JsonSerializer.SerializeToElement(true),
                Reason = $"bench {tenant}",
                SetBy = "bench",
                SetAt = setAt,
                ExpiresAt = i % 2 == 0 ? setAt.AddDays(30) : null,
                ChangeId = ++change,
            });
            for (var u = 0; u < usersPerTenant; u++)
            {
                Add($"kill:user:{tenant}-user-{u}", FlagKind.KillUser, u);
            }

            for (var a = 0; a < 20; a++)
            {
                Add($"kill:agent:{tenant}-agent-{a}", FlagKind.KillAgent, a);
            }

            for (var m = 0; m < 5; m++)
            {
                Add($"kill:model:{tenant}-model-{m}", FlagKind.KillModel, m);
            }
        }

        return new FlagFixture(rows, Tenant(tenants / 2));
    }

    internal string TenantOf(FlagState row) => row.Reason["bench ".Length..];

    public async Task InsertAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using (var writer = await connection.BeginBinaryImportAsync(
            "COPY killswitch.flags (tenant_id, key, kind, value, reason, set_by, set_at, expires_at, change_id) FROM STDIN (FORMAT BINARY)", ct))
        {
            foreach (var row in Rows)
            {
                await writer.StartRowAsync(ct);
                await writer.WriteAsync(TenantOf(row), NpgsqlTypes.NpgsqlDbType.Text, ct);
                await writer.WriteAsync(row.Key, NpgsqlTypes.NpgsqlDbType.Text, ct);
                await writer.WriteAsync(FlagKinds.ToDb(row.Kind), NpgsqlTypes.NpgsqlDbType.Text, ct);
                await writer.WriteAsync("true", NpgsqlTypes.NpgsqlDbType.Jsonb, ct);
                await writer.WriteAsync(row.Reason, NpgsqlTypes.NpgsqlDbType.Text, ct);
                await writer.WriteAsync(row.SetBy, NpgsqlTypes.NpgsqlDbType.Text, ct);
                await writer.WriteAsync(row.SetAt, NpgsqlTypes.NpgsqlDbType.TimestampTz, ct);
                if (row.ExpiresAt is { } expiresAt)
                {
                    await writer.WriteAsync(expiresAt, NpgsqlTypes.NpgsqlDbType.TimestampTz, ct);
                }
                else
                {
                    await writer.WriteNullAsync(ct);
                }

                await writer.WriteAsync(row.ChangeId, NpgsqlTypes.NpgsqlDbType.Bigint, ct);
            }

            await writer.CompleteAsync(ct);
        }

        await using var versions = new NpgsqlCommand(
            "SELECT setval('killswitch.change_ids', @max); INSERT INTO killswitch.scope_versions (tenant_id, change_id) SELECT tenant_id, max(change_id) FROM killswitch.flags GROUP BY tenant_id ON CONFLICT (tenant_id) DO UPDATE SET change_id = EXCLUDED.change_id; ANALYZE killswitch.flags;",
            connection);
        versions.Parameters.AddWithValue("max", Rows.Count + 1L);
        await versions.ExecuteNonQueryAsync(ct);
    }

    /// <summary>The Api's own in-memory structure, built from the same rows.</summary>
    internal FlagCache BuildCache()
    {
        var cache = new FlagCache(TimeProvider.System, new AlwaysListening(), Options.Create(new KillSwitchOptions()));
        foreach (var group in Rows.GroupBy(TenantOf))
        {
            cache.Apply(ScopeFlags.Create(group.Key, group.Max(r => r.ChangeId), group, new Dictionary<string, FeatureDefinition>()));
        }

        cache.MarkFullLoad();
        return cache;
    }

    private sealed class AlwaysListening : IChangeFeed
    {
        public bool IsListening => true;

        public Task PublishAsync(string topic, string payload, NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task PublishAsync(string topic, string payload, CancellationToken cancellationToken) => Task.CompletedTask;

        public IDisposable Subscribe(string topic, Action<ChangeNotification> handler) => new CancellationTokenSource();
    }
}

[MemoryDiagnoser]
public class KillSwitchCheckBenchmarks
{
    internal static FlagFixture Fixture { get; set; } = null!;
    internal static NpgsqlDataSource DataSource { get; set; } = null!;

    private FlagCache _cache = null!;
    private Dictionary<string, List<(string Key, bool Value, DateTimeOffset? ExpiresAt, string Reason)>> _rows = null!;
    private string _tenant = null!;
    private string _killedUser = null!;
    private readonly string _user = "bench-user";
    private readonly string _agent = "bench-agent";
    private readonly string _model = "claude-opus-4-7";

    [GlobalSetup]
    public void Setup()
    {
        _cache = Fixture.BuildCache();
        _tenant = Fixture.CheckedTenant;
        _killedUser = $"{_tenant}-user-0";
        _rows = Fixture.Rows.GroupBy(Fixture.TenantOf).ToDictionary(g => g.Key, g => g.Select(r => (r.Key, true, r.ExpiresAt, r.Reason)).ToList());
    }

    [Benchmark]
    public KillSwitchVerdict InMemoryCheck() => _cache.Check(_tenant, _user, _agent, _model);

    [Benchmark]
    public KillSwitchVerdict InMemoryCheckKilledWithExpiry() => _cache.Check(_tenant, _killedUser, _agent, _model);

    /// <summary>What a straightforward implementation does: build each candidate key and scan the tenant's rows.</summary>
    [Benchmark]
    public string? NaiveScan()
    {
        var now = DateTimeOffset.UtcNow;
        string[] candidates = ["killall", "kill:user:" + _user, "kill:agent:" + _agent, "kill:model:" + _model];
        if (!_rows.TryGetValue(_tenant, out var rows))
        {
            return null;
        }

        foreach (var candidate in candidates)
        {
            foreach (var row in rows)
            {
                if (row.Key == candidate && row.Value && (row.ExpiresAt is null || row.ExpiresAt > now))
                {
                    return row.Reason;
                }
            }
        }

        return null;
    }

    [Benchmark]
    public Task<string?> DatabaseQueryPerCheck() => QueryOnceAsync(DataSource, _tenant, _user, _agent, _model, CancellationToken.None);

    /// <summary>The seed's approach: ask the flags table on every call.</summary>
    internal static async Task<string?> QueryOnceAsync(NpgsqlDataSource dataSource, string tenant, string user, string agent, string model, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            """
            SELECT reason FROM killswitch.flags
            WHERE tenant_id = ANY(@scopes) AND key = ANY(@keys) AND value = 'true'::jsonb AND (expires_at IS NULL OR expires_at > now())
            LIMIT 1
            """);
        command.Parameters.AddWithValue("scopes", new[] { tenant, "*" });
        command.Parameters.AddWithValue("keys", new[] { "killall", "kill:user:" + user, "kill:agent:" + agent, "kill:model:" + model });
        return (string?)await command.ExecuteScalarAsync(ct);
    }
}
