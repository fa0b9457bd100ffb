/// The druid-it conformance corpus (shared/conformance/druid-it) turned into a plan: for each
/// batch and tutorial case of its manifest, the ingestion tasks and native queries this server
/// can run, in step order, and every step it cannot run yet with the reason. Results are
/// compared the way Druid's integration-test harness (QueryResultVerifier) compares them.
module FunctionalDruid.Tests.Conformance.DruidItCorpus

open System
open System.Globalization
open System.IO
open System.Numerics
open System.Text.Json
open System.Text.RegularExpressions
open FunctionalDruid.Core
open FunctionalDruid.Tests

let corpusRoot = Path.Combine(TestData.conformanceDir, "druid-it")

let private documentOptions = JsonDocumentOptions(CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)

let parseJson (text: string) = (JsonDocument.Parse(text, documentOptions)).RootElement

let private prop (e: JsonElement) (key: string) : JsonElement option =
    if e.ValueKind <> JsonValueKind.Object then None
    else
        match e.TryGetProperty key with
        | true, v when v.ValueKind <> JsonValueKind.Null -> Some v
        | _ -> None

let private str (e: JsonElement) (key: string) = prop e key |> Option.map (fun v -> v.GetString())
let private items (e: JsonElement) = [ for x in e.EnumerateArray() -> x ]
let private pairs (e: JsonElement option) =
    match e with
    | Some o when o.ValueKind = JsonValueKind.Object -> [ for p in o.EnumerateObject() -> p.Name, p.Value.GetString() ]
    | _ -> []

// ---- comparison (QueryResultVerifier) --------------------------------------------------------

/// Jackson reads an integral literal as Integer/Long and anything with a fraction or exponent as
/// Double, and Java's equals never makes the two kinds equal: 905 <> 905.0.
let private isIntegralLiteral (raw: string) = raw.IndexOfAny [| '.'; 'e'; 'E' |] < 0

/// Java Map.equals / List.equals over Jackson-parsed JSON: key order ignored, list order kept,
/// numbers equal only within the same kind.
let rec jsonEquals (a: JsonElement) (b: JsonElement) : bool =
    match a.ValueKind, b.ValueKind with
    | JsonValueKind.Object, JsonValueKind.Object ->
        let fa = [ for p in a.EnumerateObject() -> p.Name, p.Value ] |> Map.ofList
        let fb = [ for p in b.EnumerateObject() -> p.Name, p.Value ] |> Map.ofList
        fa.Count = fb.Count
        && fa |> Map.forall (fun k va -> match fb.TryFind k with Some vb -> jsonEquals va vb | None -> false)
    | JsonValueKind.Array, JsonValueKind.Array ->
        a.GetArrayLength() = b.GetArrayLength() && Seq.forall2 jsonEquals (a.EnumerateArray()) (b.EnumerateArray())
    | JsonValueKind.Number, JsonValueKind.Number ->
        let ra, rb = a.GetRawText(), b.GetRawText()
        match isIntegralLiteral ra, isIntegralLiteral rb with
        | true, true -> BigInteger.Parse(ra, CultureInfo.InvariantCulture) = BigInteger.Parse(rb, CultureInfo.InvariantCulture)
        | false, false ->
            // Double.equals compares bits.
            BitConverter.DoubleToInt64Bits(Double.Parse(ra, CultureInfo.InvariantCulture)) = BitConverter.DoubleToInt64Bits(Double.Parse(rb, CultureInfo.InvariantCulture))
        | _ -> false
    | JsonValueKind.String, JsonValueKind.String -> a.GetString() = b.GetString()
    | ka, kb -> ka = kb && (ka = JsonValueKind.True || ka = JsonValueKind.False || ka = JsonValueKind.Null)

/// One row compared as the harness does: whole maps, or only `fieldsToTest` when given. The
/// harness calls equals on the actual field's value, so a missing (or null) field fails.
let rowEquals (fieldsToTest: string list) (expected: JsonElement) (actual: JsonElement) =
    if fieldsToTest.IsEmpty then jsonEquals expected actual
    else
        let get (row: JsonElement) (f: string) =
            if row.ValueKind <> JsonValueKind.Object then None
            else match row.TryGetProperty f with | true, v when v.ValueKind <> JsonValueKind.Null -> Some v | _ -> None
        fieldsToTest |> List.forall (fun f ->
            match get expected f, get actual f with
            | Some e, Some a -> jsonEquals e a
            | _ -> false)

/// The first difference between expected and actual rows, compared row by row in order, or
/// None when they match.
let firstDifference (fieldsToTest: string list) (expected: JsonElement list) (actual: JsonElement list) : string option =
    let rec go i (es: JsonElement list) (acs: JsonElement list) =
        match es, acs with
        | [], [] -> None
        | e :: _, [] -> Some(sprintf "row %d missing (expected %d rows, got %d): expected %s" i expected.Length actual.Length (e.GetRawText()))
        | [], a :: _ -> Some(sprintf "extra row %d (expected %d rows, got %d): %s" i expected.Length actual.Length (a.GetRawText()))
        | e :: es, a :: acs ->
            if rowEquals fieldsToTest e a then go (i + 1) es acs
            else Some(sprintf "row %d differs%s\n  expected: %s\n  actual:   %s" i (if fieldsToTest.IsEmpty then "" else sprintf " in %A" fieldsToTest) (e.GetRawText()) (a.GetRawText()))
    go 0 expected actual

/// Canonical text of a JSON value (object keys sorted) for order-insensitive row matching.
let rec canonicalText (e: JsonElement) : string =
    match e.ValueKind with
    | JsonValueKind.Object ->
        let fields = [ for p in e.EnumerateObject() -> p.Name, p.Value ] |> List.sortBy fst
        "{" + String.Join(",", fields |> List.map (fun (k, v) -> JsonSerializer.Serialize k + ":" + canonicalText v)) + "}"
    | JsonValueKind.Array -> "[" + String.Join(",", [ for x in e.EnumerateArray() -> canonicalText x ]) + "]"
    | _ -> e.GetRawText()

// ---- substitution ----------------------------------------------------------------------------

/// Placeholders first (verbatim JSON fragments), then path prefixes, longest first.
let substitute (placeholders: (string * string) list) (paths: (string * string) list) (text: string) =
    let afterPlaceholders = placeholders |> List.fold (fun (t: string) (k, v) -> t.Replace(k, v)) text
    paths
    |> List.sortByDescending (fun (k, _) -> k.Length)
    |> List.fold (fun (t: string) (k, v) -> t.Replace(k, v.Replace("<CORPUS_ROOT>", corpusRoot))) afterPlaceholders

let private unresolved (text: string) =
    [ for m in Regex.Matches(text, "%%[A-Z_]+%%") -> m.Value ] |> List.distinct

// ---- plan ------------------------------------------------------------------------------------

/// Where a planned query is sent.
type QueryEndpoint =
    /// `POST /druid/v2` with a native query object.
    | Native
    /// `POST /druid/v2/sql` with a Druid SQL request object (query, resultFormat, context, parameters).
    | Sql
    member this.Path = match this with Native -> "/druid/v2" | Sql -> "/druid/v2/sql"

/// How the actual response is read into rows before comparing.
type ResponseRows =
    /// The response array's elements (native queries).
    | TopLevel
    /// The events of every scan batch, concatenated (SQL `SELECT *` translated to scan).
    | ScanEvents

type QueryCheck =
    { Title: string
      Endpoint: QueryEndpoint
      QueryText: string
      ExpectedText: string
      FieldsToTest: string list
      /// Compared as multisets (tutorial rows whose SQL had no ORDER BY).
      Unordered: bool
      Rows: ResponseRows }

type Action =
    | Submit of title: string * spec: string
    | Query of QueryCheck

type Planned =
    | Run of Action
    | NotRun of what: string * reason: string
    member this.IsQuery =
        match this with
        | Run(Query _) -> true
        | NotRun(what, _) -> what.Contains " query "
        | _ -> false

type CasePlan =
    { Name: string
      Kind: string
      Steps: Planned list
      /// Query files the case reads, once per step that reads them.
      QueryFiles: string list }

/// Query types the runner sends; a query whose type or feature the parser reports as not
/// supported yet is planned NOT RUN with that reason, so kinds land here before they work.
let supportedQueryTypes = [ "scan"; "timeseries"; "timeBoundary"; "search"; "segmentMetadata"; "dataSourceMetadata"; "topN"; "groupBy" ]

/// Parse errors that name something this server does not implement yet (as opposed to
/// rejecting valid input, which is a bug and must fail a test).
let private isGap (message: string) =
    let m = message.ToLowerInvariant()
    m.Contains "not supported" || m.Contains "unsupported" || m.Contains "unknown aggregator type" || m.Contains "unknown dimension type"

/// Diagnostic mode (DRUID_IT_WITHOUT_SKETCHES=1): datasketches-extension metrics are removed
/// from ingestion specs, so the rest of the wikipedia cases can be exercised before the
/// extension exists. Queries reading those metrics stay NOT RUN; the summary says so.
let withoutSketchMetrics = Environment.GetEnvironmentVariable "DRUID_IT_WITHOUT_SKETCHES" = "1"

let private specGap (specText: string) : string option =
    let gap (path: string) (msg: string) = if path = "" then msg else sprintf "%s: %s" path msg
    match IngestSpec.parseTaskText specText with
    | Ok _ -> None
    | Error(path, msg) when isGap msg -> Some(gap path msg)
    | Error _ ->
        // Another complaint may come first (e.g. a missing inputFormat that a druid input
        // source does not need); an input source this server cannot read is the real gap.
        let source =
            Json.run specText (fun root ->
                match Json.tryField root "spec" |> Option.bind (fun s -> Json.tryField s "ioConfig") |> Option.bind (fun io -> Json.tryField io "inputSource") with
                | Some n -> IngestSpec.parseInputSource n |> ignore
                | None -> ())
        match source with
        | Error(path, msg) when isGap msg -> Some(gap path msg)
        | _ -> None

let queryGap (queryText: string) : string option =
    let q = parseJson queryText
    match str q "queryType" with
    | Some qt when not (List.contains qt supportedQueryTypes) -> Some(sprintf "queryType %s not supported yet" qt)
    | _ ->
        match QueryParseSurface.parseText queryText with
        | Ok _ -> None
        | Error(path, msg) when isGap msg -> Some(if path = "" then msg else sprintf "%s: %s" path msg)
        | Error _ -> None

/// SQL this server cannot answer yet for a reason outside the SQL layer itself: (fragment of
/// the statement, case-insensitive, and the gap). Everything else is sent and must pass.
let private sqlGaps : (string * string) list =
    []

/// `SELECT *` statements whose SQL answer differs for a gap outside the runner: (fragment of the
/// statement, the gap). They keep the older check, a native scan of every column, so the
/// stored rows are still verified.
let private selectStarThroughNativeScan : (string * string) list =
    [ "nested_data_example", "SQL returns COMPLEX<json> values as serialized JSON strings; Druid returns nested JSON" ]

let sqlGap (sql: string) : string option =
    sqlGaps |> List.tryPick (fun (fragment, reason) -> if sql.IndexOf(fragment, StringComparison.OrdinalIgnoreCase) >= 0 then Some reason else None)

let private queryTitle (step: int) (file: string) (i: int) (q: JsonElement) (description: string option) =
    let qt = defaultArg (str q "queryType") "sql"
    sprintf "step %02d query %s #%d %s%s" step (Path.GetFileName file) i qt (match description with Some d -> " (" + d + ")" | None -> "")

/// The queries of a query file (native or SQL) with their expected rows.
let private queryFileChecks (step: int) (file: string) (text: string) (sql: bool) : Planned list =
    [ for i, entry in items (parseJson text) |> List.indexed do
        let query = (prop entry "query").Value
        let title = queryTitle step file i query (str entry "description")
        let expectedText = (prop entry "expectedResults").Value.GetRawText()
        let fieldsToTest = match prop entry "fieldsToTest" with Some f -> [ for x in f.EnumerateArray() -> x.GetString() ] | None -> []
        if sql || (prop query "queryType").IsNone then
            let sqlText = defaultArg (str query "query") ""
            match sqlGap sqlText with
            | Some reason -> yield NotRun(title, reason)
            | None ->
                // Sent as the file gives it: Druid's SqlQuery keeps query, resultFormat, context
                // and parameters, so an unknown key would be dropped there and is dropped here too.
                yield Run(Query { Title = title
                                  Endpoint = Sql
                                  QueryText = query.GetRawText()
                                  ExpectedText = expectedText
                                  FieldsToTest = fieldsToTest
                                  Unordered = false
                                  Rows = TopLevel })
        else
            let queryText = query.GetRawText()
            match queryGap queryText with
            | Some reason -> yield NotRun(title, reason)
            | None ->
                yield Run(Query { Title = title
                                  Endpoint = Native
                                  QueryText = queryText
                                  ExpectedText = expectedText
                                  FieldsToTest = fieldsToTest
                                  Unordered = false
                                  Rows = TopLevel }) ]

let private selectStar = Regex("""^\s*select\s+\*\s+from\s+"?([A-Za-z0-9_\-]+)"?\s*;?\s*$""", RegexOptions.IgnoreCase)

/// Expected SQL rows as native scan rows: `__time` as epoch millis instead of the ISO string.
let private sqlRowsAsScanRows (rows: JsonElement) =
    let row (r: JsonElement) =
        "{" + String.Join(",", [ for p in r.EnumerateObject() ->
                                    let v =
                                        if p.Name = "__time" && p.Value.ValueKind = JsonValueKind.String then
                                            string (DateTimeOffset.Parse(p.Value.GetString(), CultureInfo.InvariantCulture).ToUnixTimeMilliseconds())
                                        else p.Value.GetRawText()
                                    JsonSerializer.Serialize p.Name + ":" + v ]) + "}"
    "[" + String.Join(",", items rows |> List.map row) + "]"

/// Tutorial rows as the SQL API returns them: the docs print COMPLEX<json> values as serialized
/// JSON strings, which the HTTP API answers as nested JSON (the transcription note says to
/// compare them parsed), so those columns' strings are parsed into JSON.
let private tutorialExpectedRows (q: JsonElement) =
    let complexJsonColumns =
        match prop q "column_types" |> Option.bind (fun t -> prop t "druid"), prop q "expected_rows" with
        | Some types, Some rows when rows.GetArrayLength() > 0 ->
            let names = [ for p in (items rows).Head.EnumerateObject() -> p.Name ]
            let types = [ for t in types.EnumerateArray() -> t.GetString() ]
            if names.Length <> types.Length then Set.empty
            else List.zip names types |> List.filter (fun (_, t) -> t = "COMPLEX<json>") |> List.map fst |> Set.ofList
        | _ -> Set.empty
    let row (r: JsonElement) =
        "{" + String.Join(",", [ for p in r.EnumerateObject() ->
                                    let v =
                                        if complexJsonColumns.Contains p.Name && p.Value.ValueKind = JsonValueKind.String then p.Value.GetString()
                                        else p.Value.GetRawText()
                                    JsonSerializer.Serialize p.Name + ":" + v ]) + "}"
    "[" + String.Join(",", items (prop q "expected_rows").Value |> List.map row) + "]"

/// Tutorial expectations are SQL results, checked through `POST /druid/v2/sql` (object rows).
let private tutorialQueryChecks (step: string) (file: string) (queries: JsonElement list) : Planned list =
    [ for i, q in List.indexed queries do
        let sql = defaultArg (str q "sql") ""
        let oneLine = Regex.Replace(sql, @"\s+", " ").Trim()
        let title = sprintf "step %s query %s #%d sql [%s]" step (Path.GetFileName file) i (if oneLine.Length > 60 then oneLine.Substring(0, 60) + "..." else oneLine)
        let star = selectStar.Match sql
        let scanInstead = if star.Success then selectStarThroughNativeScan |> List.tryFind (fun (f, _) -> sql.Contains f) else None
        match sqlGap sql, scanInstead with
        | Some reason, _ -> yield NotRun(title, reason)
        | None, Some(_, gap) ->
            let scan =
                sprintf """{"queryType":"scan","dataSource":%s,"intervals":["0000-01-01/9999-01-01"],"resultFormat":"list"}""" (JsonSerializer.Serialize star.Groups.[1].Value)
            yield Run(Query { Title = sprintf "%s as native scan (__time as millis; not SQL because %s)" title gap
                              Endpoint = Native
                              QueryText = scan
                              ExpectedText = sqlRowsAsScanRows (prop q "expected_rows").Value
                              FieldsToTest = []
                              Unordered = not (prop q "order_sensitive" |> Option.exists (fun v -> v.ValueKind = JsonValueKind.True))
                              Rows = ScanEvents })
        | None, None ->
            yield Run(Query { Title = title
                              Endpoint = Sql
                              QueryText = JsonSerializer.Serialize(dict [ "query", sql ])
                              ExpectedText = tutorialExpectedRows q
                              FieldsToTest = []
                              Unordered = not (prop q "order_sensitive" |> Option.exists (fun v -> v.ValueKind = JsonValueKind.True))
                              Rows = TopLevel }) ]

let private readCorpus (relative: string) = File.ReadAllText(Path.Combine(corpusRoot, relative))

/// One manifest step as planned actions.
let private planStep (casePlaceholders: (string * string) list) (paths: (string * string) list) (index: int) (step: JsonElement) : Planned list * string option =
    let op = defaultArg (str step "op") "?"
    let stepPlaceholders = pairs (prop step "placeholders")
    let placeholders =
        stepPlaceholders
        @ (casePlaceholders |> List.filter (fun (k, v) -> not (stepPlaceholders |> List.exists (fun (sk, _) -> sk = k)) && not (v.Contains " ")))
    let load (relative: string) = substitute placeholders paths (readCorpus relative)
    let ingest (title: string) (specText: string) =
        let specText =
            if withoutSketchMetrics then
                let node = Nodes.JsonNode.Parse(specText, Nullable(), documentOptions)
                let ds = if isNull node.["spec"] then null else node.["spec"].["dataSchema"]
                let ms = if isNull ds then null else ds.["metricsSpec"]
                if not (isNull ms) then
                    let arr = ms.AsArray()
                    for i in arr.Count - 1 .. -1 .. 0 do
                        let t = arr.[i].["type"].GetValue<string>()
                        if t.Contains "Sketch" then arr.RemoveAt i
                node.ToJsonString()
            else specText
        match unresolved specText with
        | _ :: _ as missing -> [ NotRun(title, sprintf "unresolved placeholders %A" missing) ], Some "placeholders"
        | [] ->
            match specGap specText with
            | Some reason -> [ NotRun(title, reason) ], Some reason
            | None -> [ Run(Submit(title, specText)) ], None
    match op with
    | "submit_task" ->
        let spec = (str step "spec").Value
        ingest (sprintf "step %02d submit_task %s" index (Path.GetFileName spec)) (load spec)
    | "run_queries" | "run_sql_queries" ->
        let file = (str step "file").Value
        let text = load file
        match unresolved text with
        | _ :: _ as missing -> [ NotRun(sprintf "step %02d query file %s" index file, sprintf "unresolved placeholders %A" missing) ], None
        | [] -> queryFileChecks index file text (op = "run_sql_queries"), None
    | "run_expected_file" ->
        let file = (str step "file").Value
        tutorialQueryChecks (sprintf "%02d" index) file (items (prop (parseJson (readCorpus file)) "queries").Value), None
    | "run_expected_file_steps" ->
        let file = (str step "file").Value
        let doc = parseJson (readCorpus file)
        let mutable blocked = None
        let planned =
            [ match prop doc "steps" with
              | Some steps ->
                  for s in items steps do
                      let n = (prop s "step").Value.GetInt32()
                      let sub = sprintf "%d.%d" index n
                      let actions, block =
                          match prop s "ingest", str s "sql_ingest" with
                          | Some ing, _ ->
                              let spec = (str ing "spec").Value
                              ingest (sprintf "step %s submit_task %s" sub (Path.GetFileName spec)) (substitute placeholders paths (readCorpus spec))
                          | None, Some _ -> [ NotRun(sprintf "step %s sql ingestion" sub, "SQL-based ingestion (POST /druid/v2/sql/task) not supported yet") ], Some "SQL-based ingestion not supported yet"
                          | None, None -> [], None
                      let queries = tutorialQueryChecks sub file (items (prop s "queries").Value)
                      match blocked with
                      | Some reason -> yield! (actions @ queries) |> List.map (function Run(Query q) -> NotRun(q.Title, reason) | Run(Submit(t, _)) -> NotRun(t, reason) | other -> other)
                      | None ->
                          yield! actions
                          match block with
                          | Some r ->
                              let reason = sprintf "follows step %s, which cannot run: %s" sub r
                              yield! queries |> List.map (function Run(Query q) -> NotRun(q.Title, reason) | other -> other)
                              blocked <- Some reason
                          | None -> yield! queries
              | None ->
                  for ing in items (prop doc "ingest").Value do
                      match prop ing "native_spec_from_doc", prop ing "replace_input_source_with" with
                      | Some spec, Some source ->
                          let node = Nodes.JsonNode.Parse(spec.GetRawText())
                          node.["spec"].["ioConfig"].["inputSource"] <- Nodes.JsonNode.Parse(source.GetRawText().Replace("<CORPUS_ROOT>", corpusRoot))
                          let actions, block = ingest (sprintf "step %02d submit_task (spec from %s)" index (Path.GetFileName file)) (node.ToJsonString())
                          yield! actions
                          blocked <- block
                      | _ -> ()
                  let queries = tutorialQueryChecks (sprintf "%02d" index) file (items (prop doc "queries").Value)
                  match blocked with
                  | Some reason -> yield! queries |> List.map (function Run(Query q) -> NotRun(q.Title, "follows an ingestion that cannot run: " + reason) | other -> other)
                  | None -> yield! queries ]
        planned, None
    | "submit_sql_task" ->
        let reason = "SQL-based ingestion (POST /druid/v2/sql/task) not supported yet"
        [ NotRun(sprintf "step %02d submit_sql_task" index, reason) ], Some reason
    | "assert_segment_count" | "assert_intervals" | "assert_intervals_unchanged" | "assert_dimensions_exclude" ->
        // Checks outside query files: they do not change state, so later steps still run.
        [ NotRun(sprintf "step %02d %s" index op, "segment-metadata check not implemented by this runner") ], None
    | other ->
        let reason = sprintf "step op %s not supported yet" other
        [ NotRun(sprintf "step %02d %s" index other, reason) ], Some reason

/// Plans one manifest case. After a state-changing step that cannot run, every later step is
/// NOT RUN too: its expectations describe a state this server never reached.
let planCase (case: JsonElement) : CasePlan =
    let casePlaceholders = pairs (prop case "placeholders")
    let paths = pairs (prop case "path_substitutions")
    let mutable blocked: string option = None
    let steps =
        [ for index, step in items (prop case "steps" |> Option.defaultWith (fun () -> parseJson "[]")) |> List.indexed do
            let planned, block =
                try planStep casePlaceholders paths (index + 1) step
                with e -> [ NotRun(sprintf "step %02d" (index + 1), sprintf "could not be planned: %s" e.Message) ], Some e.Message
            match blocked with
            | Some reason -> yield! planned |> List.map (function Run(Query q) -> NotRun(q.Title, reason) | Run(Submit(t, _)) -> NotRun(t, reason) | NotRun(w, _) -> NotRun(w, reason))
            | None ->
                yield! planned
                blocked <- block |> Option.map (fun r -> sprintf "follows step %02d, which cannot run: %s" (index + 1) r) ]
    let steps =
        if steps.IsEmpty then
            let why = defaultArg (str case "notes") "the manifest lists no steps"
            [ NotRun("case", "no runnable steps: " + (if why.Length > 120 then why.Substring(0, 120) + "..." else why)) ]
        else steps
    let queryFiles =
        [ for step in items (prop case "steps" |> Option.defaultWith (fun () -> parseJson "[]")) do
            match str step "op" with
            | Some("run_queries" | "run_sql_queries" | "run_expected_file" | "run_expected_file_steps") -> yield (str step "file").Value
            | _ -> () ]
    { Name = (str case "name").Value; Kind = defaultArg (str case "kind") "?"; Steps = steps; QueryFiles = queryFiles }

/// Batch and tutorial cases of the manifest, in manifest order, and the manifest's count of
/// queries per query file.
let load () : CasePlan list * Map<string, int> =
    let manifest = parseJson (readCorpus "manifest.json")
    let cases =
        [ for c in items (prop manifest "cases").Value do
            match str c "kind" with
            | Some "batch" | Some "tutorial" -> yield planCase c
            | _ -> () ]
    let counts =
        match prop manifest "expected_query_counts" with
        | Some o -> [ for p in o.EnumerateObject() -> p.Name, p.Value.GetInt32() ] |> Map.ofList
        | None -> Map.empty
    cases, counts
