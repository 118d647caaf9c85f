using System.Globalization;
using System.Text.Json;
using Ops.Modules.Alerts.State;
using Ops.Modules.Shared.Json;

namespace Ops.Modules.Alerts.Delivery;

/// <summary>The bodies sent to channels, built when the delivery is recorded (so every retry sends the same bytes).</summary>
internal static class DeliveryPayloads
{
    public const string Fired = "fired";
    public const string Resolved = "resolved";

    public static string Build(string kind, string tenantId, string @event, AlertSummary alert) => kind switch
    {
        ChannelKinds.Slack => JsonSerializer.Serialize(new SlackMessage(SlackText(@event, alert)), OpsJson.Options),
        _ => JsonSerializer.Serialize(new WebhookMessage(@event, tenantId, alert), OpsJson.Options),
    };

    private static string SlackText(string @event, AlertSummary alert)
    {
        var icon = @event == Fired ? ":rotating_light:" : ":white_check_mark:";
        var verb = @event == Fired ? "FIRING" : "RESOLVED";
        return string.Create(CultureInfo.InvariantCulture,
            $"{icon} *{verb}* `{alert.Key}`: {alert.Message} (value {alert.Value}, threshold {alert.Threshold}, fired {alert.FiredAt:u})");
    }

    /// <summary>The generic webhook body: <c>{event, tenant_id, alert: {...}}</c>.</summary>
    private sealed record WebhookMessage(string Event, string TenantId, AlertSummary Alert);

    /// <summary>A Slack incoming-webhook message.</summary>
    private sealed record SlackMessage(string Text);
}

internal static class ChannelKinds
{
    public const string Webhook = "webhook";
    public const string Slack = "slack";
}
