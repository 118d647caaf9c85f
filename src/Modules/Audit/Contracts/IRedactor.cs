using System.Text.Json.Nodes;

namespace Ops.Modules.Audit.Contracts;

/// <summary>
/// Removes personal data and secrets before anything is stored: e-mails, CPF/CNPJ, phone numbers, card numbers,
/// IP addresses, tokens and API keys become typed markers (<c>[email]</c>, <c>[cpf]</c>, …). Applies the tenant's
/// extra patterns and always-redacted field names too. One shared component: Audit uses it for every event,
/// Usage for event metadata.
/// </summary>
public interface IRedactor
{
    string RedactText(string text, string tenantId);

    /// <summary>
    /// Redacts every string at any depth, property names included; values of always-redacted fields become
    /// <c>[redacted]</c> whatever their type, and integers that are a CPF, CNPJ, phone or card number become the
    /// string marker. Returns a new node; the input is not changed.
    /// </summary>
    JsonNode? Redact(JsonNode? node, string tenantId);
}
