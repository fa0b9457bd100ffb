/// Runs the quidem corpus against a SQL endpoint and scores it: each `!ok` / `!error` case is
/// one POST to /druid/v2/sql, judged by QuidemCompare; the report has one line per file, the
/// totals over positive and negative cases and the failure reasons by case count.
///
/// What the corpus needs from the SQL layer — positive cases (of 3,129) using each feature, as
/// `featureHistogram` counts them (the conformance test prints the current figures):
///   by dataset: test_agg_funcs 1,725 cases (incl. negatives), test_array 1,334, test_unnest
///   538 (308 array flavour, 230 multi-value), classic tables 57, two custom tables 2;
///   clauses: WHERE 2038, subquery 1329, DISTINCT 927, IS [NOT] NULL 628, GROUP BY 627,
///   comma join with UNNEST 512 (UNNEST 355), WITH 274, IN list 142, ORDER BY 103, LIMIT 85,
///   OFFSET 82, IS TRUE/FALSE 72, GROUPING SETS/ROLLUP/CUBE 71, UNION ALL 49, HAVING 20,
///   BETWEEN 20, LIKE 20, CASE 19, FILTER (WHERE) 8, IN subquery 8, VALUES 8, JOIN..ON 4, OVER 2;
///   functions: COUNT 1198, STRING_AGG 966, ARRAY_AGG 624, JSON_VALUE 539 (536 with
///   RETURNING <type> ARRAY), ARRAY_TO_STRING 190, MV_TO_ARRAY 135, ARRAY_CONTAINS 132,
///   STRLEN 122, TRIM 96, ARRAY_LENGTH 92, LENGTH 85, ARRAY_CONCAT 74, LPAD/RPAD 64,
///   ARRAY_OVERLAP 60, CONTAINS_STRING 52, REPEAT/TEXTCAT 48, ARRAY_SLICE 44,
///   ARRAY_OFFSET_OF/ARRAY_ORDINAL_OF 40, ARRAY_APPEND 36, ARRAY_PREPEND, BTRIM, LTRIM, RTRIM,
///   CHARACTER_LENGTH, ICONTAINS_STRING, POSITION, REGEXP_EXTRACT, REGEXP_LIKE, REPLACE,
///   STRPOS, SUBSTRING 32 each, ARRAY_OFFSET/ARRAY_ORDINAL 24, JSON_QUERY 20, SUM 20, ...
/// Negative cases (527) mostly expect planning errors for joins on ARRAY/JSON columns
/// ("Cannot apply '=' ..."), unsupported join shapes ("not support"), run-time failures
/// (QueryInterruptedException, "size") and UNNEST of non-arrays.
module FunctionalDruid.Tests.Conformance.QuidemRunner

open System
open System.Collections.Generic
open System.Net.Http
open System.Text
open System.Text.Json.Nodes
open System.Text.RegularExpressions
open System.Threading
open System.Threading.Tasks
open FunctionalDruid.Tests.Conformance.QuidemFile
open FunctionalDruid.Tests.Conformance.QuidemCompare

/// An HTTP answer; Status 0 when no answer came (timeout, connection failure) with the reason in Body.
type SqlResponse = { Status: int; Body: string }

/// Sends one case's statement somewhere and returns the answer.
type Executor = QuidemCase -> Task<SqlResponse>

type Outcome =
    { Case: QuidemCase
      Passed: bool
      /// Failure category for the histogram ("" when passed).
      Reason: string
      Detail: string }

/// Server-side limit per statement (query context `timeout`, milliseconds).
let serverTimeoutMillis = 20000
/// Client-side limit per statement, so a hang cannot stall the run.
let clientTimeout = TimeSpan.FromSeconds 60.0

let private typedSetting (value: string) : JsonNode =
    match value with
    | "true" -> JsonValue.Create true
    | "false" -> JsonValue.Create false
    | v ->
        match Int64.TryParse v with
        | true, n -> JsonValue.Create n
        | _ -> JsonValue.Create v

/// The SQL API request for a case: array rows with the column-name and SQL-type header rows,
/// the file's `!set` values as query context.
let requestBody (case: QuidemCase) : string =
    let context = JsonObject()
    for name, value in case.Settings do context.[name] <- typedSetting value
    context.["timeout"] <- JsonValue.Create serverTimeoutMillis
    let body = JsonObject()
    body.["query"] <- JsonValue.Create case.Sql
    body.["resultFormat"] <- JsonValue.Create "array"
    body.["header"] <- JsonValue.Create true
    body.["sqlTypesHeader"] <- JsonValue.Create true
    body.["context"] <- context
    body.ToJsonString()

/// POSTs cases to /druid/v2/sql through the client.
let httpExecutor (client: HttpClient) : Executor =
    fun case ->
        task {
            use cancel = new CancellationTokenSource(clientTimeout)
            try
                use content = new StringContent(requestBody case, Encoding.UTF8, "application/json")
                use! response = client.PostAsync("/druid/v2/sql", content, cancel.Token)
                let! text = response.Content.ReadAsStringAsync(cancel.Token)
                return { Status = int response.StatusCode; Body = text }
            with
            | :? OperationCanceledException -> return { Status = 0; Body = sprintf "no answer within %.0f s" clientTimeout.TotalSeconds }
            | e -> return { Status = 0; Body = e.GetBaseException().Message }
        }

let private truncate (limit: int) (s: string) = if s.Length <= limit then s else s.Substring(0, limit) + "…"

/// An error message reduced to what groups alike failures: first line, no positions.
let normalizeMessage (message: string) =
    let firstLine = (message.Split('\n').[0]).Trim()
    let noPositions = Regex.Replace(firstLine, @"\s*\(?(at )?line \[?\d+\]?, column \[?\d+\]?\)?", "")
    truncate 110 (Regex.Replace(noPositions, @"\s+", " "))

/// Judges one answer against the case's expectation.
let judge (case: QuidemCase) (response: SqlResponse) : Outcome =
    let pass = { Case = case; Passed = true; Reason = ""; Detail = "" }
    let fail reason detail = { Case = case; Passed = false; Reason = reason; Detail = detail }
    let body = response.Body
    match case.Expect with
    | _ when response.Status = 0 -> fail ("no answer: " + normalizeMessage body) body
    | _ when response.Status <> 200 && not (isDruidError body) ->
        fail (sprintf "SQL endpoint HTTP %d" response.Status) (truncate 2000 body)
    | ResultTable table ->
        if response.Status <> 200 then fail ("query error: " + normalizeMessage (errorMessage body)) (truncate 4000 body)
        else
            match parseArrayResult body with
            | Error problem -> fail ("malformed response: " + problem) (truncate 4000 body)
            | Ok actual ->
                let ordering = match topLevelOrderBy case.Sql with Some items -> SortedBy items | None -> AnyOrder
                match compareTable table ordering actual with
                | None -> pass
                | Some mismatch -> fail mismatch.Category mismatch.Detail
    | ErrorContaining expected ->
        if response.Status = 200 then fail "negative: query succeeded" (truncate 2000 body)
        elif errorMatches response.Status body expected then pass
        else fail (sprintf "negative: error lacks '%s'" (truncate 60 expected)) (errorMessage body |> truncate 2000)

/// Runs cases with at most `parallelism` in flight; `blocked` names a reason not to run a case
/// (a table it reads failed to load). Outcomes come back in case order.
let runCases (parallelism: int) (executorOf: QuidemCase -> Executor) (blocked: QuidemCase -> string option)
             (cases: QuidemCase[]) : Outcome[] =
    use gate = new SemaphoreSlim(parallelism)
    let one (case: QuidemCase) : Task<Outcome> =
        task {
            match blocked case with
            | Some reason -> return { Case = case; Passed = false; Reason = reason; Detail = reason }
            | None ->
                do! gate.WaitAsync()
                try
                    try
                        let! response = executorOf case case
                        return judge case response
                    with e -> return { Case = case; Passed = false; Reason = "runner: " + e.GetType().Name; Detail = string e }
                finally
                    gate.Release() |> ignore
        }
    (Task.WhenAll(cases |> Array.map one)).Result

// ---- report ------------------------------------------------------------------------------

type Totals = { Positive: int; PositivePassed: int; Negative: int; NegativePassed: int }

let totalsOf (outcomes: Outcome seq) =
    let isPositive (o: Outcome) = match o.Case.Expect with ResultTable _ -> true | ErrorContaining _ -> false
    let all = Array.ofSeq outcomes
    { Positive = all |> Array.filter isPositive |> Array.length
      PositivePassed = all |> Array.filter (fun o -> isPositive o && o.Passed) |> Array.length
      Negative = all |> Array.filter (isPositive >> not) |> Array.length
      NegativePassed = all |> Array.filter (fun o -> not (isPositive o) && o.Passed) |> Array.length }

/// `quidem <file>: P/N passed (E errors expected: Q passed)` for one file.
let fileLine (file: string) (outcomes: Outcome seq) =
    let t = totalsOf outcomes
    sprintf "quidem %s: %d/%d passed (%d errors expected: %d passed)" (QuidemCorpus.shortName file) t.PositivePassed t.Positive t.Negative t.NegativePassed

/// The closing lines: totals against the corpus totals, then the top failure reasons.
let totalLines (positiveTotal: int) (negativeTotal: int) (topReasons: int) (outcomes: Outcome seq) =
    let all = Array.ofSeq outcomes
    let t = totalsOf all
    let reasons =
        all |> Array.filter (fun o -> not o.Passed) |> Array.countBy (fun o -> o.Reason)
        |> Array.sortBy (fun (r, n) -> -n, r) |> Array.truncate topReasons
    [ yield sprintf "quidem: %d/%d positive, %d/%d negative passed" t.PositivePassed positiveTotal t.NegativePassed negativeTotal
      if reasons.Length > 0 then
          yield "quidem top failure reasons (cases):"
          for reason, n in reasons do yield sprintf "  %5d  %s" n reason ]

/// Every failed case with its statement and details, for the report file.
let failureReport (outcomes: Outcome seq) =
    let text = StringBuilder()
    for o in outcomes do
        if not o.Passed then
            let expectation =
                match o.Case.Expect with
                | ErrorContaining text -> "expected an error containing: " + text
                | ResultTable t ->
                    sprintf "expected %d rows: %s\n  %s" t.Rows.Length (String.Join(" | ", t.Columns))
                        (String.Join("\n  ", t.Rows |> Array.truncate 10 |> Array.map (fun r -> String.Join(" | ", r))))
            text.AppendFormat("=== {0}:{1}  [{2}]\n{3}\n--- {4}\n--- {5}\n\n", o.Case.File, o.Case.Line, o.Reason, o.Case.Sql, expectation, o.Detail) |> ignore
    text.ToString()

// ---- features ----------------------------------------------------------------------------

let private keywordsBeforeParen =
    set [ "SELECT"; "FROM"; "WHERE"; "IN"; "AS"; "VALUES"; "OVER"; "EXISTS"; "AND"; "OR"; "NOT"; "ON"; "JOIN"
          "USING"; "ALL"; "ANY"; "SOME"; "BY"; "FILTER"; "WITHIN"; "WITH"; "UNNEST"; "ROLLUP"; "CUBE"; "SETS"; "THEN"
          "ELSE"; "WHEN"; "CASE"; "UNION"; "LIMIT"; "OFFSET"; "HAVING"; "DISTINCT"; "LATERAL"; "TABLE"; "ROW"; "ARRAY" ]

let private clauseFeatures =
    [ "subquery", @"\(\s*SELECT\b"
      "WHERE", @"\bWHERE\b"
      "GROUP BY", @"\bGROUP\s+BY\b"
      "GROUPING SETS/ROLLUP/CUBE", @"\bGROUPING\s+SETS\b|\bROLLUP\s*\(|\bCUBE\s*\("
      "HAVING", @"\bHAVING\b"
      "ORDER BY", @"\bORDER\s+BY\b"
      "LIMIT", @"\bLIMIT\b"
      "OFFSET", @"\bOFFSET\b"
      "UNION ALL", @"\bUNION\s+ALL\b"
      "WITH (CTE)", @"^\s*WITH\b"
      "JOIN ... ON", @"\bJOIN\b[^;]*?\bON\b"
      "comma/CROSS JOIN", @"\bCROSS\s+JOIN\b|\bFROM\s+[A-Z_0-9""]+(\s+(AS\s+)?[A-Z_0-9]+)?\s*,"
      "UNNEST", @"\bUNNEST\s*\("
      "window (OVER)", @"\bOVER\s*\("
      "DISTINCT", @"\bDISTINCT\b"
      "CASE", @"\bCASE\b"
      "IS [NOT] NULL", @"\bIS\s+(NOT\s+)?NULL\b"
      "IS [NOT] TRUE/FALSE", @"\bIS\s+(NOT\s+)?(TRUE|FALSE)\b"
      "IN list", @"\bIN\s*\(\s*[^S\s]"
      "IN subquery", @"\bIN\s*\(\s*SELECT\b"
      "LIKE", @"\bLIKE\b"
      "BETWEEN", @"\bBETWEEN\b"
      "VALUES", @"\bVALUES\b"
      "FILTER (WHERE)", @"\bFILTER\s*\(\s*WHERE\b"
      "RETURNING <type> ARRAY", @"\bRETURNING\s+\w+\s+ARRAY\b"
      "OR", @"\bOR\b"
      "AND", @"\bAND\b"
      "NOT", @"\bNOT\b(?!\s+NULL)" ]
    |> List.map (fun (name, pattern) -> name, Regex(pattern, RegexOptions.Compiled ||| RegexOptions.Singleline))

// `AS u(c)` names a relation's columns; it is no call.
let private functionCall = Regex(@"(?<!\bAS\s+)\b([A-Z_][A-Z0-9_]*)\s*\(", RegexOptions.Compiled)

/// The features each statement uses: clause shapes and function names.
let featuresOf (sql: string) : Set<string> =
    let text = Regex.Replace(sql, @"--[^\n]*|'(?:[^']|'')*'|""(?:[^""]|"""")*""", " ").ToUpperInvariant()
    let clauses = clauseFeatures |> List.filter (fun (_, r) -> r.IsMatch text) |> List.map fst
    let functions =
        [ for m in functionCall.Matches text do
            let name = m.Groups.[1].Value
            if not (keywordsBeforeParen.Contains name) then yield name + "()" ]
    Set.ofList (clauses @ functions)

/// Cases using each feature, most used first.
let featureHistogram (sqls: string seq) : (string * int) list =
    sqls |> Seq.collect featuresOf |> Seq.countBy id |> Seq.sortBy (fun (f, n) -> -n, f) |> List.ofSeq
