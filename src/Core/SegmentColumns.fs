/// One segment's columns as a query reads them: stored columns, `__time` as a long column,
/// and the query's virtual columns, materialized on first use (once per dictionary value when
/// the expression reads a single single-value string column, once per row otherwise).
module FunctionalDruid.Core.SegmentColumns

open System
open System.Collections.Generic
open FunctionalDruid.Core
open FunctionalDruid.Core.Query

let timeColumn = "__time"

let private stringColumn (rowCount: int) (valueAt: int -> Value) : ColumnData =
    QuerySlices.stringColumnOfRows rowCount valueAt

/// A typed array column from per-row values: a scalar row becomes a one-element array, as
/// Druid casts scalars to arrays; elements that do not convert are null elements.
let private arrayColumn (element: ColumnType) (rowCount: int) (valueAt: int -> Value) : ColumnData =
    let offsets = Array.zeroCreate<int> (rowCount + 1)
    let rowNulls = Array.zeroCreate<bool> rowCount
    let items = ResizeArray<Value>()
    for r in 0 .. rowCount - 1 do
        match valueAt r with
        | Value.Null -> rowNulls.[r] <- true
        | Value.Array xs -> items.AddRange xs
        | x -> items.Add x
        offsets.[r + 1] <- items.Count
    let rowNullsOption = if Array.contains true rowNulls then Some rowNulls else None
    let typed (convert: Value -> 'T option) : ArrayColumnData<'T> =
        let values = Array.zeroCreate<'T> items.Count
        let nulls = Array.zeroCreate<bool> items.Count
        for i in 0 .. items.Count - 1 do
            match convert items.[i] with
            | Some v -> values.[i] <- v
            | None -> nulls.[i] <- true
        { Offsets = offsets; Values = values; ElementNulls = (if Array.contains true nulls then Some nulls else None); RowNulls = rowNullsOption }
    match element with
    | ColumnType.Long -> ColumnData.LongArrays(typed ExprOps.asLong)
    | ColumnType.Double | ColumnType.Float -> ColumnData.DoubleArrays(typed ExprOps.asDouble)
    | _ -> ColumnData.StringArrays(typed (fun v -> match Value.toStringOrNull v with null -> None | s -> Some s))

/// A column of the given type (or the type the values suggest) from per-row values.
let columnOfValues (outputType: ColumnType option) (rowCount: int) (valueAt: int -> Value) : ColumnData =
    let longs () =
        let values = Array.zeroCreate<int64> rowCount
        let nulls = Array.zeroCreate<bool> rowCount
        for r in 0 .. rowCount - 1 do
            match valueAt r with
            | Value.Long l -> values.[r] <- l
            | v ->
                match ExprOps.asLong v with
                | Some l -> values.[r] <- l
                | None -> nulls.[r] <- true
        ColumnData.Longs(values, (if Array.contains true nulls then Some nulls else None))
    let doubles () =
        let values = Array.zeroCreate<float> rowCount
        let nulls = Array.zeroCreate<bool> rowCount
        for r in 0 .. rowCount - 1 do
            match valueAt r with
            | Value.Double d -> values.[r] <- d
            | v ->
                match ExprOps.asDouble v with
                | Some d -> values.[r] <- d
                | None -> nulls.[r] <- true
        ColumnData.Doubles(values, (if Array.contains true nulls then Some nulls else None))
    match outputType with
    | Some ColumnType.Long -> longs ()
    | Some(ColumnType.Double | ColumnType.Float) -> doubles ()
    | Some(ColumnType.Array element) -> arrayColumn element rowCount valueAt
    | Some(ColumnType.Complex ComplexJson.TypeName) ->
        // Nested JSON keeps each value whole (an array is one value, not a multi-value row).
        ColumnData.Complex(ComplexJson.TypeName, Array.init rowCount (fun r ->
            match valueAt r with
            | Value.Null -> null
            | v -> Text.Encoding.UTF8.GetBytes(ExprJson.toText (ExprJson.ofValue v))))
    | Some _ -> stringColumn rowCount valueAt
    | None ->
        let mutable allLong = true
        let mutable allNumber = true
        for r in 0 .. rowCount - 1 do
            match valueAt r with
            | Value.Null | Value.Long _ -> ()
            | Value.Double _ -> allLong <- false
            | _ ->
                allLong <- false
                allNumber <- false
        if allLong then longs () elif allNumber then doubles () else stringColumn rowCount valueAt

/// The columns of one segment for one query.
[<AllowNullLiteral>]
type Columns(content: SegmentContent, virtualColumns: VirtualColumn list) =
    let stored = Dictionary<string, ColumnData>(StringComparer.Ordinal)
    do
        for (n, c) in content.Dimensions @ content.Metrics do stored.[n] <- c
    let virtuals = Dictionary<string, VirtualColumn>(StringComparer.Ordinal)
    do for v in virtualColumns do virtuals.[v.Name] <- v
    let materialized = Dictionary<string, ColumnData option>(StringComparer.Ordinal)
    let notNulls = Dictionary<string, Bitmap.RowSet>(StringComparer.Ordinal)
    let inProgress = HashSet<string>(StringComparer.Ordinal)
    let timeData = ColumnData.Longs(content.Times, None)
    let mutable rowsOfInterest: Bitmap.RowSet option = None

    member _.Content = content
    /// The only rows a query will read from virtual columns made from now on (the rows its
    /// filter kept): expressions evaluated row by row skip the others, which read as null.
    member _.RowsOfInterest
        with get () = rowsOfInterest
        and set (rows: Bitmap.RowSet option) = rowsOfInterest <- rows
    member _.RowCount = content.Times.Length
    member _.Times = content.Times
    /// Sums (and present rows) of long column ranges this segment's aggregators computed,
    /// keyed by column, not-null words, filter words (by reference) and range: several
    /// `SUM(x + k)` of one column read the column once.
    member val LongRangeSums = Dictionary<struct (obj * obj * obj * int * int), struct (int64 * int)>()

    /// The query's virtual column of this name, if any (its definition, not its values).
    member _.Virtual(name: string) : VirtualColumn option =
        match virtuals.TryGetValue name with
        | true, v -> Some v
        | _ -> None

    /// The column, if the segment (or the query) has it.
    member this.Column(name: string) : ColumnData option =
        match virtuals.TryGetValue name with
        | true, v ->
            match materialized.TryGetValue name with
            | true, c -> c
            | _ ->
                // A virtual column that (indirectly) reads itself is null.
                if not (inProgress.Add name) then None
                else
                    let c = Some(this.Materialize v)
                    inProgress.Remove name |> ignore
                    materialized.[name] <- c
                    c
        | _ ->
            if name = timeColumn then Some timeData
            else
                match stored.TryGetValue name with
                | true, c -> Some c
                | _ -> None

    member private this.Materialize(v: VirtualColumn) : ColumnData =
        let n = this.RowCount
        match VectorExpr.tryColumn this.Column n v.OutputType v.Parsed with
        | Some column -> column
        | None ->
        let compiled = Expr.compile v.Parsed
        let single =
            match Expr.requiredColumns v.Parsed with
            | [ c ] when not (virtuals.ContainsKey c) ->
                match this.Column c with
                | Some(ColumnData.Strings s) when s.MultiIds.IsNone -> Some(c, s)
                | _ -> None
            | _ -> None
        match single with
        | Some(c, s) ->
            let cell = ref Value.Null
            let lookup (name: string) = if name = c then cell.Value else Value.Null
            let perValue =
                s.Dictionary |> Array.map (fun d ->
                    cell.Value <- (if isNull d then Value.Null else Value.String d)
                    compiled lookup)
            // Typed once per dictionary value, then gathered by each row's id.
            let gather (values: 'T[]) = s.Ids |> Array.map (fun id -> values.[id])
            let nullsOf (nulls: bool[] option) = nulls |> Option.map gather |> Option.filter (Array.contains true)
            match v.OutputType with
            | Some(ColumnType.Long | ColumnType.Double | ColumnType.Float) ->
                match columnOfValues v.OutputType perValue.Length (fun i -> perValue.[i]) with
                | ColumnData.Longs(values, nulls) -> ColumnData.Longs(gather values, nullsOf nulls)
                | ColumnData.Doubles(values, nulls) -> ColumnData.Doubles(gather values, nullsOf nulls)
                | _ -> columnOfValues v.OutputType n (fun r -> perValue.[s.Ids.[r]])
            | _ -> columnOfValues v.OutputType n (fun r -> perValue.[s.Ids.[r]])
        | None ->
            let reader = RowReader(this)
            let get = reader.Get
            let wanted = rowsOfInterest
            columnOfValues v.OutputType n (fun r ->
                match wanted with
                | Some rows when not (rows.Contains r) -> Value.Null
                | _ ->
                    reader.Row <- r
                    compiled get)

    /// Rows whose value is not null, for columns that have nulls.
    member this.NotNull(name: string) : Bitmap.RowSet option =
        match notNulls.TryGetValue name with
        | true, s -> Some s
        | _ ->
            let nulls =
                match this.Column name with
                | Some(ColumnData.Longs(_, Some n)) | Some(ColumnData.Doubles(_, Some n)) | Some(ColumnData.Floats(_, Some n)) -> Some n
                | _ -> None
            nulls |> Option.map (fun nulls ->
                let set = Bitmap.RowSet(nulls.Length)
                for r in 0 .. nulls.Length - 1 do
                    if not nulls.[r] then set.Add r
                notNulls.[name] <- set
                set)

    /// The value of one cell (multi-value rows as arrays, complex values as null).
    member this.Cell(name: string, row: int) : Value =
        match this.Column name with
        | Some c -> c.Cell row
        | None -> Value.Null

/// A movable cursor over rows; `Get` is the row function expressions, filters and row-wise
/// aggregators read, created once and reused for every row.
and RowReader(columns: Columns) =
    let mutable row = 0
    member _.Row
        with get () = row
        and set (r: int) = row <- r
    member val Get: string -> Value = (fun name -> columns.Cell(name, row))
