/// The context of in-memory evaluation, and how a SELECT's Druid table is read: its columns,
/// intervals, pushed filter and residual WHERE, and whether its aggregates may take the one
/// column it reads as distinct values with row counts.
module FunctionalDruid.Sql.EvalContext

open FunctionalDruid.Core
open FunctionalDruid.Sql.Ast
open FunctionalDruid.Sql.Translate
open FunctionalDruid.Sql.Relational
open FunctionalDruid.Sql.SqlRewrite

type Context =
    { Catalog: ICatalog
      /// Reads the given columns of a datasource's rows inside the intervals, in column order.
      ReadTable: string -> Time.Interval list -> (string * ColumnType) list -> Filter.Filter option -> Relational.RowOrder option -> Value[][]
      /// Reads one column of a datasource as its distinct values (in the order of their first
      /// row) with the number of rows of each; None when that column cannot be read so. None
      /// (no such reader) aggregates every statement row by row.
      ReadCounted: (string -> Time.Interval list -> string * ColumnType -> Filter.Filter option -> (Value[] * int64[]) option) option
      Params: (Value * SqlType)[]
      Zone: NodaTime.DateTimeZone
      Now: int64
      Ctes: Map<string, Relation>
      /// Column names the statement mentions anywhere (None: a `*` reads every column), so
      /// table reads fetch only those.
      Needed: Set<string> option
      /// A native filter equivalent to (or weaker than) a WHERE over one table, pushed into
      /// the table read; the WHERE still runs in memory afterwards.
      PushFilter: Scope -> Ast.Expr -> Filter.Filter option
      /// Druid's `extendedFilteredSumRewrite` (default on).
      FilteredSumRewrite: bool }

let emptyScope (ctx: Context) (fields: Field list) : Scope =
    { Fields = fields; Substitute = (fun _ -> None); Params = ctx.Params; Zone = ctx.Zone; Now = ctx.Now }

/// Aggregates whose result over rows given with counts is the row-by-row result (or whose
/// accumulator says otherwise by raising NotWeightable): counts, extremes, sums and averages
/// of longs, and those that ignore repeated and later rows.
let weightableAggregate (call: Ast.Expr) : bool =
    match call with
    | Expr.Call(name, distinct, args, _, None) ->
        match name, args with
        | "COUNT", ([] | [ _ ]) -> true
        | ("MIN" | "MAX"), [ _ ] -> true
        | ("SUM" | "AVG"), [ _ ] -> not distinct
        | ("ANY_VALUE" | "BIT_AND" | "BIT_OR" | "BOOL_AND" | "BOOL_OR" | "EVERY" | "GROUPING"), _ -> true
        | _ -> false
    | _ -> false

let rec mentionsSubquery (e: Ast.Expr) : bool =
    match e with
    | Expr.ScalarQuery _ | Expr.Exists _ | Expr.InQuery _ -> true
    | e -> children e |> List.exists mentionsSubquery

type TableRead =
    { Name: string
      Qualifier: string option
      Columns: (string * ColumnType) list
      SqlColumns: (string * SqlType) list
      Intervals: Time.Interval list
      Filter: Filter.Filter option
      Residual: Ast.Expr option }

/// A Druid table's read: its columns the statement needs, and the WHERE as intervals, a
/// pushed native filter and the residual conjuncts to evaluate in memory. None for other FROMs.
let tableRead (ctx: Context) (where: Ast.Expr option) (t: TableRef) : TableRead option =
    match t with
    | Table((None | Some "druid"), name, alias) when not (ctx.Ctes.ContainsKey name && t = Table(None, name, alias)) ->
        let qualifier = Some(defaultArg alias name)
        let columns = ctx.Catalog.ColumnsOf name
        if columns.IsEmpty then SqlError.invalid (sprintf "Object '%s' not found within 'druid'" name)
        let columns =
            match ctx.Needed with
            | Some needed -> columns |> List.filter (fun (n, _) -> needed.Contains n)
            | None -> columns
        let sqlColumns = columns |> List.map (fun (n, t) -> n, (if n = "__time" then SqlType.Timestamp else SqlType.ofColumnType t))
        let tableScope = emptyScope ctx (sqlColumns |> List.map (fun (n, t) -> { Qualifier = qualifier; Name = n; Key = n; Type = t }))
        let intervals = timeIntervals tableScope where
        let split = (match where with Some w -> conjuncts w | None -> []) |> List.map (fun c -> c, (try ctx.PushFilter tableScope c with _ -> None))
        let filter =
            match split |> List.choose snd with
            | [] -> None
            | [ f ] -> Some f
            | fs -> Some(Filter.And fs)
        let residual =
            match split |> List.filter (snd >> Option.isNone) |> List.map fst with
            | [] -> None
            | c :: rest -> Some(rest |> List.fold (fun a b -> Expr.Binary(BinaryOp.And, a, b)) c)
        Some { Name = name; Qualifier = qualifier; Columns = columns; SqlColumns = sqlColumns; Intervals = intervals; Filter = filter; Residual = residual }
    | _ -> None

/// Whether a SELECT may aggregate its table's rows given as distinct values with counts: it
/// reads one Druid table and only aggregates (no window functions, no subqueries), all of
/// them weightable, sums and averages over integers (doubles would read the table twice).
/// Whether the table read is one column is known once the columns are.
let countedCandidate (ctx: Context) (s: Select) (orderBy: OrderItem list) : bool =
    let expressions =
        (s.Items |> List.choose (function Item(e, _) -> Some e | AllColumns _ -> None))
        @ Option.toList s.Where @ Option.toList s.Having @ (orderBy |> List.map (fun o -> o.Expr))
        @ (match s.GroupBy with
           | Some gs ->
               gs |> List.collect (function
                   | GroupEmpty -> []
                   | GroupExpr e -> [ e ]
                   | GroupingSets sets -> List.concat sets
                   | Rollup xs | Cube xs -> xs)
           | None -> [])
    ctx.ReadCounted.IsSome
    && (match s.From with
        | Some(Table((None | Some "druid"), name, alias) as t) -> not (ctx.Ctes.ContainsKey name && t = Table(None, name, alias))
        | _ -> false)
    && s.Items |> List.forall (function Item _ -> true | AllColumns _ -> false)
    && (s.GroupBy.IsSome || expressions |> List.exists hasAggregate)
    && not (expressions |> List.exists (fun e -> hasWindow e || mentionsSubquery e))
    && (let calls = expressions |> List.collect collectAggregates
        calls |> List.forall weightableAggregate
        && (let sums = calls |> List.choose (function Expr.Call(("SUM" | "AVG"), _, [ x ], _, _) -> Some x | _ -> None)
            sums.IsEmpty
            || (match s.From |> Option.bind (tableRead ctx None) with
                | Some read ->
                    let scope = emptyScope ctx (relationOf read.Qualifier read.SqlColumns []).Fields
                    sums |> List.forall (fun x ->
                        try (match snd (translate scope x) with SqlType.Bigint | SqlType.Boolean -> true | _ -> false)
                        with _ -> false)
                | None -> false)))
