namespace Ops.Modules.Audit.Redaction;

/// <summary>What redacted text is replaced with: one typed marker per kind, so a reader still knows what was there.</summary>
internal static class Markers
{
    public const string Email = "[email]";
    public const string Cpf = "[cpf]";
    public const string Cnpj = "[cnpj]";
    public const string Phone = "[phone]";
    public const string Card = "[card]";
    public const string Ip = "[ip]";
    public const string Secret = "[secret]";

    /// <summary>A field that is always redacted, or a string a tenant pattern could not finish scanning (fail closed).</summary>
    public const string Redacted = "[redacted]";
}
