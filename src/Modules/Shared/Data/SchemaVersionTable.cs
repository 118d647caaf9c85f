using FluentMigrator.Runner.VersionTableInfo;

namespace Ops.Modules.Shared.Data;

/// <summary>Keeps each module's applied-migrations table inside that module's own schema.</summary>
internal sealed class SchemaVersionTable(string schema) : IVersionTableMetaData
{
    public bool OwnsSchema => true;
    public string SchemaName => schema;
    public string TableName => "schema_version";
    public string ColumnName => "version";
    public string DescriptionColumnName => "description";
    public string UniqueIndexName => "uc_schema_version";
    public string AppliedOnColumnName => "applied_on";
    public bool CreateWithPrimaryKey => false;
}
