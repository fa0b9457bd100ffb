/// Runs a native query whatever its data source: tables and unions read the slices the host
/// provides; inline rows and subquery results become a segment of their own, so every
/// engine path reads them like stored data.
module FunctionalDruid.Core.QueryExecution

open System
open FunctionalDruid.Core
open FunctionalDruid.Core.Query
open FunctionalDruid.Core.QuerySlices

/// A query that cannot run as asked (an unsupported combination rather than bad JSON).
exception UnsupportedQuery of string

/// The visible slices of one table for the given intervals (provided by the host).
type SliceSource = string -> Time.Interval list -> SegmentSlice list

let private instantOf (o: Json.Out) : int64 =
    match o with
    | Json.Out.String s -> defaultArg (Time.tryParseInstant s) 0L
    | Json.Out.Long l -> l
    | _ -> 0L

let rec private valueOf (o: Json.Out) : Value =
    match o with
    | Json.Out.Null -> Value.Null
    | Json.Out.Bool b -> Value.String(if b then "true" else "false")
    | Json.Out.Long l -> Value.Long l
    | Json.Out.Double d -> Value.Double d
    | Json.Out.String s -> if isNull s then Value.Null else Value.String s
    | Json.Out.Array xs -> Value.Array(xs |> List.map valueOf |> Array.ofList)
    | Json.Out.Object _ -> Value.Null

let private fieldsOf (o: Json.Out) = match o with Json.Out.Object fs -> fs | _ -> []
let private itemsOf (o: Json.Out) = match o with Json.Out.Array xs -> xs | _ -> []
let private fieldOf (key: string) (o: Json.Out) = fieldsOf o |> List.tryFind (fun (k, _) -> k = key) |> Option.map snd

/// The rows of a query's results, as (time, named cells), the way Druid reads a subquery.
let private resultRows (inner: NativeQuery) (result: Json.Out) : (int64 * (string * Value) list) list =
    let timeOf (row: Json.Out) = fieldOf "timestamp" row |> Option.map instantOf |> Option.defaultValue 0L
    let cells (o: Json.Out option) = o |> Option.map fieldsOf |> Option.defaultValue [] |> List.map (fun (k, v) -> k, valueOf v)
    match inner.Kind with
    | QueryKind.GroupBy _ -> [ for row in itemsOf result -> timeOf row, cells (fieldOf "event" row) ]
    | QueryKind.Timeseries _ -> [ for row in itemsOf result -> timeOf row, cells (fieldOf "result" row) ]
    | QueryKind.TopN _ ->
        [ for bucket in itemsOf result do
            for entry in fieldOf "result" bucket |> Option.map itemsOf |> Option.defaultValue [] ->
                timeOf bucket, cells (Some entry) ]
    | QueryKind.Scan _ ->
        [ for batch in itemsOf result do
            let columns = fieldOf "columns" batch |> Option.map itemsOf |> Option.defaultValue [] |> List.map (function Json.Out.String s -> s | _ -> "")
            for event in fieldOf "events" batch |> Option.map itemsOf |> Option.defaultValue [] do
                let named =
                    match event with
                    | Json.Out.Array values -> List.zip columns (values |> List.map valueOf)
                    | other -> cells (Some other)
                let time = named |> List.tryFind (fun (k, _) -> k = "__time") |> Option.bind (snd >> Value.toLong) |> Option.defaultValue 0L
                yield time, named |> List.filter (fun (k, _) -> k <> "__time") ]
    | other -> raise (UnsupportedQuery(sprintf "A query data source of type %s is not supported; use groupBy, timeseries, topN or scan" ((sprintf "%A" other).Split(' ').[0])))

/// A segment of result rows: columns in first-seen order, types from the values.
let contentOfResults (inner: NativeQuery) (result: Json.Out) : SegmentContent =
    let rows = resultRows inner result |> Array.ofList
    let names = Collections.Generic.List<string>()
    for (_, cells) in rows do
        for (k, _) in cells do
            if not (names.Contains k) then names.Add k
    let index = names |> Seq.mapi (fun i n -> n, i) |> dict
    let cells =
        rows |> Array.map (fun (_, named) ->
            let row = Array.create names.Count Value.Null
            for (k, v) in named do row.[index.[k]] <- v
            row)
    contentOfRows [ for n in names -> n, None ] (rows |> Array.map fst) cells

// ---- joins ----------------------------------------------------------------------------------

/// The rows of `column` picked by `rows`, where -1 picks a null (the unmatched side of an
/// outer join). Dictionaries are shared, so strings are never re-encoded.
let private gather (column: ColumnData) (rows: int[]) : ColumnData =
    let nullsOf (isNullAt: int -> bool) =
        let flags = rows |> Array.map (fun r -> r < 0 || isNullAt r)
        if Array.exists id flags then Some flags else None
    let isNullIn (nulls: bool[] option) r = match nulls with Some n -> n.[r] | None -> false
    match column with
    | ColumnData.Strings s ->
        match s.MultiIds with
        | Some multi -> ColumnData.Strings { s with Ids = Array.zeroCreate rows.Length; MultiIds = Some(rows |> Array.map (fun r -> if r < 0 then [||] else multi.[r])) }
        | None ->
            let mutable dictionary = s.Dictionary
            let nullId =
                if rows |> Array.exists (fun r -> r < 0) then
                    match Array.tryFindIndex isNull dictionary with
                    | Some id -> id
                    | None ->
                        dictionary <- Array.append dictionary [| null |]
                        dictionary.Length - 1
                else -1
            let ids = s.Ids
            ColumnData.Strings { s with Dictionary = dictionary; Ids = rows |> Array.map (fun r -> if r < 0 then nullId else ids.[r]) }
    | ColumnData.Longs(v, n) -> ColumnData.Longs(rows |> Array.map (fun r -> if r < 0 then 0L else v.[r]), nullsOf (isNullIn n))
    | ColumnData.Floats(v, n) -> ColumnData.Floats(rows |> Array.map (fun r -> if r < 0 then 0.0f else v.[r]), nullsOf (isNullIn n))
    | ColumnData.Doubles(v, n) -> ColumnData.Doubles(rows |> Array.map (fun r -> if r < 0 then 0.0 else v.[r]), nullsOf (isNullIn n))
    | ColumnData.Complex(t, v) -> ColumnData.Complex(t, rows |> Array.map (fun r -> if r < 0 then null else v.[r]))
    | ColumnData.LongArrays _ | ColumnData.DoubleArrays _ | ColumnData.StringArrays _ ->
        SegmentColumns.columnOfValues (Some column.Type) rows.Length (fun i -> if rows.[i] < 0 then Value.Null else column.Cell rows.[i])

/// The right side of a join in memory: one content and the rows of it that are visible.
type private RightSide = { Content: SegmentContent; Rows: int[] }

let private rightSideOf (slices: SegmentSlice list) : RightSide =
    let visible (slice: SegmentSlice) =
        [| for (_, _, lo, hi) in rowRanges slice [ Time.eternity ] do yield! [| lo .. hi - 1 |] |]
    match slices with
    | [ one ] -> { Content = one.Content; Rows = visible one }
    | many ->
        // Several segments on the right (a table): copy their visible rows into one content.
        let names = many |> List.collect (fun s -> s.Content.Dimensions @ s.Content.Metrics |> List.map (fun (n, c) -> n, c.Type)) |> List.distinctBy fst
        let times = ResizeArray<int64>()
        let cells = ResizeArray<Value[]>()
        for slice in many do
            let columns = SliceColumns(slice.Content, [])
            for r in visible slice do
                times.Add slice.Content.Times.[r]
                cells.Add(names |> List.map (fun (n, _) -> columns.Cell(n, r)) |> Array.ofList)
        let content = contentOfRows [ for (n, t) in names -> n, Some t ] (times.ToArray()) (cells.ToArray())
        { Content = content; Rows = Array.init content.Times.Length id }

/// A left value in the type of the right key column, so `1` finds `"1"` the way Druid's
/// join matchers convert keys; null never matches (SQL-compatible null handling).
let private keyIn (rightType: ColumnType) (v: Value) : Value =
    match v with
    | Value.Null -> Value.Null
    | _ ->
        match rightType with
        | ColumnType.Long -> (match Value.toLong v with Some l -> Value.Long l | None -> Value.Null)
        | ColumnType.Float | ColumnType.Double -> (match Value.toDouble v with Some d -> Value.Double d | None -> Value.Null)
        | _ ->
            match v with
            | Value.Array _ -> Value.Null
            | _ -> match Value.toStringOrNull v with null -> Value.Null | s -> Value.String s

/// Which right rows each left row meets: a function from a left row to right row indices.
type private Matcher = int -> int[]

let private noRows: int[] = [||]

let private isUsableKey (v: Value) = match v with Value.Null | Value.Array _ -> false | _ -> true

/// The right side's hash table, built once per join: key types (of the right key columns)
/// and the right rows per key. Several keys are looked up as one array key.
type private RightTable =
    | Everything of int[]
    | Nothing
    | OneKey of ColumnType * Collections.Generic.Dictionary<Value, int[]>
    | ManyKeys of ColumnType[] * Collections.Generic.Dictionary<Value[], int[]>

let private freeze (table: Collections.Generic.Dictionary<'K, ResizeArray<int>>) =
    let frozen = Collections.Generic.Dictionary<'K, int[]>(table.Count, table.Comparer)
    for kv in table do frozen.[kv.Key] <- kv.Value.ToArray()
    frozen

let private rightTableOf (keys: QueryParseSurface.JoinKeys) (right: RightSide) : RightTable =
    match keys with
    | QueryParseSurface.JoinKeys.Constant true -> Everything right.Rows
    | QueryParseSurface.JoinKeys.Constant false -> Nothing
    | QueryParseSurface.JoinKeys.Equalities equalities ->
        let rightColumns = right.Content.Dimensions @ right.Content.Metrics |> dict
        let found = equalities |> List.map (fun (_, name) -> match rightColumns.TryGetValue name with | true, c -> Some c | _ -> None)
        if found |> List.exists Option.isNone then Nothing
        else
            let columns = found |> List.map Option.get |> Array.ofList
            let types = columns |> Array.map (fun c -> c.Type)
            match columns with
            | [| column |] ->
                let table = Collections.Generic.Dictionary<Value, ResizeArray<int>>(HashIdentity.Structural)
                for r in right.Rows do
                    let k = column.Cell r
                    if isUsableKey k then
                        match table.TryGetValue k with
                        | true, rows -> rows.Add r
                        | _ -> table.[k] <- ResizeArray [ r ]
                OneKey(types.[0], freeze table)
            | _ ->
                let table = Collections.Generic.Dictionary<Value[], ResizeArray<int>>(HashIdentity.Structural)
                for r in right.Rows do
                    let k = columns |> Array.map (fun c -> c.Cell r)
                    if Array.forall isUsableKey k then
                        match table.TryGetValue k with
                        | true, rows -> rows.Add r
                        | _ -> table.[k] <- ResizeArray [ r ]
                ManyKeys(types, freeze table)

/// Probes the right table from one left segment: string columns joined directly are looked
/// up once per dictionary value, other keys are read (or computed) per row.
let private matcherFor (keys: QueryParseSurface.JoinKeys) (table: RightTable) (left: SegmentContent) : Matcher =
    let leftColumns = SliceColumns(left, [])
    let readerOf (rightType: ColumnType) (e: Expr.Expr) : int -> Value =
        match e with
        | ExprSyntax.Expr.Identifier name when name <> "__time" ->
            match leftColumns.Stored name with
            | Some c -> fun row -> keyIn rightType (c.Cell row)
            | None -> fun _ -> Value.Null
        | _ ->
            let compiled = Expr.compile e
            fun row -> keyIn rightType (compiled (fun n -> leftColumns.Cell(n, row)))
    let expressions = match keys with QueryParseSurface.JoinKeys.Equalities eqs -> eqs |> List.map fst |> Array.ofList | _ -> [||]
    match table with
    | Everything rows -> fun _ -> rows
    | Nothing -> fun _ -> noRows
    | OneKey(rightType, frozen) ->
        let lookup (k: Value) = match frozen.TryGetValue k with | true, rows -> rows | _ -> noRows
        let direct =
            match expressions.[0] with
            | ExprSyntax.Expr.Identifier name ->
                match leftColumns.Stored name with
                | Some(ColumnData.Strings s) when s.MultiIds.IsNone -> Some s
                | _ -> None
            | _ -> None
        match direct with
        | Some s ->
            let byId = s.Dictionary |> Array.map (fun v -> if isNull v then noRows else lookup (keyIn rightType (Value.String v)))
            let ids = s.Ids
            fun row -> byId.[ids.[row]]
        | None ->
            let read = readerOf rightType expressions.[0]
            fun row -> match read row with Value.Null -> noRows | k -> lookup k
    | ManyKeys(types, frozen) ->
        let readers = Array.map2 readerOf types expressions
        fun row ->
            let k = readers |> Array.map (fun read -> read row)
            if Array.forall isUsableKey k then
                match frozen.TryGetValue k with
                | true, rows -> rows
                | _ -> noRows
            else noRows

/// Joined content from pairs of (left row, right row), -1 standing for the missing side:
/// left columns (those the right prefix shadows dropped), then the prefixed right columns.
let private joinedContent (prefix: string) (left: SegmentContent) (right: SegmentContent) (times: int64[]) (leftRows: int[]) (rightRows: int[]) : SegmentContent =
    let keep (name: string, _) = not (name.StartsWith(prefix, StringComparison.Ordinal))
    let leftPart columns = columns |> List.filter keep |> List.map (fun (n, c) -> n, gather c leftRows)
    let rightPart columns = columns |> List.map (fun (n: string, c) -> prefix + n, gather c rightRows)
    { left with
        Times = times
        Dimensions = leftPart left.Dimensions @ rightPart right.Dimensions
        Metrics = leftPart left.Metrics @ rightPart right.Metrics }

/// An expression written back as Druid expression text (for error messages about joins
/// planned without a condition text, e.g. by SQL).
let rec private conditionText (e: Expr.Expr) : string =
    match e with
    | ExprSyntax.Expr.Literal(Value.String s) -> "'" + s.Replace("'", "\\'") + "'"
    | ExprSyntax.Expr.Literal Value.Null -> "null"
    | ExprSyntax.Expr.Literal v -> Value.toStringOrNull v
    | ExprSyntax.Expr.Identifier name -> "\"" + name + "\""
    | ExprSyntax.Expr.Unary(ExprSyntax.Negate, x) -> "-" + conditionText x
    | ExprSyntax.Expr.Unary(_, x) -> "!" + conditionText x
    | ExprSyntax.Expr.Binary(op, a, b) -> "(" + conditionText a + " " + ExprSyntax.operatorText op + " " + conditionText b + ")"
    | ExprSyntax.Expr.Call(name, args) -> name + "(" + String.Join(", ", args |> List.map conditionText) + ")"
    | ExprSyntax.Expr.Lambda(ps, body) -> "(" + String.Join(", ", ps) + ") -> " + conditionText body

/// Hash join: the right side is built into a table once, each left slice (only its rows in
/// the query intervals) becomes a joined slice with the same id, so engines run over joins
/// like over any segment. Unmatched right rows of RIGHT/FULL joins form one more slice.
let private joinSlices (ctx: RunContext) (intervals: Time.Interval list) (leftSlices: SegmentSlice list) (rightSlices: SegmentSlice list) (prefix: string) (condition: Expr.Expr) (joinType: JoinType) : SegmentSlice list =
    let keys =
        match QueryParseSurface.joinKeys prefix (conditionText condition) condition with
        | Ok k -> k
        | Error problem -> raise (UnsupportedQuery problem)
    let right = rightSideOf rightSlices
    let table = rightTableOf keys right
    let keepsLeft = joinType = JoinType.Left || joinType = JoinType.Full
    let keepsRight = joinType = JoinType.Right || joinType = JoinType.Full
    let condensed = condense intervals
    let lefts = Array.ofList leftSlices
    let joinOne (i: int) =
        let slice = lefts.[i]
        let matcher = matcherFor keys table slice.Content
        let matched = if keepsRight then Array.zeroCreate right.Content.Times.Length else null
        let leftRows = ResizeArray<int>()
        let rightRows = ResizeArray<int>()
        let cancellation = CancellationCheck ctx
        for (_, _, lo, hi) in rowRanges slice condensed do
            for row in lo .. hi - 1 do
                cancellation.Tick()
                let found = matcher row
                if found.Length = 0 then
                    if keepsLeft then
                        leftRows.Add row
                        rightRows.Add -1
                else
                    for r in found do
                        leftRows.Add row
                        rightRows.Add r
                        if keepsRight then matched.[r] <- true
        let leftRows = leftRows.ToArray()
        let times = leftRows |> Array.map (fun r -> slice.Content.Times.[r])
        { slice with Content = joinedContent prefix slice.Content right.Content times leftRows (rightRows.ToArray()) }, matched
    let joined = ctx.Runner.Map(lefts.Length, joinOne)
    let remainder =
        if not keepsRight then []
        else
            let unmatched =
                right.Rows |> Array.filter (fun r -> joined |> Array.forall (fun (_, m) -> not m.[r]))
            if unmatched.Length = 0 then []
            else
                // Unmatched right rows have no left row, so no time of their own: Druid reads
                // a null __time as 0.
                let template =
                    match leftSlices with
                    | first :: _ -> first.Content
                    | [] -> { right.Content with Dimensions = []; Metrics = [] }
                let content = joinedContent prefix template right.Content (Array.zeroCreate unmatched.Length) (Array.create unmatched.Length -1) unmatched
                [ sliceOfContent "join" { content with Interval = Time.eternity } ]
    (joined |> Array.map fst |> List.ofArray) @ remainder

/// Whether a query's result can depend on the order of its input rows within a time: only
/// first/last aggregators (ties by row order) among aggregating queries; scans and others do.
let private readsRowOrder (q: NativeQuery) =
    let rec sensitive (a: AggregatorSpec) =
        match a with
        | AggregatorSpec.FirstLast _ -> true
        | AggregatorSpec.Filtered(_, _, inner) -> sensitive inner
        | _ -> false
    match q.Kind with
    | QueryKind.Timeseries t -> t.Aggregations |> List.exists sensitive
    | QueryKind.TopN t -> t.Aggregations |> List.exists sensitive
    | QueryKind.GroupBy g -> g.Aggregations |> List.exists sensitive
    | _ -> true

/// Runs a query, resolving its data source recursively (a re-aggregated groupBy subquery as
/// two, see `Reaggregation`).
let rec execute (ctx: RunContext) (slicesOf: SliceSource) (q: NativeQuery) : Json.Out =
    ctx.Cancel.ThrowIfCancellationRequested()
    let slices =
        match Reaggregation.split q with
        | Some(distinctGroups, byOuterDimensions) ->
            let read (inner: NativeQuery) = slicesOfSourceReadBy false ctx slicesOf q.Intervals (DataSource.Query inner)
            read distinctGroups @ read byOuterDimensions
        | None -> slicesOfSourceReadBy (readsRowOrder q) ctx slicesOf q.Intervals q.DataSource
    Engine.runWith ctx q slices

/// The slices a data source reads for the given intervals: stored ones for tables, built
/// ones for inline rows, subquery results and joins.
and slicesOfSource (ctx: RunContext) (slicesOf: SliceSource) (intervals: Time.Interval list) (source: DataSource) : SegmentSlice list =
    slicesOfSourceReadBy true ctx slicesOf intervals source

/// As `slicesOfSource`, for a reader that says whether it reads rows in order.
and private slicesOfSourceReadBy (ordered: bool) (ctx: RunContext) (slicesOf: SliceSource) (intervals: Time.Interval list) (source: DataSource) : SegmentSlice list =
    match source with
    | DataSource.Table name -> slicesOf name intervals
    | DataSource.Union names -> names |> List.collect (fun n -> slicesOf n intervals)
    | DataSource.Inline(columns, rows) ->
        let timeIndex = columns |> List.tryFindIndex (fun (n, _) -> n = "__time")
        let times = rows |> List.map (fun r -> match timeIndex with Some i -> defaultArg (Value.toLong r.[i]) 0L | None -> 0L) |> Array.ofList
        let kept = columns |> List.indexed |> List.filter (fun (i, _) -> Some i <> timeIndex)
        let cells = rows |> List.map (fun r -> kept |> List.map (fun (i, _) -> r.[i]) |> Array.ofList) |> Array.ofList
        let content = contentOfRows [ for (_, (n, t)) in kept -> n, Some t ] times cells
        [ sliceOfContent "inline" content ]
    | DataSource.Query inner ->
        ctx.Cancel.ThrowIfCancellationRequested()
        let innerSlices = slicesOfSourceReadBy (readsRowOrder inner) ctx slicesOf inner.Intervals inner.DataSource
        match Engine.groupByContentsWith ctx ordered inner innerSlices with
        | Some contents -> contents |> List.map (sliceOfContent "query")
        | None -> [ sliceOfContent "query" (contentOfResults inner (Engine.runWith ctx inner innerSlices)) ]
    | DataSource.Join(left, right, prefix, condition, joinType) ->
        // The right side is read whole: query intervals bound the left (base) side only.
        let rightSlices = slicesOfSource ctx slicesOf [ Time.eternity ] right
        let leftSlices = slicesOfSource ctx slicesOf intervals left
        joinSlices ctx intervals leftSlices rightSlices prefix condition joinType
