using Microsoft.Extensions.Logging.Abstractions;
using Ops.Modules.Audit.Redaction;

namespace Ops.Modules.Audit.Tests.Redaction;

/// <summary>Redactors for unit tests: the built-in field list plus, per test, a tenant's patterns and fields.</summary>
internal static class TestRedactors
{
    public const string Tenant = "acme";

    public static Redactor Create(IEnumerable<(string Name, string Pattern)>? patterns = null, IEnumerable<string>? fields = null) =>
        new(new FixedPolicies(Policy(patterns, fields)), NullLogger<Redactor>.Instance);

    public static RedactionPolicy Policy(IEnumerable<(string Name, string Pattern)>? patterns = null, IEnumerable<string>? fields = null) =>
        new(
            AuditRedactionOptions.BuiltInFields.Concat(fields ?? []),
            (patterns ?? []).Select(p => new TenantPattern(p.Name, p.Pattern, PatternCompiler.CompileStored(p.Pattern, TimeSpan.FromSeconds(1))!)).ToList());

    private sealed class FixedPolicies(RedactionPolicy policy) : IRedactionPolicies
    {
        public RedactionPolicy For(string tenantId) => policy;
    }
}
