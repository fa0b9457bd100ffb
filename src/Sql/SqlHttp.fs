/// The `/druid/v2/sql` contract: request bodies (query, resultFormat, header flags, typed
/// parameters, context) and response bodies in Druid's result formats and error shapes.
module FunctionalDruid.Sql.SqlHttp

open System
open System.Text
open System.Text.Json
open FunctionalDruid.Core

type ResultFormat =
    | Object
    | Array
    | ObjectLines
    | ArrayLines
    | Csv

type HttpRequest =
    { Query: string
      Format: ResultFormat
      Header: bool
      TypesHeader: bool
      SqlTypesHeader: bool
      Parameters: (Value * SqlType)[]
      Context: (string * string) list }
    member this.ContextValue(key: string) = this.Context |> List.tryFind (fun (k, _) -> k = key) |> Option.map snd

let private formatOf (text: string) =
    match text with
    | "object" -> Object
    | "array" -> Array
    | "objectLines" | "objectlines" -> ObjectLines
    | "arrayLines" | "arraylines" -> ArrayLines
    | "csv" -> Csv
    | other -> SqlError.invalid (sprintf "Unknown resultFormat [%s]; expected one of object, array, objectLines, arrayLines, csv" other)

let private parameterOf (zone: NodaTime.DateTimeZone) (i: int) (p: JsonElement) : Value * SqlType =
    if p.ValueKind <> JsonValueKind.Object then SqlError.invalid (sprintf "parameters[%d] must be an object with type and value" i)
    let typeName =
        match p.TryGetProperty "type" with
        | true, t when t.ValueKind = JsonValueKind.String -> t.GetString().ToUpperInvariant()
        | _ -> SqlError.invalid (sprintf "parameters[%d]: type is required" i)
    let raw =
        match p.TryGetProperty "value" with
        | true, v -> v
        | _ -> Unchecked.defaultof<JsonElement>
    let text () = if raw.ValueKind = JsonValueKind.String then raw.GetString() else raw.GetRawText()
    let isNull = raw.ValueKind = JsonValueKind.Undefined || raw.ValueKind = JsonValueKind.Null
    let sqlType =
        match SqlType.ofCastName typeName with
        | Some t -> t
        | None -> SqlError.invalid (sprintf "parameters[%d]: unknown type [%s]" i typeName)
    if isNull then Value.Null, sqlType
    else
        let bad () = SqlError.invalid (sprintf "parameters[%d]: cannot read [%s] as %s" i (text ()) typeName)
        match sqlType with
        | SqlType.Varchar -> Value.String(text ()), sqlType
        | SqlType.Bigint -> (match Value.toLong (Value.String(text ())) with Some l -> Value.Long l, sqlType | None -> bad ())
        | SqlType.Double | SqlType.Float -> (match Value.parseDoubleText (text ()) with Some d -> Value.Double d, sqlType | None -> bad ())
        | SqlType.Boolean ->
            let t = text().ToLowerInvariant()
            Value.Long(if t = "true" || t = "1" then 1L else 0L), sqlType
        | SqlType.Timestamp | SqlType.Date ->
            if raw.ValueKind = JsonValueKind.Number then Value.Long(raw.GetInt64()), sqlType
            else
                match Translate.parseTimestampText zone (text ()) with
                | Some ms -> Value.Long ms, sqlType
                | None -> bad ()
        | SqlType.Array _ ->
            if raw.ValueKind = JsonValueKind.Array then
                Value.Array [| for x in raw.EnumerateArray() -> NativeJson.outValue (NativeJson.ofElement x) |], sqlType
            else bad ()
        | _ -> Value.String(text ()), sqlType

/// Reads a request body; problems are SqlException INVALID_INPUT.
let parseRequest (body: string) : HttpRequest =
    let doc =
        try JsonDocument.Parse(body, JsonDocumentOptions(CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true))
        with :? JsonException as e -> SqlError.invalid (sprintf "Malformed SQL request body: %s" (e.Message.Split(" LineNumber").[0]))
    use doc = doc
    let root = doc.RootElement
    if root.ValueKind <> JsonValueKind.Object then SqlError.invalid "The SQL request body must be a JSON object with a query"
    let prop (name: string) = match root.TryGetProperty name with | true, v when v.ValueKind <> JsonValueKind.Null -> Some v | _ -> None
    let flag (name: string) =
        match prop name with
        | Some v when v.ValueKind = JsonValueKind.True -> true
        | Some v when v.ValueKind = JsonValueKind.String -> v.GetString().ToLowerInvariant() = "true"
        | _ -> false
    let query =
        match prop "query" with
        | Some q when q.ValueKind = JsonValueKind.String && not (String.IsNullOrWhiteSpace(q.GetString())) -> q.GetString()
        | _ -> SqlError.invalid "Query must not be empty: the request body needs a \"query\" string"
    let context =
        match prop "context" with
        | Some c when c.ValueKind = JsonValueKind.Object ->
            [ for p in c.EnumerateObject() -> p.Name, (if p.Value.ValueKind = JsonValueKind.String then p.Value.GetString() else p.Value.GetRawText()) ]
        | _ -> []
    let zone = SqlEngine.zoneOf context
    let parameters =
        match prop "parameters" with
        | Some ps when ps.ValueKind = JsonValueKind.Array -> ps.EnumerateArray() |> Seq.mapi (parameterOf zone) |> Array.ofSeq
        | _ -> [||]
    { Query = query
      Format = (match prop "resultFormat" with Some f when f.ValueKind = JsonValueKind.String -> formatOf (f.GetString()) | _ -> Object)
      Header = flag "header"
      TypesHeader = flag "typesHeader"
      SqlTypesHeader = flag "sqlTypesHeader"
      Parameters = parameters
      Context = context }

let private csvCell (s: string) =
    if isNull s then ""
    elif s.IndexOfAny [| ','; '"'; '\n'; '\r' |] >= 0 then "\"" + s.Replace("\"", "\"\"") + "\""
    else s

/// The response body and its content type.
let formatResult (request: HttpRequest) (result: ResultSet) : string * string =
    let zone = SqlEngine.zoneOf request.Context
    let stringifyArrays = match request.ContextValue "sqlStringifyArrays" with Some v -> v.Trim().ToLowerInvariant() <> "false" | None -> true
    let cell (t: SqlType) (v: Value) : Json.Out =
        match t, v with
        | _, Value.Null -> Json.Out.Null
        | (SqlType.Timestamp | SqlType.Date), Value.Long ms -> Json.Out.String(Time.formatInZone zone ms)
        | SqlType.Boolean, v -> Json.Out.Bool(Expr.isTruthy v)
        | _, Value.Array xs when stringifyArrays -> Json.Out.String(Json.Out.toText false (NativeJson.valueOut v))
        | _, v -> NativeJson.valueOut v
    let columns = result.Columns
    let names = columns |> List.map fst
    let rowCells (row: Value[]) = List.mapi (fun i (_, t) -> cell t (if i < row.Length then row.[i] else Value.Null)) columns
    let headerObject () =
        Json.Out.Object(
            columns |> List.map (fun (n, t) ->
                let parts =
                    [ if request.TypesHeader then "type", Json.Out.String t.NativeName
                      if request.SqlTypesHeader then "sqlType", Json.Out.String t.SqlName ]
                n, (if parts.IsEmpty then Json.Out.Null else Json.Out.Object parts)))
    let headerArrays () =
        [ yield names |> List.map Json.Out.String
          if request.TypesHeader then yield columns |> List.map (fun (_, t) -> Json.Out.String t.NativeName)
          if request.SqlTypesHeader then yield columns |> List.map (fun (_, t) -> Json.Out.String t.SqlName) ]
    let objects () = [ for row in result.Rows -> Json.Out.Object(List.zip names (rowCells row)) ]
    let arrays () = [ for row in result.Rows -> Json.Out.Array(rowCells row) ]
    match request.Format with
    | Object ->
        let items = (if request.Header then [ headerObject () ] else []) @ objects ()
        Json.Out.toText false (Json.Out.Array items) + "\n", "application/json"
    | Array ->
        let items = (if request.Header then headerArrays () |> List.map Json.Out.Array else []) @ arrays ()
        Json.Out.toText false (Json.Out.Array items) + "\n", "application/json"
    | ObjectLines ->
        let lines = (if request.Header then [ headerObject () ] else []) @ objects ()
        String.Join("", lines |> List.map (fun l -> Json.Out.toText false l + "\n")) + "\n", "text/plain"
    | ArrayLines ->
        let lines = (if request.Header then headerArrays () |> List.map Json.Out.Array else []) @ arrays ()
        String.Join("", lines |> List.map (fun l -> Json.Out.toText false l + "\n")) + "\n", "text/plain"
    | Csv ->
        let sb = StringBuilder()
        let line (cells: string list) = sb.Append(String.Join(",", cells |> List.map csvCell)).Append('\n') |> ignore
        if request.Header then
            for h in headerArrays () do line (h |> List.map (function Json.Out.String s -> s | _ -> ""))
        for row in result.Rows do
            line (rowCells row |> List.map (fun c ->
                match c with
                | Json.Out.Null -> ""
                | Json.Out.String s -> s
                | Json.Out.Bool b -> (if b then "true" else "false")
                | other -> Json.Out.toText false other))
        sb.Append('\n').ToString(), "text/csv"

/// Druid's DruidException error body: error, errorCode, persona, category, errorMessage, context.
let errorBody (errorCode: string) (category: string) (message: string) (context: (string * string) list) : string =
    Json.Out.toText false (
        Json.Out.Object
            [ "error", Json.Out.String "druidException"
              "errorCode", Json.Out.String errorCode
              "persona", Json.Out.String "USER"
              "category", Json.Out.String category
              "errorMessage", Json.Out.String message
              "context", Json.Out.Object(context |> List.map (fun (k, v) -> k, Json.Out.String v)) ])

/// Status code and body for a failure of a SQL request.
let errorOf (e: exn) : int * string =
    match e with
    | SqlEngine.SqlParseException p ->
        400, errorBody "invalidInput" "INVALID_INPUT" p.Message [ "sourceType", "sql"; "line", string p.Line; "column", string p.Column; "token", p.Token ]
    | SqlException("UNSUPPORTED", m) -> 501, errorBody "general" "UNSUPPORTED" m [ "sourceType", "sql" ]
    | SqlException(_, m) -> 400, errorBody "invalidInput" "INVALID_INPUT" m [ "sourceType", "sql" ]
    | Json.JsonError(path, problem) -> 400, errorBody "invalidInput" "INVALID_INPUT" (if String.IsNullOrEmpty path then problem else path + ": " + problem) []
    | ExprFunctions.FunctionError problem -> 400, errorBody "invalidInput" "INVALID_INPUT" problem [ "sourceType", "sql" ]
    | e -> 500, errorBody "general" "RUNTIME_FAILURE" (sprintf "%s: %s" (e.GetType().Name) e.Message) []
