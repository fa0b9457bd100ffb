using FunctionalDruid.Host;
using FunctionalDruid.Host.Config;

ServerConfig config;
try
{
    config = ServerConfig.FromArgs(args);
}
catch (ConfigException e)
{
    Console.Error.WriteLine($"FunctionalDruid: {e.Message}");
    return 2;
}

await using var server = DruidServer.Create(config);
await server.StartAsync();
Console.WriteLine($"FunctionalDruid listening on {server.BaseUrl} (data in {config.DataDir}, metadata: {config.MetadataType})");
await server.WaitForShutdownAsync();
return 0;
