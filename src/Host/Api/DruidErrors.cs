using System.Text.Json;

namespace FunctionalDruid.Host.Api;

/// <summary>Error bodies in the shapes Druid clients parse.</summary>
public static class DruidErrors
{
    /// <summary>Druid's DruidException form (invalid input: specs, bodies, parameters).</summary>
    public static IResult InvalidInput(string message, int status = 400) => Results.Json(new Dictionary<string, object?>
    {
        ["error"] = "druidException",
        ["errorCode"] = "invalidInput",
        ["persona"] = "USER",
        ["category"] = "INVALID_INPUT",
        ["errorMessage"] = message,
        ["context"] = new Dictionary<string, string>(),
    }, statusCode: status);

    public static IResult NotFound(string message) => Results.Json(new Dictionary<string, object?>
    {
        ["error"] = "druidException",
        ["errorCode"] = "notFound",
        ["persona"] = "USER",
        ["category"] = "NOT_FOUND",
        ["errorMessage"] = message,
        ["context"] = new Dictionary<string, string>(),
    }, statusCode: 404);

    /// <summary>The query error shape: error, errorMessage, errorClass, host.</summary>
    public static IResult Query(string error, string message, string errorClass, int status) => Results.Json(new Dictionary<string, object?>
    {
        ["error"] = error,
        ["errorMessage"] = message,
        ["errorClass"] = errorClass,
        ["host"] = null,
    }, statusCode: status);

    /// <summary>A JSON path and problem from Core as one message.</summary>
    public static string AtPath(string path, string problem) => string.IsNullOrEmpty(path) ? problem : $"{path}: {problem}";

    /// <summary>Reads a request body as text; bodies are small JSON documents.</summary>
    public static async Task<string> ReadBody(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body);
        return await reader.ReadToEndAsync();
    }

    public static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };
    public static readonly JsonSerializerOptions Pretty = new() { WriteIndented = true };
}
