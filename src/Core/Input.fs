/// Druid input formats (`json`, `csv`, `tsv`, and the legacy `parser`/`parseSpec` forms) and
/// the rows they produce from lines of text, with `flattenSpec` field extraction.
module FunctionalDruid.Core.Input

open System
open System.Collections.Generic
open System.Globalization
open System.Text
open System.Text.Json
open FunctionalDruid.Core.TimestampSpec
open FunctionalDruid.Core.JsonPath

// ---- rows ------------------------------------------------------------------------------------

/// The field names of a row, in input order, with an index; rows of one file usually share one.
[<Sealed; AllowNullLiteral>]
type RowSchema(names: string[]) =
    let index =
        let d = Dictionary<string, int>(names.Length, StringComparer.Ordinal)
        for i in 0 .. names.Length - 1 do
            d.[names.[i]] <- i
        d
    member _.Names = names
    member _.IndexOf(name: string) =
        match index.TryGetValue name with
        | true, i -> i
        | _ -> -1
    /// Whether every name is distinct (a JSON object may repeat a key).
    member _.IsUnique = index.Count = names.Length

/// One input row: field name -> value, in input order. It is an IReadOnlyDictionary for
/// general callers; `Schema`/`Values` give positional access without lookups.
///
/// For `auto` and `json` dimensions a row also keeps JSON structure that a Value loses:
/// `Trees` (when not null, parallel to `Values`) holds the tree of fields with booleans, and
/// `NestedOnly` (when not null) the objects and arrays of arrays, which are not fields of
/// the row as string dimensions and discovery see it.
[<Sealed>]
type InputRow(schema: RowSchema, values: Value[], trees: Nested.JsonTree voption[], nestedOnly: (string * Nested.JsonTree)[]) =
    new(schema: RowSchema, values: Value[]) = InputRow(schema, values, null, null)
    member _.Schema = schema
    member _.Names = schema.Names
    member _.Values = values
    member _.Trees = trees
    member _.NestedOnly = nestedOnly
    member _.Count = values.Length
    /// The field's value, or Null when the row has no such field.
    member _.Get(name: string) : Value =
        let i = schema.IndexOf name
        if i < 0 then Value.Null else values.[i]
    /// The field's value with its JSON structure (Null when the row has no such field).
    member _.Tree(name: string) : Nested.JsonTree =
        let i = schema.IndexOf name
        if i >= 0 then
            if not (isNull trees) && trees.[i].IsSome then trees.[i].Value else Nested.ofValue values.[i]
        elif isNull nestedOnly then Nested.JsonTree.Null
        else
            match nestedOnly |> Array.tryFind (fun (n, _) -> n = name) with
            | Some(_, t) -> t
            | None -> Nested.JsonTree.Null
    member _.Has(name: string) = schema.IndexOf name >= 0
    /// How Druid (a Java map) prints the row in error messages: `{a=1, b=[x, y]}`.
    override _.ToString() =
        let sb = StringBuilder("{")
        for i in 0 .. values.Length - 1 do
            if i > 0 then sb.Append(", ") |> ignore
            let shown = if not (isNull trees) && trees.[i].IsSome then Nested.javaString trees.[i].Value else javaString values.[i]
            sb.Append(schema.Names.[i]).Append('=').Append(shown) |> ignore
        if not (isNull nestedOnly) then
            for name, t in nestedOnly do
                if sb.Length > 1 then sb.Append(", ") |> ignore
                sb.Append(name).Append('=').Append(Nested.javaString t) |> ignore
        sb.Append('}').ToString()
    /// Rows are equal when they have the same names and values in the same order.
    override _.Equals(other: obj) =
        match other with
        | :? InputRow as o -> o.Names = schema.Names && o.Values = values
        | _ -> false
    override _.GetHashCode() = hash schema.Names ^^^ hash values
    interface IReadOnlyDictionary<string, Value> with
        member this.Item with get (key: string) =
            let i = schema.IndexOf key
            if i < 0 then raise (KeyNotFoundException key) else values.[i]
        member _.Keys = schema.Names :> seq<string>
        member _.Values = values :> seq<Value>
        member _.ContainsKey key = schema.IndexOf key >= 0
        member _.TryGetValue(key: string, value: byref<Value>) =
            let i = schema.IndexOf key
            if i < 0 then false
            else
                value <- values.[i]
                true
    interface IReadOnlyCollection<KeyValuePair<string, Value>> with
        member _.Count = values.Length
    interface IEnumerable<KeyValuePair<string, Value>> with
        member _.GetEnumerator() : IEnumerator<KeyValuePair<string, Value>> =
            (Seq.init values.Length (fun i -> KeyValuePair(schema.Names.[i], values.[i]))).GetEnumerator()
    interface Collections.IEnumerable with
        member this.GetEnumerator() : Collections.IEnumerator =
            ((this :> IEnumerable<KeyValuePair<string, Value>>).GetEnumerator()) :> Collections.IEnumerator

/// A row from arbitrary names, with JSON trees (or nulls); a repeated name keeps its first
/// position and last value, as Jackson's object nodes do.
let makeRowWithTrees (names: string[]) (values: Value[]) (trees: Nested.JsonTree voption[]) (nestedOnly: (string * Nested.JsonTree)[]) : InputRow =
    let schema = RowSchema(names)
    if schema.IsUnique then InputRow(schema, values, trees, nestedOnly)
    else
        let order = ResizeArray<string>()
        let latest = Dictionary<string, int>(StringComparer.Ordinal)
        for i in 0 .. names.Length - 1 do
            if not (latest.ContainsKey names.[i]) then order.Add names.[i]
            latest.[names.[i]] <- i
        let names = order.ToArray()
        InputRow(
            RowSchema(names),
            names |> Array.map (fun n -> values.[latest.[n]]),
            (if isNull trees then null else names |> Array.map (fun n -> trees.[latest.[n]])),
            nestedOnly)

/// A row from arbitrary names; a repeated name keeps its first position and last value, as
/// Jackson's object nodes do.
let makeRow (names: string[]) (values: Value[]) : InputRow = makeRowWithTrees names values null null

type RowResult =
    | Row of InputRow
    | Unparseable of message: string

type TimedRowResult =
    | TimedRow of time: int64 * row: InputRow
    | BadRow of message: string

// ---- format model ----------------------------------------------------------------------------

[<RequireQualifiedAccess>]
type FlattenFieldType =
    | Root
    | Path
    | Jq
    | Tree

type FlattenField =
    { Type: FlattenFieldType
      Name: string
      /// the expression as given (root: the field name)
      Expr: string
      /// the compiled expression (root and tree fields are field steps)
      Steps: PathStep[] }

type FlattenSpec = { UseFieldDiscovery: bool; Fields: FlattenField list }

type JsonFormat =
    { FlattenSpec: FlattenSpec option
      KeepNullColumns: bool
      /// from `featureSpec` (Jackson's ALLOW_COMMENTS / ALLOW_TRAILING_COMMA); other features are ignored
      AllowComments: bool
      AllowTrailingCommas: bool }

type DelimitedFormat =
    { Columns: string list
      Delimiter: string
      ListDelimiter: string
      FindColumnsFromHeader: bool
      SkipHeaderRows: int
      TryParseNumbers: bool }

[<RequireQualifiedAccess>]
type InputFormat =
    | Json of JsonFormat
    | Csv of DelimitedFormat
    | Tsv of DelimitedFormat

/// Druid's default list delimiter (Ctrl-A).
let defaultListDelimiter = "\u0001"

/// The columns a csv/tsv format names up front (empty when they come from the header, and for json).
let columnsOf (format: InputFormat) : string list =
    match format with
    | InputFormat.Csv d | InputFormat.Tsv d -> if d.FindColumnsFromHeader then [] else d.Columns
    | InputFormat.Json _ -> []

// ---- reading delimited text ------------------------------------------------------------------

/// Splits CSV (RFC 4180 quoting, doubled quotes inside quotes) or plain delimited lines.
/// Empty unquoted fields are null, as in Druid's SQL-compatible mode.
type private DelimitedSplitter(delimiter: string, quoted: bool) =
    let fields = ResizeArray<string>(32)
    let sb = StringBuilder()
    member _.Fields = fields
    /// False when a quoted field is not closed on the line.
    member _.Split(line: string) : bool =
        fields.Clear()
        if not quoted then
            let mutable start = 0
            let mutable fin = false
            while not fin do
                let j = line.IndexOf(delimiter, start, StringComparison.Ordinal)
                let stop = if j < 0 then line.Length else j
                fields.Add(if stop = start then null else line.Substring(start, stop - start))
                if j < 0 then fin <- true else start <- j + delimiter.Length
            true
        else
            let n = line.Length
            let sep = delimiter.[0]
            let mutable i = 0
            let mutable ok = true
            let mutable fin = false
            while ok && not fin do
                if i < n && line.[i] = '"' then
                    sb.Clear() |> ignore
                    i <- i + 1
                    let mutable closed = false
                    while not closed && i < n do
                        let c = line.[i]
                        if c = '"' then
                            if i + 1 < n && line.[i + 1] = '"' then
                                sb.Append('"') |> ignore
                                i <- i + 2
                            else
                                closed <- true
                                i <- i + 1
                        else
                            sb.Append(c) |> ignore
                            i <- i + 1
                    if not closed then ok <- false
                    else
                        // text after the closing quote is kept, as lenient parsers do
                        while i < n && line.[i] <> sep do
                            sb.Append(line.[i]) |> ignore
                            i <- i + 1
                        fields.Add(sb.ToString())
                else
                    let j = line.IndexOf(sep, i)
                    let stop = if j < 0 then n else j
                    fields.Add(if stop = i then null else line.Substring(i, stop - i))
                    i <- stop
                if ok then
                    if i < n && line.[i] = sep then i <- i + 1 else fin <- true
            ok

let private numberOrString (s: string) : Value =
    if s.Length = 0 then Value.String s
    else
        match Int64.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) with
        | true, l -> Value.Long l
        | _ ->
            let c = s.[s.Length - 1]
            if Char.IsDigit c || c = '.' then
                match Double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture) with
                | true, d -> Value.Double d
                | _ -> Value.String s
            else Value.String s

/// A column's cell: split on the list delimiter into a multi-value, numbers parsed on request.
let private cellValue (format: DelimitedFormat) (s: string) : Value =
    if isNull s then Value.Null
    elif s.Contains(format.ListDelimiter, StringComparison.Ordinal) then
        let parts = s.Split(format.ListDelimiter)
        Value.Array(parts |> Array.map (fun p -> if format.TryParseNumbers then numberOrString p else Value.String p))
    elif format.TryParseNumbers then numberOrString s
    else Value.String s

// ---- reading JSON lines ----------------------------------------------------------------------

/// Reads one JSON object per line. Without flatten fields it streams with Utf8JsonReader and
/// reuses field-name strings and schemas across rows; with fields it evaluates them on a
/// pooled JsonDocument.
type private JsonLineParser(format: JsonFormat) =
    let readerOptions =
        JsonReaderOptions(
            CommentHandling = (if format.AllowComments then JsonCommentHandling.Skip else JsonCommentHandling.Disallow),
            AllowTrailingCommas = format.AllowTrailingCommas)
    let documentOptions =
        JsonDocumentOptions(
            CommentHandling = (if format.AllowComments then JsonCommentHandling.Skip else JsonCommentHandling.Disallow),
            AllowTrailingCommas = format.AllowTrailingCommas)
    let flattenFields = match format.FlattenSpec with Some f -> List.toArray f.Fields | None -> [||]
    let discover = match format.FlattenSpec with Some f -> f.UseFieldDiscovery | None -> true
    let mutable buffer : byte[] = Array.zeroCreate 4096
    let names = ResizeArray<string>(32)
    let values = ResizeArray<Value>(32)
    let trees = ResizeArray<Nested.JsonTree voption>(32)
    let mutable anyTree = false
    let nestedOnly = ResizeArray<string * Nested.JsonTree>(4)
    let mutable arrayHasBool = false
    let arrayItems = ResizeArray<Value>(8)
    let keyCache = ResizeArray<string>(32)
    let mutable lastSchema : RowSchema = null

    let encode (line: string) : int =
        let needed = Encoding.UTF8.GetMaxByteCount line.Length
        if buffer.Length < needed then buffer <- Array.zeroCreate (max needed (buffer.Length * 2))
        Encoding.UTF8.GetBytes(line.AsSpan(), buffer.AsSpan())

    let finishRow () : InputRow =
        let count = names.Count
        let mutable same = not (isNull lastSchema) && lastSchema.Names.Length = count
        let mutable i = 0
        while same && i < count do
            if not (Object.ReferenceEquals(lastSchema.Names.[i], names.[i])) then same <- false
            i <- i + 1
        let rowTrees = if anyTree then trees.ToArray() else null
        let rowNestedOnly = if nestedOnly.Count > 0 then nestedOnly.ToArray() else null
        if same then InputRow(lastSchema, values.ToArray(), rowTrees, rowNestedOnly)
        else
            let row = makeRowWithTrees (names.ToArray()) (values.ToArray()) rowTrees rowNestedOnly
            if row.Count = count then lastSchema <- row.Schema
            row

    static member ScalarValue(reader: byref<Utf8JsonReader>) : Value =
        match reader.TokenType with
        | JsonTokenType.String -> Value.String(reader.GetString())
        | JsonTokenType.Number ->
            let mutable l = 0L
            if reader.TryGetInt64(&l) then Value.Long l
            else
                let mutable d = 0.0
                if reader.TryGetDouble(&d) then Value.Double d
                else Value.Double(doubleOfText (Encoding.UTF8.GetString(reader.ValueSpan)))
        | JsonTokenType.True -> Value.String trueString
        | JsonTokenType.False -> Value.String falseString
        | _ -> Value.Null

    static member Advance(reader: byref<Utf8JsonReader>) =
        if not (reader.Read()) then raise (JsonException "Unexpected end of input")

    /// Reads an array; ValueNone (and the array skipped) when it holds objects or arrays.
    member _.ReadArray(reader: byref<Utf8JsonReader>) : Value voption =
        arrayItems.Clear()
        arrayHasBool <- false
        let mutable flat = true
        let mutable fin = false
        while not fin do
            JsonLineParser.Advance(&reader)
            match reader.TokenType with
            | JsonTokenType.EndArray -> fin <- true
            | JsonTokenType.StartObject | JsonTokenType.StartArray ->
                flat <- false
                reader.Skip()
            | JsonTokenType.True | JsonTokenType.False ->
                arrayHasBool <- true
                if flat then arrayItems.Add(JsonLineParser.ScalarValue(&reader))
            | _ -> if flat then arrayItems.Add(JsonLineParser.ScalarValue(&reader))
        if flat then ValueSome(Value.Array(arrayItems.ToArray())) else ValueNone

    /// Adds a field; `tree` is set when the Value loses the input's structure.
    member _.AddField(name: string, value: Value, tree: Nested.JsonTree voption) =
        names.Add name
        values.Add value
        trees.Add tree
        if tree.IsSome then anyTree <- true

    member _.Clear() =
        names.Clear()
        values.Clear()
        trees.Clear()
        nestedOnly.Clear()
        anyTree <- false

    member this.ParseStreaming(length: int) : InputRow =
        this.Clear()
        let mutable reader = Utf8JsonReader(ReadOnlySpan<byte>(buffer, 0, length), true, JsonReaderState(readerOptions))
        JsonLineParser.Advance(&reader)
        if reader.TokenType <> JsonTokenType.StartObject then
            // a valid non-object value has no fields
            reader.Skip()
        else
            let mutable position = 0
            let mutable fin = false
            while not fin do
                JsonLineParser.Advance(&reader)
                if reader.TokenType = JsonTokenType.EndObject then fin <- true
                else
                    let name =
                        if position < keyCache.Count && reader.ValueTextEquals(keyCache.[position]) then keyCache.[position]
                        else
                            let s = reader.GetString()
                            if position < keyCache.Count then keyCache.[position] <- s else keyCache.Add s
                            s
                    position <- position + 1
                    JsonLineParser.Advance(&reader)
                    match reader.TokenType with
                    | JsonTokenType.StartObject ->
                        // objects are nested-only: auto and json dimensions read them
                        use doc = JsonDocument.ParseValue(&reader)
                        nestedOnly.Add((name, Nested.ofElement doc.RootElement))
                    | JsonTokenType.StartArray ->
                        // a copy of the reader at the array's start re-reads it as a tree
                        let mutable start = reader
                        match this.ReadArray(&reader) with
                        | ValueSome v when not arrayHasBool -> this.AddField(name, v, ValueNone)
                        | flat ->
                            use doc = JsonDocument.ParseValue(&start)
                            let tree = Nested.ofElement doc.RootElement
                            match flat with
                            | ValueSome v -> this.AddField(name, v, ValueSome tree)
                            | ValueNone -> nestedOnly.Add((name, tree))
                    | JsonTokenType.Null ->
                        if format.KeepNullColumns then this.AddField(name, Value.Null, ValueNone)
                    | JsonTokenType.True -> this.AddField(name, Value.String trueString, ValueSome Nested.trueTree)
                    | JsonTokenType.False -> this.AddField(name, Value.String falseString, ValueSome Nested.falseTree)
                    | _ -> this.AddField(name, JsonLineParser.ScalarValue(&reader), ValueNone)
        finishRow ()

    member this.ParseWithFields(length: int) : InputRow =
        this.Clear()
        use doc = JsonDocument.Parse(ReadOnlyMemory<byte>(buffer, 0, length), documentOptions)
        let root = doc.RootElement
        let treeIfNeeded (el: JsonElement) =
            match el.ValueKind with
            | JsonValueKind.Object | JsonValueKind.Array | JsonValueKind.True | JsonValueKind.False ->
                let t = Nested.ofElement el
                if Nested.needsTree t then ValueSome t else ValueNone
            | _ -> ValueNone
        for f in flattenFields do
            match f.Type with
            | FlattenFieldType.Root ->
                if root.ValueKind = JsonValueKind.Object then
                    match root.TryGetProperty f.Expr with
                    | true, v -> this.AddField(f.Name, elementValue v, treeIfNeeded v)
                    | _ -> this.AddField(f.Name, Value.Null, ValueNone)
                else this.AddField(f.Name, Value.Null, ValueNone)
            | _ -> this.AddField(f.Name, evaluatePath f.Steps root, ValueNone)
        if discover && root.ValueKind = JsonValueKind.Object then
            for p in root.EnumerateObject() do
                if not (flattenFields |> Array.exists (fun f -> f.Name = p.Name)) then
                    if isDiscoverable p.Value format.KeepNullColumns then
                        this.AddField(p.Name, elementValue p.Value, treeIfNeeded p.Value)
                    elif p.Value.ValueKind = JsonValueKind.Object || p.Value.ValueKind = JsonValueKind.Array then
                        // nested values are not discovered as string columns, but auto and
                        // json dimensions read them
                        nestedOnly.Add((p.Name, Nested.ofElement p.Value))
        finishRow ()

    member this.ParseBuffered(length: int) : InputRow voption =
        try ValueSome(if flattenFields.Length = 0 then this.ParseStreaming length else this.ParseWithFields length)
        with
        | :? JsonException
        | :? InvalidOperationException
        | :? ArgumentException -> ValueNone

    member this.Parse(line: string) : InputRow voption =
        let length = try encode line with :? ArgumentException -> -1
        if length < 0 then ValueNone else this.ParseBuffered length

    /// Parses a line that is already valid UTF-8: the same bytes `Parse` would encode the
    /// decoded line to, without the string round trip.
    member this.ParseUtf8(line: ReadOnlySpan<byte>) : InputRow voption =
        if buffer.Length < line.Length then buffer <- Array.zeroCreate (max line.Length (buffer.Length * 2))
        line.CopyTo(Span<byte>(buffer))
        this.ParseBuffered line.Length

// ---- the line reader ---------------------------------------------------------------------------

/// `String.IsNullOrWhiteSpace` of the text these valid UTF-8 bytes decode to.
let private isBlankUtf8 (line: ReadOnlySpan<byte>) : bool =
    let mutable blank = true
    let mutable ascii = true
    let mutable i = 0
    while blank && ascii && i < line.Length do
        let b = line.[i]
        if b >= 0x80uy then ascii <- false
        elif not (Char.IsWhiteSpace(char b)) then blank <- false
        i <- i + 1
    if ascii then blank else String.IsNullOrWhiteSpace(Encoding.UTF8.GetString line)

/// Reads the lines of one input file (or stream) in order, keeping Druid's header handling and
/// its record and line counters for error messages.
[<Sealed>]
type RowReader(format: InputFormat, source: string option) =
    let mutable lineNumber = 0L
    let mutable recordNumber = 1L
    let mutable headerRowsLeft = match format with InputFormat.Csv d | InputFormat.Tsv d -> d.SkipHeaderRows | _ -> 0
    let mutable needHeader = match format with InputFormat.Csv d | InputFormat.Tsv d -> d.FindColumnsFromHeader | _ -> false
    let mutable headerError : string = null
    let delimited = match format with InputFormat.Csv d | InputFormat.Tsv d -> d | _ -> Unchecked.defaultof<_>
    let splitter =
        match format with
        | InputFormat.Csv d -> DelimitedSplitter(d.Delimiter, true)
        | InputFormat.Tsv d -> DelimitedSplitter(d.Delimiter, false)
        | InputFormat.Json _ -> Unchecked.defaultof<_>
    let jsonParser = match format with InputFormat.Json j -> JsonLineParser(j) | _ -> Unchecked.defaultof<_>
    let mutable columns : string[] = match format with InputFormat.Csv d | InputFormat.Tsv d -> List.toArray d.Columns | _ -> [||]
    /// schemas for rows with 1..n columns (a short line keeps only the columns it has)
    let mutable prefixSchemas : RowSchema[] = Array.zeroCreate (columns.Length + 1)

    let setHeader (fields: ResizeArray<string>) =
        let names = fields |> Seq.mapi (fun i f -> if String.IsNullOrEmpty f then sprintf "column_%d" (i + 1) else f) |> Seq.toArray
        let dups = names |> Array.countBy id |> Array.filter (fun (_, c) -> c > 1) |> Array.map fst
        if dups.Length > 0 then headerError <- sprintf "Duplicate column entries found : [%s]" (String.Join(", ", dups))
        columns <- names
        prefixSchemas <- Array.zeroCreate (names.Length + 1)

    let schemaFor (count: int) =
        let s = prefixSchemas.[count]
        if isNull s then
            let s = RowSchema(Array.sub columns 0 count)
            prefixSchemas.[count] <- s
            s
        else s

    /// The ` (Path: ..., Record: n, Line: m)` suffix Druid adds to parse errors.
    member _.Location =
        let path = match source with Some p -> sprintf "Path: %s, " p | None -> ""
        sprintf " (%sRecord: %d, Line: %d)" path recordNumber lineNumber

    /// Druid counts records that parsed fully; callers that reject a row later (e.g. for its
    /// timestamp) call this only for rows they accept.
    member _.RecordAccepted() = recordNumber <- recordNumber + 1L

    /// The row on the line, an error message without location, or ValueNone for skipped lines.
    member this.ReadRaw(rawLine: string) : Result<InputRow, string> voption =
        lineNumber <- lineNumber + 1L
        let line = if rawLine.Length > 0 && rawLine.[rawLine.Length - 1] = '\r' then rawLine.Substring(0, rawLine.Length - 1) else rawLine
        if headerRowsLeft > 0 then
            headerRowsLeft <- headerRowsLeft - 1
            ValueNone
        elif String.IsNullOrWhiteSpace line then ValueNone
        else
            match format with
            | InputFormat.Json _ ->
                match jsonParser.Parse line with
                | ValueSome row -> ValueSome(Ok row)
                | ValueNone -> ValueSome(Error(sprintf "Unable to parse row [%s]" line))
            | InputFormat.Csv _ | InputFormat.Tsv _ ->
                if not (splitter.Split line) then ValueSome(Error(sprintf "Unable to parse row [%s]" line))
                elif needHeader then
                    needHeader <- false
                    setHeader splitter.Fields
                    ValueNone
                elif not (isNull headerError) then ValueSome(Error headerError)
                else
                    let fields = splitter.Fields
                    let count = min fields.Count columns.Length
                    let values = Array.zeroCreate count
                    for i in 0 .. count - 1 do
                        values.[i] <- cellValue delimited fields.[i]
                    ValueSome(Ok(InputRow(schemaFor count, values)))

    /// `ReadRaw` of the line these UTF-8 bytes decode to (invalid bytes decode to U+FFFD).
    /// JSON lines that are valid UTF-8 are parsed from the bytes; everything else is decoded.
    member this.ReadRawUtf8(rawLine: ReadOnlySpan<byte>) : Result<InputRow, string> voption =
        match format with
        | InputFormat.Json _ when headerRowsLeft = 0 && Unicode.Utf8.IsValid rawLine ->
            lineNumber <- lineNumber + 1L
            let line = if rawLine.Length > 0 && rawLine.[rawLine.Length - 1] = 13uy then rawLine.Slice(0, rawLine.Length - 1) else rawLine
            if isBlankUtf8 line then ValueNone
            else
                match jsonParser.ParseUtf8 line with
                | ValueSome row -> ValueSome(Ok row)
                | ValueNone -> ValueSome(Error(sprintf "Unable to parse row [%s]" (Encoding.UTF8.GetString line)))
        | _ -> this.ReadRaw(Encoding.UTF8.GetString rawLine)

    /// The next result for a line, with Druid's location suffix on errors.
    member this.Read(line: string) : RowResult voption =
        this.Located(this.ReadRaw line)

    /// `Read` of the line these UTF-8 bytes decode to.
    member this.ReadUtf8(line: ReadOnlySpan<byte>) : RowResult voption =
        this.Located(this.ReadRawUtf8 line)

    /// Reads every line of a UTF-8 message (a stream record: lines split on '\n', as
    /// `Read` over the decoded text's lines would), adding the results to `results`.
    member this.ReadUtf8Lines(message: ReadOnlySpan<byte>, results: List<RowResult>) =
        let mutable rest = message
        let mutable fin = false
        while not fin do
            let newline = rest.IndexOf 10uy
            let line = if newline < 0 then rest else rest.Slice(0, newline)
            match this.ReadUtf8 line with
            | ValueSome r -> results.Add r
            | ValueNone -> ()
            if newline < 0 then fin <- true else rest <- rest.Slice(newline + 1)

    member private this.Located(raw: Result<InputRow, string> voption) : RowResult voption =
        match raw with
        | ValueNone -> ValueNone
        | ValueSome(Ok row) ->
            this.RecordAccepted()
            ValueSome(Row row)
        | ValueSome(Error e) -> ValueSome(Unparseable(e + this.Location))

/// Rows from the lines of one input; `source` (a path or URI) appears in error messages.
let readLinesFrom (format: InputFormat) (source: string option) (lines: seq<string>) : seq<RowResult> =
    seq {
        let reader = RowReader(format, source)
        for line in lines do
            match reader.Read line with
            | ValueSome r -> yield r
            | ValueNone -> ()
    }

let readLines (format: InputFormat) (lines: seq<string>) : seq<RowResult> = readLinesFrom format None lines

/// The row time per the timestampSpec, with Druid's messages (the event is the row as a map).
let extractTimestamp (spec: TimestampSpec) (row: InputRow) : Result<int64, string> =
    extractWith spec (row.Get spec.Column) (fun () -> row.ToString())

/// Rows with their timestamps, as Druid's readers produce them: a bad timestamp is a parse
/// error of that line, with the same location suffix.
let readTimedLines (format: InputFormat) (spec: TimestampSpec) (source: string option) (lines: seq<string>) : seq<TimedRowResult> =
    seq {
        let reader = RowReader(format, source)
        for line in lines do
            match reader.ReadRaw line with
            | ValueNone -> ()
            | ValueSome(Error e) -> yield BadRow(e + reader.Location)
            | ValueSome(Ok row) ->
                match extractTimestamp spec row with
                | Ok t ->
                    reader.RecordAccepted()
                    yield TimedRow(t, row)
                | Error e -> yield BadRow(e + reader.Location)
    }
