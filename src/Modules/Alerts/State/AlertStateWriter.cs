using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using Ops.Modules.Alerts.Delivery;
using Ops.Modules.Alerts.Rules;
using Ops.Modules.Audit.Contracts;
using Microsoft.Extensions.Options;

namespace Ops.Modules.Alerts.State;

/// <summary>What one application of findings changed.</summary>
internal sealed record StateChanges(IReadOnlyList<AlertSummary> Fired, IReadOnlyList<AlertSummary> Resolved, int DeliveriesQueued);

/// <summary>
/// Turns findings into alert state, in one transaction per tenant serialized by a transaction-level advisory lock:
/// new keys fire, missing keys resolve, and each transition that may notify queues one delivery per enabled channel
/// (the outbox) and is audited, all committed together. Whether it may notify: never while the key (or its rule) is
/// snoozed; a fire at most once per dedup window per key (the window is kept in <c>alerts.key_state</c>, so it
/// holds across restarts and instances), and for once-per-period rules once per budget period; a resolve only when
/// its fire was notified.
/// </summary>
internal sealed class AlertStateWriter(NpgsqlDataSource dataSource, IAuditWriter audit, IOptions<AlertsOptions> options)
{
    public const string Actor = "system:alerts";

    /// <param name="resolveScope">Which firing alerts may resolve: those whose rule it accepts and whose key is not in the findings.</param>
    public async Task<StateChanges> ApplyAsync(
        string tenantId,
        IReadOnlyList<Finding> findings,
        Func<AlertRow, bool> resolveScope,
        DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(hashtextextended('alerts.tenant:' || @tenantId, 0))", new { tenantId }, transaction, cancellationToken: cancellationToken));

        var firing = (await connection.QueryAsync<AlertRow>(new CommandDefinition(
            $"SELECT {AlertRow.Columns} FROM alerts.alerts WHERE tenant_id = @tenantId AND state = 'firing'",
            new { tenantId }, transaction, cancellationToken: cancellationToken))).ToDictionary(a => a.Key, StringComparer.Ordinal);
        var snoozed = (await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT key FROM alerts.snoozes WHERE tenant_id = @tenantId AND until > @now",
            new { tenantId, now }, transaction, cancellationToken: cancellationToken))).ToHashSet(StringComparer.Ordinal);
        var keys = findings.Select(f => f.Key).Distinct(StringComparer.Ordinal).ToArray();
        var keyStates = (await connection.QueryAsync<KeyStateRow>(new CommandDefinition(
            "SELECT key, last_notified_at, last_period FROM alerts.key_state WHERE tenant_id = @tenantId AND key = ANY(@keys)",
            new { tenantId, keys }, transaction, cancellationToken: cancellationToken))).ToDictionary(k => k.Key, StringComparer.Ordinal);
        var channels = (await connection.QueryAsync<ChannelRef>(new CommandDefinition(
            "SELECT id, kind FROM alerts.channels WHERE tenant_id = @tenantId AND enabled AND deleted_at IS NULL ORDER BY created_at, name, id",
            new { tenantId }, transaction, cancellationToken: cancellationToken))).ToList();

        var fired = new List<AlertSummary>();
        var resolved = new List<AlertSummary>();
        var queued = 0;
        bool IsSnoozed(string key) => snoozed.Contains(key) || snoozed.Contains(RuleCatalog.RuleOf(key));

        async Task ResolveAsync(AlertRow alert)
        {
            alert.State = "resolved";
            alert.ResolvedAt = now;
            var isSnoozed = IsSnoozed(alert.Key);
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE alerts.alerts SET state = 'resolved', resolved_at = @now WHERE tenant_id = @tenantId AND id = @Id",
                new { tenantId, now, alert.Id }, transaction, cancellationToken: cancellationToken));
            var summary = AlertSummary.From(alert);
            var notify = alert.Notified && !isSnoozed;
            if (notify)
            {
                queued += await QueueAsync(connection, transaction, tenantId, channels, DeliveryPayloads.Resolved, summary, now, cancellationToken);
            }

            await AuditAsync(connection, transaction, tenantId, "alert.resolved", summary, notify, isSnoozed, now, cancellationToken);
            resolved.Add(summary);
        }

        foreach (var finding in findings.DistinctBy(f => f.Key, StringComparer.Ordinal))
        {
            if (firing.Remove(finding.Key, out var existing) && existing.PeriodStart != finding.PeriodStart)
            {
                // A new budget period: the old period's alert is over; this period's is a new one.
                await ResolveAsync(existing);
                existing = null;
            }

            var isSnoozed = IsSnoozed(finding.Key);
            AlertRow alert;
            var isNew = existing is null;
            if (existing is null)
            {
                alert = await connection.QuerySingleAsync<AlertRow>(new CommandDefinition(
                    $"""
                    INSERT INTO alerts.alerts (tenant_id, key, rule, entity_type, entity_id, state, message, value, threshold, period_start, fired_at, snoozed, notified)
                    VALUES (@tenantId, @Key, @Rule, @EntityType, @EntityId, 'firing', @Message, @Value, @Threshold, @PeriodStart, @now, @isSnoozed, false)
                    RETURNING {AlertRow.Columns}
                    """,
                    new { tenantId, finding.Key, finding.Rule, finding.EntityType, finding.EntityId, finding.Message, finding.Value, finding.Threshold, finding.PeriodStart, now, isSnoozed },
                    transaction, cancellationToken: cancellationToken));
            }
            else
            {
                alert = existing;
                alert.Message = finding.Message;
                alert.Value = finding.Value;
                alert.Threshold = finding.Threshold;
                alert.Snoozed = isSnoozed;
            }

            var notify = !isSnoozed && MayNotify(finding, keyStates.GetValueOrDefault(finding.Key), now);
            if (notify)
            {
                alert.Notified = true;
                queued += await QueueAsync(connection, transaction, tenantId, channels, DeliveryPayloads.Fired, AlertSummary.From(alert), now, cancellationToken);
                await connection.ExecuteAsync(new CommandDefinition(
                    """
                    INSERT INTO alerts.key_state (tenant_id, key, last_notified_at, last_period) VALUES (@tenantId, @Key, @now, @PeriodStart)
                    ON CONFLICT (tenant_id, key) DO UPDATE SET last_notified_at = EXCLUDED.last_notified_at, last_period = EXCLUDED.last_period
                    """,
                    new { tenantId, finding.Key, now, finding.PeriodStart }, transaction, cancellationToken: cancellationToken));
            }

            if (!isNew)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "UPDATE alerts.alerts SET message = @Message, value = @Value, threshold = @Threshold, snoozed = @Snoozed, notified = @Notified WHERE tenant_id = @tenantId AND id = @Id",
                    new { tenantId, alert.Message, alert.Value, alert.Threshold, alert.Snoozed, alert.Notified, alert.Id }, transaction, cancellationToken: cancellationToken));
            }
            else
            {
                if (notify)
                {
                    await connection.ExecuteAsync(new CommandDefinition(
                        "UPDATE alerts.alerts SET notified = true WHERE tenant_id = @tenantId AND id = @Id", new { tenantId, alert.Id }, transaction, cancellationToken: cancellationToken));
                }

                var summary = AlertSummary.From(alert);
                await AuditAsync(connection, transaction, tenantId, "alert.fired", summary, notify, isSnoozed, now, cancellationToken);
                fired.Add(summary);
            }
        }

        foreach (var alert in firing.Values.Where(resolveScope))
        {
            await ResolveAsync(alert);
        }

        await transaction.CommitAsync(cancellationToken);
        return new StateChanges(fired, resolved, queued);
    }

    /// <summary>The dedup rule: once per period for budget rules, else once per dedup window per key.</summary>
    private bool MayNotify(Finding finding, KeyStateRow? state, DateTimeOffset now)
    {
        if (state is null)
        {
            return true;
        }

        if (RuleCatalog.Find(finding.Rule)?.OncePerPeriod == true)
        {
            return state.LastPeriod != finding.PeriodStart;
        }

        return state.LastNotifiedAt is not { } last || now - last >= options.Value.DedupWindow;
    }

    private static async Task<int> QueueAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string tenantId, IReadOnlyList<ChannelRef> channels, string @event, AlertSummary alert, DateTimeOffset now, CancellationToken cancellationToken)
    {
        foreach (var channel in channels)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO alerts.deliveries (tenant_id, alert_id, channel_id, event, payload, status, next_attempt_at, created_at)
                VALUES (@tenantId, @alertId, @channelId, @event, @payload::jsonb, 'pending', @now, @now)
                """,
                new { tenantId, alertId = alert.Id, channelId = channel.Id, @event, payload = DeliveryPayloads.Build(channel.Kind, tenantId, @event, alert), now },
                transaction, cancellationToken: cancellationToken));
        }

        return channels.Count;
    }

    private Task AuditAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string tenantId, string action, AlertSummary alert, bool notified, bool snoozed, DateTimeOffset now, CancellationToken cancellationToken) =>
        audit.WriteAsync(new AuditEvent
        {
            TenantId = tenantId,
            Action = action,
            Timestamp = now,
            Status = "ok",
            Actor = Actor,
            Details = new JsonObject
            {
                ["target"] = $"alert:{alert.Key}",
                ["alert_id"] = alert.Id,
                ["rule"] = alert.Rule,
                ["entity_type"] = alert.EntityType,
                ["entity_id"] = alert.EntityId,
                ["value"] = alert.Value,
                ["threshold"] = alert.Threshold,
                ["message"] = alert.Message,
                ["notified"] = notified,
                ["snoozed"] = snoozed,
            },
        }, connection, transaction, cancellationToken);

    private sealed class KeyStateRow
    {
        public string Key { get; init; } = string.Empty;
        public DateTimeOffset? LastNotifiedAt { get; init; }
        public DateOnly? LastPeriod { get; init; }
    }

    private sealed class ChannelRef
    {
        public Guid Id { get; init; }
        public string Kind { get; init; } = string.Empty;
    }
}
