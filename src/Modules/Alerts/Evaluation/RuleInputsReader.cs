using Ops.Modules.Alerts.Rules;
using Ops.Modules.Usage.Contracts;

namespace Ops.Modules.Alerts.Evaluation;

/// <summary>Gathers a tenant's <see cref="RuleInputs"/> from the Usage module's contracts.</summary>
internal sealed class RuleInputsReader(IUsageSpendReader spend)
{
    public async Task<RuleInputs> ReadAsync(string tenantId, IReadOnlyDictionary<string, RuleSettings> rules, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var unpriced = await spend.GetUnpricedModelsAsync(tenantId, now.AddHours(-24), cancellationToken);
        return new RuleInputs
        {
            UnpricedEvents24h = unpriced.Sum(u => u.Events),
            UnpricedModels = unpriced.Select(u => u.Model).Distinct(StringComparer.Ordinal).ToList(),
        };
    }
}
