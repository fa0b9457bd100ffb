/// Reads Druid's quidem `.iq` files (../shared/conformance/quidem, see its README): connection
/// blocks, settings, SQL statements and the expectation that follows each one — a MySQL-style
/// result table for `!ok`, an error text for `!error`. Plan directives are counted, not read.
module FunctionalDruid.Tests.Conformance.QuidemFile

open System
open System.Text.RegularExpressions

type Alignment =
    | LeftAligned
    | RightAligned
    /// Every cell fills its column, so the padding does not tell.
    | Unknown

/// An expected result table. Cells are trimmed of their padding; NULL and '' both read as "".
type ExpectedTable =
    { Columns: string[]
      Rows: string[][]
      /// Right-aligned columns are numeric in Druid's printer; the fake server uses this.
      Alignments: Alignment[] }

type Expectation =
    | ResultTable of ExpectedTable
    /// The statement must fail with a message (or Java class name) containing this text.
    | ErrorContaining of string

type QuidemCase =
    { File: string
      /// 1-based line of the `!ok` / `!error` directive.
      Line: int
      /// The statement without its closing `;` (Quidem strips it before executing).
      Sql: string
      /// `!set` values in force (outputformat excluded), later settings override earlier ones.
      /// In Druid a `!set` before `!use` is a connection property and after it a query context
      /// value, but every name the corpus sets is a query context key, so all go to the context.
      Settings: (string * string) list
      /// `datasets=` folders of the `!use` in force (repository paths).
      Datasets: string list
      Expect: Expectation }

type ParsedFile =
    { Path: string
      Cases: QuidemCase list
      /// Counts of the directives other than `!ok` / `!error` (`!use`, `!set`, plan dumps).
      OtherDirectives: Map<string, int> }

exception QuidemParseError of file: string * line: int * problem: string

let private planDirectives =
    set [ "!nativePlan"; "!druidPlan"; "!logicalPlan"; "!convertedPlan"; "!plan"; "!hints"; "!msqPlan" ]

/// The `datasets` folders named by a `!use druidtest://?...` URL.
let datasetsOfUse (url: string) : string list =
    match url.IndexOf '?' with
    | -1 -> []
    | q ->
        url.Substring(q + 1).Split('&', StringSplitOptions.RemoveEmptyEntries)
        |> Array.choose (fun kv ->
            match kv.Split('=', 2) with
            | [| "datasets"; v |] -> Some v
            | _ -> None)
        |> Array.collect (fun v -> v.Split(',', StringSplitOptions.RemoveEmptyEntries))
        |> List.ofArray

let private borderPattern = Regex(@"^\+(-+\+)+$", RegexOptions.Compiled)
let private footerPattern = Regex(@"^\((\d+) rows?\)$", RegexOptions.Compiled)

/// Parses a MySQL-style result table (non-blank lines, footer included). Cells are cut at the
/// border's `+` positions, not at `|`, because values such as STRING_AGG(x, '|') contain bars.
let parseTable (lines: string list) : Result<ExpectedTable, string> =
    let lines = lines |> List.filter (fun l -> l.Trim() <> "") |> Array.ofList
    if lines.Length < 5 then Error(sprintf "a result table needs at least 5 lines, got %d" lines.Length)
    elif not (borderPattern.IsMatch lines.[0]) then Error(sprintf "first line is not a border: %s" lines.[0])
    else
        let border = lines.[0]
        let bars = [| for i in 0 .. border.Length - 1 do if border.[i] = '+' then i |]
        let columnCount = bars.Length - 1
        let cutRow (line: string) : Result<string[], string> =
            let fits = line.Length = border.Length && bars |> Array.forall (fun p -> line.[p] = '|')
            if not fits then Error(sprintf "row does not fit the border's columns: %s" line)
            else Ok [| for c in 0 .. columnCount - 1 -> line.Substring(bars.[c] + 1, bars.[c + 1] - bars.[c] - 1) |]
        let footer = footerPattern.Match lines.[lines.Length - 1]
        if lines.[2] <> border || lines.[lines.Length - 2] <> border then Error "header or closing border missing"
        elif not footer.Success then Error(sprintf "last line is not a row count: %s" lines.[lines.Length - 1])
        else
            // An empty result has no second border after the header: header, border, border, footer.
            let body = if lines.Length = 5 then [||] else lines.[3 .. lines.Length - 3]
            let count = int footer.Groups.[1].Value
            let cut = Array.append [| lines.[1] |] body |> Array.map cutRow
            match cut |> Array.tryPick (function Error e -> Some e | Ok _ -> None) with
            | Some e -> Error e
            | None ->
                let cells = cut |> Array.map (function Ok c -> c | Error _ -> [||])
                let raw = cells.[1..]
                if raw.Length <> count then Error(sprintf "footer says %d rows, table has %d" count raw.Length)
                else
                    let alignment (c: int) =
                        let padded = raw |> Array.map (fun r -> r.[c]) |> Array.filter (fun s -> s.Trim() <> "")
                        if padded |> Array.exists (fun s -> s.StartsWith "  ") then RightAligned
                        elif padded |> Array.exists (fun s -> s.EndsWith "  ") then LeftAligned
                        else Unknown
                    Ok { Columns = cells.[0] |> Array.map (fun s -> s.Trim())
                         Rows = raw |> Array.map (Array.map (fun s -> s.Trim()))
                         Alignments = Array.init columnCount alignment }

/// Splits a file into cases. Non-directive lines accumulate until a directive; for `!ok`,
/// `!error` and plan directives the accumulated lines up to the first one ending in `;` are a
/// new statement and the rest is the directive's block — without such a line the block belongs
/// to the previous statement (a table after a plan, a plan after a table).
let parse (path: string) (text: string) : ParsedFile =
    let lines = text.Split('\n')
    let cases = ResizeArray<QuidemCase>()
    let others = Collections.Generic.Dictionary<string, int>()
    let count (d: string) = others.[d] <- (match others.TryGetValue d with | true, n -> n + 1 | _ -> 1)
    let pending = ResizeArray<string>()
    let mutable settings: (string * string) list = []
    let mutable datasets: string list = []
    let mutable statement: string option = None
    let fail (lineNo: int) (problem: string) = raise (QuidemParseError(path, lineNo, problem))
    for index in 0 .. lines.Length - 1 do
        let line = lines.[index].TrimEnd('\r')
        let lineNo = index + 1
        if line.StartsWith "!" then
            let directive, argument =
                match line.IndexOf ' ' with
                | -1 -> line, ""
                | i -> line.Substring(0, i), line.Substring(i + 1).Trim()
            match directive with
            | "!use" ->
                count directive
                if pending |> Seq.exists (fun l -> l.Trim() <> "") then fail lineNo "text before !use belongs to no directive"
                pending.Clear()
                datasets <- datasetsOfUse argument
            | "!set" ->
                count directive
                match argument.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries) with
                | [| name; value |] ->
                    if name <> "outputformat" then
                        settings <- (settings |> List.filter (fun (n, _) -> n <> name)) @ [ name, value.Trim() ]
                | _ -> fail lineNo (sprintf "!set needs a name and a value: %s" line)
            | _ when directive = "!ok" || directive = "!error" || planDirectives.Contains directive ->
                let firstEnd = pending |> Seq.tryFindIndex (fun l -> l.TrimEnd().EndsWith ";")
                let block =
                    match firstEnd with
                    | Some e ->
                        let sqlLines = pending |> Seq.take (e + 1) |> Seq.skipWhile (fun l -> l.Trim() = "") |> Array.ofSeq
                        let sql = String.Join("\n", sqlLines).TrimEnd()
                        statement <- Some(sql.Substring(0, sql.Length - 1).TrimEnd())
                        pending |> Seq.skip (e + 1) |> List.ofSeq
                    | None -> List.ofSeq pending
                pending.Clear()
                let sql () = match statement with Some s -> s | None -> fail lineNo (directive + " before any statement")
                let case expect = cases.Add { File = path; Line = lineNo; Sql = sql (); Settings = settings; Datasets = datasets; Expect = expect }
                match directive with
                | "!ok" ->
                    match parseTable block with
                    | Ok table -> case (ResultTable table)
                    | Error problem -> fail lineNo problem
                | "!error" ->
                    let text = block |> List.map (fun l -> l.Trim()) |> List.filter (fun l -> l <> "")
                    if text.IsEmpty then fail lineNo "!error without an expected text"
                    case (ErrorContaining(String.Join("\n", text)))
                | _ -> count directive
            | _ -> fail lineNo (sprintf "unsupported directive %s" directive)
        elif line.StartsWith "#" then ()
        elif line.Trim() = "" then (if pending.Count > 0 then pending.Add line)
        else pending.Add line
    if pending |> Seq.exists (fun l -> l.Trim() <> "") then fail lines.Length "text after the last directive"
    { Path = path; Cases = List.ofSeq cases; OtherDirectives = others |> Seq.map (fun kv -> kv.Key, kv.Value) |> Map.ofSeq }

let private stripForScan (sql: string) =
    // Literals, quoted identifiers and comments cannot hold clauses; blank them out.
    Regex.Replace(sql, @"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|""(?:[^""]|"""")*""", " ", RegexOptions.Singleline)

/// The sort items of the statement's final ORDER BY (outside every parenthesis), without
/// ASC/DESC/NULLS, or None when the final result is not sorted. Only then is row order
/// compared (the corpus README allows multiset comparison otherwise).
let topLevelOrderBy (sql: string) : string list option =
    let text = stripForScan sql
    let mutable depth = 0
    let mutable start = -1
    for m in Regex.Matches(text, @"\(|\)|\bORDER\s+BY\b", RegexOptions.IgnoreCase) do
        match m.Value with
        | "(" -> depth <- depth + 1
        | ")" -> depth <- depth - 1
        | _ -> if depth = 0 then start <- m.Index + m.Length
    if start < 0 then None
    else
        // The clause ends at LIMIT / OFFSET / FETCH at depth 0, or at the end.
        let items = ResizeArray<string>()
        let current = Text.StringBuilder()
        let mutable level = 0
        let mutable stop = false
        let mutable i = start
        while not stop && i < text.Length do
            let c = text.[i]
            if level = 0 && Regex.IsMatch(text.Substring i, @"^\b(LIMIT|OFFSET|FETCH)\b", RegexOptions.IgnoreCase)
               && (i = 0 || not (Char.IsLetterOrDigit text.[i - 1] || text.[i - 1] = '_')) then stop <- true
            else
                match c with
                | '(' -> level <- level + 1; current.Append c |> ignore
                | ')' -> level <- level - 1; current.Append c |> ignore
                | ',' when level = 0 -> items.Add(current.ToString()); current.Clear() |> ignore
                | _ -> current.Append c |> ignore
                i <- i + 1
        items.Add(current.ToString())
        items
        |> Seq.map (fun item -> Regex.Replace(item.Trim(), @"(\s+(ASC|DESC))?(\s+NULLS\s+(FIRST|LAST))?$", "", RegexOptions.IgnoreCase).Trim())
        |> List.ofSeq
        |> Some

/// Whether the statement sorts its final result.
let hasTopLevelOrderBy (sql: string) : bool = (topLevelOrderBy sql).IsSome

/// Identifiers a statement mentions (upper-cased), to tell which tables it reads.
let identifiersOf (sql: string) : Set<string> =
    let text = Regex.Replace(sql, @"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'", " ", RegexOptions.Singleline)
    Regex.Matches(text, @"""((?:[^""]|"""")*)""|[A-Za-z_][A-Za-z0-9_]*")
    |> Seq.map (fun m -> (if m.Groups.[1].Success then m.Groups.[1].Value else m.Value).ToUpperInvariant())
    |> Set.ofSeq
