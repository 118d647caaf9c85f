using Microsoft.Extensions.Logging.Abstractions;
using Ops.Modules.Audit;
using Ops.Modules.Audit.Redaction;

namespace Ops.Benchmarks.Suites;

/// <summary>The redactor as a tenant without settings gets it: built-in detectors and field list only.</summary>
internal sealed class BuiltInRedactionPolicies : IRedactionPolicies
{
    private readonly RedactionPolicy _policy = new(AuditRedactionOptions.BuiltInFields, []);

    public RedactionPolicy For(string tenantId) => _policy;

    public static Redactor CreateRedactor() => new(new BuiltInRedactionPolicies(), NullLogger<Redactor>.Instance);
}
