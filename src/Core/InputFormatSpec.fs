/// The ingestion-spec side of input formats: `inputFormat` objects and the legacy
/// `parser`/`parseSpec` forms, validated with Druid's messages into Input's format model.
module FunctionalDruid.Core.InputFormatSpec

open System
open System.Collections.Generic
open FunctionalDruid.Core.Input
open FunctionalDruid.Core.JsonPath

let private inputFormatClass = "org.apache.druid.data.input.InputFormat"

/// `fields` entries: a bare string is a root field.
let private parseFlattenField (n: Json.Node) : FlattenField =
    if Json.isString n then
        let name = Json.asString n
        { Type = FlattenFieldType.Root; Name = name; Expr = name; Steps = [| PathStep.Field name |] }
    else
        let n = Json.expectObject n
        let name =
            match Json.optString n "name" with
            | Some s -> s
            | None -> Json.fail n "Missing 'name' in field spec"
        let fieldType =
            match Json.optString n "type" with
            | None -> Json.fail n (sprintf "Missing 'type' for field[%s]" name)
            | Some t ->
                match t.ToUpperInvariant() with
                | "ROOT" -> FlattenFieldType.Root
                | "PATH" -> FlattenFieldType.Path
                | "JQ" -> FlattenFieldType.Jq
                | "TREE" -> FlattenFieldType.Tree
                | up -> Json.fail (Json.field n "type") (sprintf "No enum constant org.apache.druid.java.util.common.parsers.JSONPathFieldType.%s" up)
        let requiredExpr () =
            match Json.optString n "expr" with
            | Some e -> e
            | None -> Json.fail n (sprintf "Missing 'expr' for field[%s]" name)
        let compiled (parser: string -> Result<PathStep[], string>) (expr: string) =
            match parser expr with
            | Ok steps -> steps
            | Error e -> Json.fail (Json.field n "expr") e
        match fieldType with
        | FlattenFieldType.Root ->
            let expr = defaultArg (Json.optString n "expr") name
            { Type = fieldType; Name = name; Expr = expr; Steps = [| PathStep.Field expr |] }
        | FlattenFieldType.Path ->
            let expr = requiredExpr ()
            { Type = fieldType; Name = name; Expr = expr; Steps = compiled parseJsonPath expr }
        | FlattenFieldType.Jq ->
            let expr = requiredExpr ()
            { Type = fieldType; Name = name; Expr = expr; Steps = compiled parseJqPath expr }
        | FlattenFieldType.Tree ->
            match Json.optStringList n "nodes" with
            | Some nodes when not nodes.IsEmpty ->
                { Type = fieldType; Name = name; Expr = String.Join(".", nodes); Steps = nodes |> List.map PathStep.Field |> List.toArray }
            | other ->
                let shown = match other with Some _ -> "[]" | None -> "null"
                Json.fail n (sprintf "Missing 'nodes' for field[%s], was [%s]" name shown)

let parseFlattenSpec (n: Json.Node) : FlattenSpec =
    let n = Json.expectObject n
    let fields =
        match Json.tryField n "fields" with
        | None -> []
        | Some fs -> Json.elements fs |> List.map (fun f -> f, parseFlattenField f)
    let seen = HashSet<string>()
    for node, f in fields do
        if not (seen.Add f.Name) then Json.fail node (sprintf "Cannot have duplicate field definition: %s" f.Name)
    { UseFieldDiscovery = Json.boolOr n "useFieldDiscovery" true; Fields = fields |> List.map snd }

let private parseFeatureSpec (n: Json.Node) =
    match Json.tryField n "featureSpec" with
    | None -> false, false
    | Some f ->
        let flag key = Json.tryField f key |> Option.map Json.asBool |> Option.defaultValue false
        flag "ALLOW_COMMENTS", flag "ALLOW_TRAILING_COMMA"

let private parseJsonFormat (n: Json.Node) (keepNullDefault: bool option) : JsonFormat =
    let flatten = Json.tryField n "flattenSpec" |> Option.map parseFlattenSpec
    if Json.boolOr n "assumeNewlineDelimited" false && Json.boolOr n "useJsonNodeReader" false then
        Json.fail n "useJsonNodeReader cannot be set to true when assumeNewlineDelimited is true."
    let comments, trailing = parseFeatureSpec n
    let keepNull =
        match Json.optBool n "keepNullColumns", keepNullDefault with
        | Some k, _ -> k
        | None, Some d -> d
        | None, None -> match flatten with Some f -> f.UseFieldDiscovery | None -> false
    { FlattenSpec = flatten; KeepNullColumns = keepNull; AllowComments = comments; AllowTrailingCommas = trailing }

let private checkDuplicateColumns (n: Json.Node) (columns: string list) =
    let dups = columns |> List.countBy id |> List.filter (fun (_, c) -> c > 1) |> List.map fst
    if not dups.IsEmpty then
        Json.fail (Json.field n "columns") (sprintf "Duplicate column entries found : [%s]" (String.Join(", ", dups)))

/// csv and tsv `inputFormat`s, validated as Druid's FlatTextInputFormat does.
let private parseDelimitedFormat (n: Json.Node) (delimiter: string) : DelimitedFormat =
    let columns = defaultArg (Json.optStringList n "columns") []
    let listDelimiter = Json.optString n "listDelimiter"
    let hasHeaderRow = Json.optBool n "hasHeaderRow"
    let findFromHeaderGiven = Json.optBool n "findColumnsFromHeader"
    let findFromHeader =
        if columns.IsEmpty then
            match hasHeaderRow, findFromHeaderGiven with
            | Some _, Some _ -> Json.fail n "Cannot accept both [findColumnsFromHeader] and [hasHeaderRow]"
            | None, None -> Json.fail n "Either [columns] or [findColumnsFromHeader] must be set"
            | Some h, None -> h
            | None, Some f -> f
        else defaultArg findFromHeaderGiven false
    if listDelimiter = Some delimiter then
        Json.fail (Json.field n "listDelimiter") (sprintf "Cannot have same delimiter and list delimiter of [%s]" delimiter)
    if columns.IsEmpty then
        if not findFromHeader then
            Json.fail n "If [columns] is not set, the first row of your data must have your header and [findColumnsFromHeader] must be set to true."
    else
        columns |> List.iteri (fun i c ->
            if c.Contains delimiter then
                Json.fail (Json.ofElement ((Json.field n "columns").El.[i]) (Json.indexPath (Json.childPath n.Path "columns") i))
                    (sprintf "Column[%s] cannot have the delimiter[%s] in its name" c delimiter))
        checkDuplicateColumns n columns
    { Columns = columns
      Delimiter = delimiter
      ListDelimiter = defaultArg listDelimiter defaultListDelimiter
      FindColumnsFromHeader = findFromHeader
      SkipHeaderRows = max 0 (Json.intOr n "skipHeaderRows" 0)
      TryParseNumbers = Json.boolOr n "tryParseNumbers" false }

/// The `inputFormat` object of an ingestion spec.
let parseInputFormat (node: Json.Node) : InputFormat =
    let n = Json.expectObject node
    match Json.optString n "type" with
    | None ->
        Json.fail n (sprintf "Missing type id when trying to resolve subtype of [simple type, class %s]: missing type id property 'type'" inputFormatClass)
    | Some "json" -> InputFormat.Json(parseJsonFormat n None)
    | Some "csv" -> InputFormat.Csv(parseDelimitedFormat n ",")
    | Some "tsv" -> InputFormat.Tsv(parseDelimitedFormat n (Json.stringOr n "delimiter" "\t"))
    | Some other ->
        Json.fail (Json.field n "type")
            (sprintf "Could not resolve type id '%s' as a subtype of `%s`: known type ids = [csv, json, tsv]" other inputFormatClass)

/// The format-related parts of a legacy `parseSpec` (json, csv, tsv).
let parseLegacyParseSpec (node: Json.Node) : InputFormat =
    let n = Json.expectObject node
    let legacyDelimited (delimiter: string) =
        let columns = Json.optStringList n "columns"
        let hasHeaderRow = Json.boolOr n "hasHeaderRow" false
        match columns with
        | Some cols ->
            cols |> List.iter (fun c ->
                if c.Contains "," then Json.fail (Json.field n "columns") (sprintf "Column[%s] has a comma, it cannot" c))
            checkDuplicateColumns n cols
        | None ->
            if not hasHeaderRow then
                Json.fail n "If columns field is not set, the first row of your data must have your header and hasHeaderRow must be set to true."
        { Columns = defaultArg columns []
          Delimiter = delimiter
          ListDelimiter = Json.stringOr n "listDelimiter" defaultListDelimiter
          FindColumnsFromHeader = hasHeaderRow
          SkipHeaderRows = max 0 (Json.intOr n "skipHeaderRows" 0)
          TryParseNumbers = Json.boolOr n "shouldParseNumbers" false }
    match Json.optString n "format" with
    | None ->
        Json.fail n "Missing type id when trying to resolve subtype of [simple type, class org.apache.druid.data.input.impl.ParseSpec]: missing type id property 'format'"
    | Some "json" -> InputFormat.Json(parseJsonFormat n (Some(Json.boolOr n "keepNullColumns" false)))
    | Some "csv" -> InputFormat.Csv(legacyDelimited ",")
    | Some "tsv" -> InputFormat.Tsv(legacyDelimited (Json.stringOr n "delimiter" "\t"))
    | Some other ->
        Json.fail (Json.field n "format")
            (sprintf "Could not resolve type id '%s' as a subtype of `org.apache.druid.data.input.impl.ParseSpec`: known type ids = [csv, json, tsv]" other)

/// A legacy `parser` (`string`, the default, or `hadoopyString`): its `parseSpec`'s format.
let parseParser (node: Json.Node) : InputFormat =
    let n = Json.expectObject node
    match Json.stringOr n "type" "string" with
    | "string" | "hadoopyString" -> parseLegacyParseSpec (Json.field n "parseSpec")
    | other ->
        Json.fail (Json.field n "type")
            (sprintf "Could not resolve type id '%s' as a subtype of `org.apache.druid.data.input.impl.InputRowParser`: known type ids = [hadoopyString, string]" other)
